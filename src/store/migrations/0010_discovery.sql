-- Discovered AI components (docs/find-agents.md): what custody-agent scans report, deduplicated
-- across devices by launch definition, each one an identity (kind mcp_server or agent) that
-- starts in state discovered; and where each was seen. Secret values are never stored: only the
-- scanner's field paths and classifications. Times are Unix epoch microseconds.
CREATE TABLE discovery_findings (
  identity_id TEXT PRIMARY KEY REFERENCES identities(id),
  definition_hash TEXT NOT NULL UNIQUE,  -- SHA-256 of the redacted launch definition, no device salt
  kind TEXT NOT NULL,                    -- the scanner's kind: mcp-server | a2a-agent
  name TEXT NOT NULL,                    -- server name when first reported
  transport TEXT NOT NULL,
  target TEXT NOT NULL,                  -- command and arguments, or URL (both redacted)
  definition TEXT NOT NULL,              -- the launch definition (JSON)
  registered_hash TEXT,                  -- the definition approved at registration
  drifted_hash TEXT,                     -- a different definition reported since registration
  drifted_at BIGINT,
  reject_reason TEXT,
  first_seen_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);

CREATE TABLE discovery_sightings (
  device_id TEXT NOT NULL REFERENCES devices(id),
  slot TEXT NOT NULL,                    -- SHA-256 of client, scope, config file, project, name
  identity_id TEXT NOT NULL REFERENCES discovery_findings(identity_id),
  definition_hash TEXT NOT NULL,         -- what this slot held in the device's last report
  fingerprint TEXT NOT NULL,             -- the device's own (salted) fingerprint
  client TEXT NOT NULL,
  scope TEXT NOT NULL,
  config_file TEXT NOT NULL,
  server_name TEXT NOT NULL,
  running BIGINT NOT NULL,               -- 1 when processes matched the entry
  risks TEXT NOT NULL,                   -- JSON array of {signal, detail}
  secrets TEXT NOT NULL,                 -- JSON array of {field, classification, pattern}
  first_seen_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, slot)
);
CREATE INDEX discovery_sightings_identity ON discovery_sightings(identity_id);
