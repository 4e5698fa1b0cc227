-- The MCP gateway's tool inventory (docs/mcp-gateway.md, "Tool inventory"): one row per tool an
-- upstream MCP server has listed. `fingerprint` is the SHA-256 (hex) of the canonical JSON of the
-- tool's current definition (everything but its name); `approved_fingerprint` the definition an
-- owner or admin approved (or the server's first listing, the baseline). The tool is callable only
-- while the two are equal. Times are Unix epoch microseconds.
CREATE TABLE gateway_tools (
  server_id TEXT NOT NULL,
  name TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  approved_fingerprint TEXT,
  definition TEXT NOT NULL,      -- the tool's JSON as last listed
  first_seen BIGINT NOT NULL,
  changed_at BIGINT NOT NULL,    -- when `fingerprint` last changed
  approved_by TEXT,              -- "baseline", or who approved the current approved_fingerprint
  approved_at BIGINT,
  PRIMARY KEY (server_id, name)
);
