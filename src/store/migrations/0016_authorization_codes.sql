-- OAuth 2.1 authorization codes (docs/oauth.md, "Authorization code with PKCE"): one row per code
-- a human approved at /oauth2/authorize. The code itself is never stored, only its keyed hash
-- (HMAC-SHA-256 under the server secret, hex), so a copy of the database redeems nothing. A code
-- is spent (used_at, delegation_id) by the same write that records the token issued with it; a
-- second presentation finds used_at set, is refused, and revokes delegation_id's subtree.
-- Times are Unix epoch microseconds.
CREATE TABLE authorization_codes (
  code_hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  human_id TEXT NOT NULL,          -- whose authority the token carries (its sub)
  admin_token_id TEXT NOT NULL,    -- the owner-role token the human approved with
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,    -- PKCE S256: base64url(SHA-256(code_verifier))
  scopes TEXT NOT NULL,            -- space-delimited, as approved
  resources TEXT NOT NULL,         -- JSON array of the approved audiences
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  delegation_id TEXT               -- the token issued with the code
);
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
