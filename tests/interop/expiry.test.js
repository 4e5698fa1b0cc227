// Expiry of custody's own tokens (custodyd with a 10 s token lifetime and no clock skew): the
// lifetime bound of an exchange, and what an expired token still may and may not do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import * as jose from 'jose';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, claims, refusal, startCustody } from './harness.js';

describe('token expiry (ttl 10 s, skew 0)', () => {
  let server, ids, cfg;

  before(async () => {
    server = await startCustody({
      env: { CUSTODY_OAUTH_ACCESS_TOKEN_TTL_SECONDS: '10', CUSTODY_OAUTH_CLOCK_SKEW_SECONDS: '0' },
    });
    const seeded = await server.seed({ A: [['read', '@B']], B: [['read', '@C']], C: [] });
    ids = seeded.ids;
    cfg = {};
    for (const n of ['A', 'B', 'C'])
      cfg[n] = await server.config(ids[n], client.ClientSecretPost(seeded.secrets[n]));
  });
  after(() => server?.stop());

  test('an expired subject token is refused; introspection says inactive; revocation and trace still accept it', async () => {
    const t0 = await client.clientCredentialsGrant(cfg.A, { scope: 'read', audience: ids.B });
    assert.ok(t0.expires_in <= 10);
    await sleep(1000);
    const t1 = await client.genericGrantRequest(cfg.B, GRANT_TOKEN_EXCHANGE, {
      subject_token: t0.access_token,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: ids.C,
    });
    // The exchanged token never outlives its parent.
    assert.ok(claims(t1.access_token).exp <= claims(t0.access_token).exp);

    const wait = claims(t0.access_token).exp * 1000 - Date.now() + 1100;
    await sleep(Math.max(0, wait));

    const e = await refusal(() =>
      client.genericGrantRequest(cfg.C, GRANT_TOKEN_EXCHANGE, {
        subject_token: t1.access_token,
        subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      }),
    );
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'subject');
    assert.match(e.error_description, /^subject_token refused: token expired at/);

    assert.deepEqual(await client.tokenIntrospection(cfg.A, t0.access_token), { active: false });
    assert.deepEqual(await client.tokenIntrospection(cfg.B, t1.access_token), { active: false });

    const jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/.well-known/jwks.json`));
    await assert.rejects(jose.jwtVerify(t0.access_token, jwks, { issuer: server.issuer }), jose.errors.JWTExpired);

    // RFC 7009: revoking an expired token is fine; the trace API reads expired tokens.
    await client.tokenRevocation(cfg.A, t0.access_token);
    const rec = await server.admin('GET', `/api/v1/delegations/${claims(t1.access_token).jti}`);
    assert.ok(rec.revoked_at, 'revoking the expired root still revokes its subtree');
    const trace = await server.admin('GET', `/api/v1/trace?token=${encodeURIComponent(t1.access_token)}`);
    assert.ok(JSON.stringify(trace).includes(ids.B));
  });
});
