-- OpenID CIBA (docs/approvals.md, "Tokens that wait for a human"): a backchannel authentication
-- request is an approval request (approvals.id = auth_req_id) plus what the client asked for.
CREATE TABLE ciba_requests (
  auth_req_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  params TEXT NOT NULL,            -- {"scope", "audience": [...], "max_hops"?, "binding_message"?}
  created_at BIGINT NOT NULL
);
