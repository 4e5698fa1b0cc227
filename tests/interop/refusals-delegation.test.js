// Refusals of delegation bounds in token exchange (src/oauth/grants.h), through openid-client's
// generic grant call: scope widening, depth over the cap, may_act, suspended actor, retired owner,
// revoked parent. (A suspension or an owner's retirement revokes the identity's live tokens at
// once, so those refusals name the revoked token.) Each test asserts the error code, the `bound` and the description.
// custodyd runs with CUSTODY_OAUTH_MAX_DELEGATION_DEPTH=2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import {
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
  claims,
  refusal,
  startCustody,
} from './harness.js';

const API = 'https://api.example.com';

describe('delegation bounds', () => {
  let server, owner;

  before(async () => {
    server = await startCustody({ env: { CUSTODY_OAUTH_MAX_DELEGATION_DEPTH: '2' } });
    owner = await server.human();
  });
  after(() => server?.stop());

  // Seeds agents (spec as in Custody.seed) and returns {ids, cfg} with client_secret_post configs
  // (a 401 then carries the RFC 6749 body rather than a Basic challenge).
  async function world(spec, opts = {}) {
    const { ids, secrets } = await server.seed(spec, { owner, ...opts });
    const cfg = {};
    for (const name of Object.keys(ids))
      cfg[name] = await server.config(ids[name], client.ClientSecretPost(secrets[name]));
    return { ids, cfg };
  }
  const cc = (cfg, params) => client.clientCredentialsGrant(cfg, params);
  const exchange = (cfg, subjectToken, params = {}) =>
    client.genericGrantRequest(cfg, GRANT_TOKEN_EXCHANGE, {
      subject_token: subjectToken,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      ...params,
    });

  test('scope widening in an exchange', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B'], ['write', '@B']], B: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const e = await refusal(() => exchange(cfg.B, t0.access_token, { scope: 'read write' }));
    assert.equal(e.status, 400);
    assert.equal(e.error, 'invalid_scope');
    assert.equal(e.bound, 'scope');
    assert.match(e.error_description, /scope "write" is not in the subject token \(scopes may only narrow\)/);
    // Narrowing (or keeping) is fine.
    const t1 = await exchange(cfg.B, t0.access_token, { scope: 'read' });
    assert.equal(claims(t1.access_token).scope, 'read');
  });

  test('a new audience the actor is not entitled to', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const e = await refusal(() => exchange(cfg.B, t0.access_token, { resource: API }));
    assert.equal(e.error, 'invalid_target');
    assert.equal(e.bound, 'audience');
    assert.match(e.error_description, /^new audience refused: .* is not entitled to scope "read" at audience "https:\/\/api.example.com"/);
  });

  test('depth over the cap (max_delegation_depth = 2)', async () => {
    const md = await server.metadata();
    assert.equal(md.custody_max_delegation_depth, 2);
    const { ids, cfg } = await world({
      A: [['read', '@B']],
      B: [['read', '@C']],
      C: [['read', '@D']],
      D: [['read', '@E']],
      E: [],
    });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const t1 = await exchange(cfg.B, t0.access_token, { audience: ids.C });
    const t2 = await exchange(cfg.C, t1.access_token, { audience: ids.D });
    assert.equal(claims(t2.access_token).custody.depth, 2);
    assert.deepEqual(claims(t2.access_token).act, { sub: ids.C, act: { sub: ids.B } });
    const e = await refusal(() => exchange(cfg.D, t2.access_token, { audience: ids.E }));
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'depth');
    assert.match(e.error_description, /delegation depth 3 exceeds the maximum 2/);
  });

  test('may_act names another actor', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [], C: [] });
    // A's token is for audience B, but A says only C may act with it.
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B, may_act: ids.C });
    assert.deepEqual(claims(t0.access_token).may_act, { sub: ids.C });
    const e = await refusal(() => exchange(cfg.B, t0.access_token));
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'may_act');
    assert.match(e.error_description, new RegExp(`actor ${ids.B} is not the one the subject token's may_act names \\(${ids.C}\\)`));
    // The named actor may.
    const t1 = await exchange(cfg.C, t0.access_token);
    assert.deepEqual(claims(t1.access_token).act, { sub: ids.C });
  });

  test('an actor that is neither an audience nor named by may_act', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [], C: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const e = await refusal(() => exchange(cfg.C, t0.access_token));
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'audience');
    assert.match(e.error_description, new RegExp(`actor ${ids.C} is not an audience of the subject token`));
  });

  test('suspended actor (actor_token of a suspended identity)', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [['read', '@C']], C: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const tb = await cc(cfg.B, { scope: 'read' });
    // Control: C exchanges on behalf of B (B is the actor, C the client).
    const ok = await exchange(cfg.C, t0.access_token, {
      actor_token: tb.access_token,
      actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
    });
    assert.deepEqual(claims(ok.access_token).act, { sub: ids.B });
    assert.equal(claims(ok.access_token).client_id, ids.C);

    // Continuous revocation: suspending B revokes B's live tokens, the actor token included, and
    // what was made with them, so the refusal names the revoked actor token.
    await server.suspend(ids.B);
    const e = await refusal(() =>
      exchange(cfg.C, t0.access_token, { actor_token: tb.access_token, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN }),
    );
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'revoked');
    assert.match(e.error_description, /actor_token was revoked/);
    assert.deepEqual(await client.tokenIntrospection(cfg.C, ok.access_token), { active: false });
  });

  test('suspended actor (the client itself)', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    await server.suspend(ids.B);
    const e = await refusal(() => exchange(cfg.B, t0.access_token));
    assert.equal(e.status, 401);
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, new RegExp(`client ${ids.B} is suspended`));
    // Tokens it was the audience of stay valid for their subject (A is fine).
    assert.equal((await client.tokenIntrospection(cfg.A, t0.access_token)).active, true);
  });

  test('retired owner of the subject', async () => {
    const owner2 = await server.human('owner to retire');
    const { ids: xs, cfg: xcfg } = await world({ B: [] });
    // X belongs to owner2 and is entitled to audience B (owned by the other owner).
    const x = await server.agent(owner2, { name: 'X' });
    await server.entitle(x, 'read', xs.B);
    const xcfgX = await server.config(x, client.ClientSecretPost(await server.secret(x)));
    const t0 = await cc(xcfgX, { scope: 'read', audience: xs.B });

    const retired = await server.retire(owner2);
    assert.equal(retired.identity.state, 'retired');
    assert.ok(retired.affected.includes(x), 'retiring the owner suspends what it owns');

    // X was suspended with its owner, so its tokens were revoked at once.
    const e = await refusal(() => exchange(xcfg.B, t0.access_token));
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'revoked');
    assert.match(e.error_description, /subject_token was revoked/);
    assert.deepEqual(await client.tokenIntrospection(xcfg.B, t0.access_token), { active: false });
  });

  test('retired owner of the actor', async () => {
    const owner2 = await server.human('actor owner to retire');
    const { ids, cfg } = await world({ A: [], C: [] });
    const b = await server.agent(owner2, { name: 'B' });
    await server.entitle(ids.A, 'read', b);
    const cfgB = await server.config(b, client.ClientSecretPost(await server.secret(b)));
    await server.entitle(b, 'read', ids.C);
    const t0 = await cc(cfg.A, { scope: 'read', audience: b });
    const tb = await cc(cfgB, { scope: 'read' });
    await server.retire(owner2);
    // B itself can no longer authenticate...
    const e1 = await refusal(() => exchange(cfgB, t0.access_token));
    assert.equal(e1.error, 'invalid_client');
    assert.match(e1.error_description, new RegExp(`client ${b} is suspended`));
    // ...nor be named as the actor by another client.
    const e2 = await refusal(() =>
      exchange(cfg.C, t0.access_token, { actor_token: tb.access_token, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN }),
    );
    assert.equal(e2.error, 'invalid_request');
    assert.equal(e2.bound, 'revoked');
    assert.match(e2.error_description, /actor_token was revoked/);
  });

  test('revoked parent', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [['read', '@C']], C: [['read', API]] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const t1 = await exchange(cfg.B, t0.access_token, { audience: ids.C });
    const root = claims(t0.access_token).jti;
    const revoked = await server.admin('POST', `/api/v1/delegations/${root}/revoke`, { reason: 'interop' });
    assert.ok(revoked.revoked.includes(claims(t1.access_token).jti), 'the subtree is revoked');

    const e = await refusal(() => exchange(cfg.C, t1.access_token, { resource: API }));
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'revoked');
    assert.match(e.error_description, /subject_token was revoked \(delegation dlg_/);

    const e0 = await refusal(() => exchange(cfg.B, t0.access_token, { audience: ids.C }));
    assert.equal(e0.bound, 'revoked');
    assert.match(e0.error_description, new RegExp(`subject_token was revoked \\(delegation ${root}\\)`));
  });

  test('revoked actor token', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [['read', '@C']], C: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const tb = await cc(cfg.B, { scope: 'read' });
    await client.tokenRevocation(cfg.B, tb.access_token);
    const e = await refusal(() =>
      exchange(cfg.C, t0.access_token, { actor_token: tb.access_token, actor_token_type: TOKEN_TYPE_ACCESS_TOKEN }),
    );
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'revoked');
    assert.match(e.error_description, /actor_token was revoked/);
  });

  test('a client outside the chain may not revoke a token', async () => {
    const { ids, cfg } = await world({ A: [['read', '@B']], B: [], Z: [] });
    const t0 = await cc(cfg.A, { scope: 'read', audience: ids.B });
    const e = await refusal(() => client.tokenRevocation(cfg.Z, t0.access_token));
    assert.equal(e.error, 'unauthorized_client');
    assert.match(e.error_description, /is not part of this token's delegation chain/);
    assert.equal((await client.tokenIntrospection(cfg.A, t0.access_token)).active, true);
  });
});
