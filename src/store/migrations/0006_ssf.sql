-- The OpenID Shared Signals transmitter (docs/ssf.md): event streams registered by receivers and
-- the outbox of Security Event Tokens queued for them. Times are Unix epoch microseconds.

-- One row per stream (SSF 1.0 §8.1.1). owner is who created it (a client id for access tokens, the
-- admin actor for admin API tokens); only the owner (or an admin) can see or change it.
CREATE TABLE ssf_streams (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  iss TEXT NOT NULL,               -- the SETs' "iss": custody's issuer when the stream was created
  audience TEXT NOT NULL,          -- JSON: the SETs' "aud" (a string or an array of strings)
  delivery_method TEXT NOT NULL,   -- urn:ietf:rfc:8935 (push) | urn:ietf:rfc:8936 (poll)
  endpoint_url TEXT NOT NULL,      -- push: the receiver's URL; poll: custody's poll URL
  authorization_header TEXT NOT NULL,  -- push: sent as Authorization; '' for none
  events_requested TEXT NOT NULL,  -- JSON array of event type URIs, as the receiver asked
  events_delivered TEXT NOT NULL,  -- JSON array: requested ∩ supported
  description TEXT NOT NULL,
  status TEXT NOT NULL,            -- enabled | paused | disabled
  status_reason TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX ssf_streams_owner ON ssf_streams(owner);

-- SETs queued per stream. The claims are fixed when the event is queued (jti, iat, aud, events),
-- so a retry or a repeated poll hands out the same SET; the JWS signature is added at each
-- delivery with the key current then (src/ssf/set.h says why). seq orders a stream's SETs.
-- state: pending (to deliver) | delivered (push 202, poll ack) | failed (push 400 or attempts
-- exhausted, poll setErrs).
CREATE TABLE ssf_outbox (
  seq {{SERIAL_PK}},
  stream_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  event_type TEXT NOT NULL,
  claims TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE UNIQUE INDEX ssf_outbox_jti ON ssf_outbox(stream_id, jti);
CREATE INDEX ssf_outbox_pending ON ssf_outbox(stream_id, state, seq);
