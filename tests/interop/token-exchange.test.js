// RFC 8693 token exchange through openid-client's generic grant call: two hops with nested act,
// introspection of every hop, and revocation of the first hop cascading to the derived tokens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import {
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  claims,
  startCustody,
} from './harness.js';

const API = 'https://api.example.com';

describe('token exchange (two hops)', () => {
  let server, ids, cfg;

  // A → (audience B) → B exchanges (audience C) → C exchanges (resource API).
  async function chain() {
    const t0 = await client.clientCredentialsGrant(cfg.A, { scope: 'read write', audience: ids.B });
    const t1 = await client.genericGrantRequest(cfg.B, GRANT_TOKEN_EXCHANGE, {
      subject_token: t0.access_token,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: ids.C,
      scope: 'read',
    });
    const t2 = await client.genericGrantRequest(cfg.C, GRANT_TOKEN_EXCHANGE, {
      subject_token: t1.access_token,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      resource: API,
    });
    return [t0, t1, t2];
  }

  before(async () => {
    server = await startCustody();
    let secrets;
    ({ ids, secrets } = await server.seed({
      A: [['read', '@B'], ['write', '@B']],
      B: [['read', '@C']],
      C: [['read', API]],
    }));
    cfg = {};
    for (const name of ['A', 'B', 'C'])
      cfg[name] = await server.config(ids[name], client.ClientSecretBasic(secrets[name]));
  });
  after(() => server?.stop());

  test('two hops: sub stays the initiator, act nests the actors', async () => {
    const [t0, t1, t2] = await chain();
    const c0 = claims(t0.access_token);
    assert.equal(c0.sub, ids.A);
    assert.equal(c0.aud, ids.B);
    assert.equal(c0.scope, 'read write');

    assert.equal(t1.issued_token_type, TOKEN_TYPE_ACCESS_TOKEN);
    assert.equal(t1.token_type, 'bearer');
    const c1 = claims(t1.access_token);
    assert.equal(c1.sub, ids.A);
    assert.equal(c1.aud, ids.C);
    assert.equal(c1.scope, 'read');
    assert.equal(c1.client_id, ids.B);
    assert.deepEqual(c1.act, { sub: ids.B });
    assert.equal(c1.custody.depth, 1);
    assert.equal(c1.custody.root_delegation_id, c0.jti);

    const c2 = claims(t2.access_token);
    assert.equal(c2.sub, ids.A);
    assert.equal(c2.aud, API);
    assert.equal(c2.scope, 'read');
    assert.equal(c2.client_id, ids.C);
    assert.deepEqual(c2.act, { sub: ids.C, act: { sub: ids.B } });
    assert.equal(c2.custody.depth, 2);
    assert.equal(c2.custody.root_delegation_id, c0.jti);
    // An exchanged token never outlives its parent.
    assert.ok(c2.exp <= c1.exp && c1.exp <= c0.exp);
  });

  test('requested_token_type jwt is honoured', async () => {
    const t0 = await client.clientCredentialsGrant(cfg.A, { scope: 'read', audience: ids.B });
    const t1 = await client.genericGrantRequest(cfg.B, GRANT_TOKEN_EXCHANGE, {
      subject_token: t0.access_token,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      requested_token_type: TOKEN_TYPE_JWT,
    });
    assert.equal(t1.issued_token_type, TOKEN_TYPE_JWT);
    assert.deepEqual(claims(t1.access_token).act, { sub: ids.B });
  });

  test('the trace API follows the chain', async () => {
    const [t0, , t2] = await chain();
    const trace = await server.admin('GET', `/api/v1/trace?token=${encodeURIComponent(t2.access_token)}`);
    const text = JSON.stringify(trace);
    for (const id of [ids.A, ids.B, ids.C, claims(t0.access_token).jti]) assert.ok(text.includes(id), id);
  });

  test('introspection of every hop, then revoking the first hop deactivates all of them', async () => {
    const tokens = await chain();
    for (const t of tokens) {
      const info = await client.tokenIntrospection(cfg.A, t.access_token);
      assert.equal(info.active, true);
      assert.equal(info.sub, ids.A);
    }
    const info2 = await client.tokenIntrospection(cfg.C, tokens[2].access_token);
    assert.deepEqual(info2.act, { sub: ids.C, act: { sub: ids.B } });

    // A (the delegator) revokes what it issued (RFC 7009, through the library).
    await client.tokenRevocation(cfg.A, tokens[0].access_token);
    for (const t of tokens) {
      const info = await client.tokenIntrospection(cfg.A, t.access_token);
      assert.deepEqual(info, { active: false });
    }
    // The delegation records say so too.
    for (const t of tokens) {
      const rec = await server.admin('GET', `/api/v1/delegations/${claims(t.access_token).jti}`);
      assert.ok(rec.revoked_at, JSON.stringify(rec));
    }
    // Revocation is idempotent and unknown tokens are not an error (RFC 7009 §2.2).
    await client.tokenRevocation(cfg.A, tokens[0].access_token);
    await client.tokenRevocation(cfg.A, 'garbage');
  });

  test('revoking a middle hop leaves the upstream token active', async () => {
    const tokens = await chain();
    await client.tokenRevocation(cfg.B, tokens[1].access_token);
    assert.equal((await client.tokenIntrospection(cfg.A, tokens[0].access_token)).active, true);
    assert.equal((await client.tokenIntrospection(cfg.A, tokens[1].access_token)).active, false);
    assert.equal((await client.tokenIntrospection(cfg.A, tokens[2].access_token)).active, false);
  });

  test('exchanges racing a revocation of their parent: nothing derived survives', async () => {
    const t0 = await client.clientCredentialsGrant(cfg.A, { scope: 'read', audience: ids.B });
    const exchange = () =>
      client.genericGrantRequest(cfg.B, GRANT_TOKEN_EXCHANGE, {
        subject_token: t0.access_token,
        subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        audience: ids.C,
      });
    const results = await Promise.allSettled([
      ...Array.from({ length: 6 }, exchange),
      client.tokenRevocation(cfg.A, t0.access_token),
      ...Array.from({ length: 6 }, exchange),
    ]);
    assert.equal(results[6].status, 'fulfilled', 'the revocation succeeds');
    for (const r of results.filter((r, i) => i !== 6)) {
      if (r.status === 'rejected') {
        assert.equal(r.reason.cause?.bound, 'revoked', String(r.reason));
        continue;
      }
      const info = await client.tokenIntrospection(cfg.A, r.value.access_token);
      assert.deepEqual(info, { active: false }, 'a token derived from a revoked parent is inactive');
    }
  });
});
