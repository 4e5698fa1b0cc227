-- Device trust (docs/devices.md): enrolled devices with their public key and trust verdict, the
-- one-time enrolment tokens, the identities allowed to run on each device with the workload
-- selectors that recognise them, and the device each token was issued for.
-- Times are Unix epoch microseconds.
CREATE TABLE devices (
  id TEXT PRIMARY KEY,                 -- dev_…
  owner_id TEXT NOT NULL,              -- the human responsible for the device
  hostname TEXT NOT NULL,
  platform TEXT NOT NULL,
  public_jwk TEXT NOT NULL,            -- the device key (JSON)
  key_thumbprint TEXT NOT NULL UNIQUE, -- RFC 7638
  state TEXT NOT NULL,                 -- active | revoked
  trust TEXT NOT NULL,                 -- trusted | degraded | untrusted | unknown
  trust_reasons TEXT NOT NULL,         -- JSON array of strings
  trust_changed_at BIGINT NOT NULL,
  posture TEXT,                        -- the last verified report's posture (JSON)
  posture_collected_at BIGINT,
  posture_received_at BIGINT,
  enrolled_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT,
  revocation_reason TEXT
);
CREATE INDEX devices_owner ON devices(owner_id);
CREATE INDEX devices_trust ON devices(trust, posture_received_at);

CREATE TABLE device_enrolment_tokens (
  id TEXT PRIMARY KEY,                 -- det_…
  token_hash TEXT NOT NULL UNIQUE,     -- keyed hash of the token value
  owner_id TEXT NOT NULL,
  device_id TEXT,                      -- set: re-enrols this device with a new key
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  used_by_device TEXT
);

CREATE TABLE device_identities (
  device_id TEXT NOT NULL REFERENCES devices(id),
  identity_id TEXT NOT NULL,
  selectors TEXT NOT NULL,             -- JSON array of "kind:value" workload selectors
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, identity_id)
);
CREATE INDEX device_identities_identity ON device_identities(identity_id);

ALTER TABLE delegation_records ADD COLUMN device_id TEXT;
CREATE INDEX delegation_records_device ON delegation_records(device_id);
