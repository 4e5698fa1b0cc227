// DPoP (RFC 9449) through openid-client: sender-constrained tokens, and server nonces that the
// library must pick up from a use_dpop_nonce refusal and retry with.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, claims, startCustody } from './harness.js';

const API = 'https://api.example.com';

// A fetch that records every request's DPoP proof and the response status/body/nonce.
function recordingFetch(log) {
  return async (url, options) => {
    const res = await fetch(url, options);
    const body = await res.clone().text();
    log.push({
      url: String(url),
      dpop: new Headers(options.headers).get('dpop'),
      status: res.status,
      body: body ? JSON.parse(body) : null,
      nonce: res.headers.get('dpop-nonce'),
    });
    return res;
  };
}

async function thumbprintOf(keyPair) {
  return jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey), 'sha256');
}

describe('DPoP', () => {
  let server, ids, secrets;

  before(async () => {
    server = await startCustody();
    ({ ids, secrets } = await server.seed({ A: [['read', '@B']], B: [['read', API]] }));
  });
  after(() => server?.stop());

  test('client_credentials bound to the proof key (token_type DPoP, cnf.jkt)', async () => {
    const log = [];
    const cfg = await server.config(ids.A, client.ClientSecretBasic(secrets.A), {
      fetch: recordingFetch(log),
    });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(cfg, keyPair);
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read' }, { DPoP });
    assert.equal(log.length, 1);
    assert.equal(log[0].body.token_type, 'DPoP'); // on the wire
    assert.equal(tokens.token_type, 'dpop'); // oauth4webapi lower-cases it
    const proof = jose.decodeProtectedHeader(log[0].dpop);
    assert.equal(proof.typ, 'dpop+jwt');
    const c = claims(tokens.access_token);
    assert.equal(c.cnf.jkt, await thumbprintOf(keyPair));
    const info = await client.tokenIntrospection(cfg, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.token_type, 'DPoP');
    assert.equal(info.cnf.jkt, c.cnf.jkt);
  });

  for (const alg of ['EdDSA', 'RS256']) {
    test(`DPoP proof key ${alg}`, async () => {
      const cfg = await server.config(ids.A, client.ClientSecretPost(secrets.A));
      const keyPair = await client.randomDPoPKeyPair(alg);
      const tokens = await client.clientCredentialsGrant(
        cfg,
        { scope: 'read' },
        { DPoP: client.getDPoPHandle(cfg, keyPair) },
      );
      assert.equal(tokens.token_type, 'dpop');
      assert.equal(claims(tokens.access_token).cnf.jkt, await thumbprintOf(keyPair));
    });
  }

  test('a token exchange can bind the new token to the actor key', async () => {
    const cfgA = await server.config(ids.A, client.ClientSecretBasic(secrets.A));
    const cfgB = await server.config(ids.B, client.ClientSecretBasic(secrets.B));
    const t0 = await client.clientCredentialsGrant(cfgA, { scope: 'read', audience: ids.B });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const t1 = await client.genericGrantRequest(
      cfgB,
      GRANT_TOKEN_EXCHANGE,
      { subject_token: t0.access_token, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, resource: API },
      { DPoP: client.getDPoPHandle(cfgB, keyPair) },
    );
    assert.equal(t1.token_type, 'dpop');
    const c = claims(t1.access_token);
    assert.equal(c.cnf.jkt, await thumbprintOf(keyPair));
    assert.deepEqual(c.act, { sub: ids.B });
  });
});

describe('DPoP with server nonces (CUSTODY_OAUTH_DPOP_NONCE=true)', () => {
  let server, ids, secrets;

  before(async () => {
    server = await startCustody({ env: { CUSTODY_OAUTH_DPOP_NONCE: 'true' } });
    ({ ids, secrets } = await server.seed({ A: [['read', '@B']], B: [['read', API]] }));
  });
  after(() => server?.stop());

  test('the library retries with the nonce from use_dpop_nonce, then reuses it', async () => {
    const log = [];
    const cfg = await server.config(ids.A, client.ClientSecretBasic(secrets.A), {
      fetch: recordingFetch(log),
    });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(cfg, keyPair);
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read' }, { DPoP });
    assert.equal(log.length, 2, JSON.stringify(log));
    assert.equal(log[0].status, 400);
    assert.equal(log[0].body.error, 'use_dpop_nonce');
    assert.match(log[0].body.error_description, /nonce is required/);
    assert.ok(log[0].nonce, 'the refusal carries a DPoP-Nonce header');
    assert.equal(jose.decodeJwt(log[0].dpop).nonce, undefined);
    assert.equal(jose.decodeJwt(log[1].dpop).nonce, log[0].nonce);
    assert.equal(log[1].status, 200);
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(claims(tokens.access_token).cnf.jkt, await thumbprintOf(keyPair));

    // The next request carries the cached nonce at once.
    const t0 = await client.clientCredentialsGrant(cfg, { scope: 'read', audience: ids.B }, { DPoP });
    assert.equal(log.length, 3);
    assert.equal(log[2].status, 200);
    assert.ok(jose.decodeJwt(log[2].dpop).nonce);

    // And a token exchange by another client with its own handle (fresh nonce dance).
    const logB = [];
    const cfgB = await server.config(ids.B, client.ClientSecretBasic(secrets.B), {
      fetch: recordingFetch(logB),
    });
    const keyB = await client.randomDPoPKeyPair('ES256');
    const t1 = await client.genericGrantRequest(
      cfgB,
      GRANT_TOKEN_EXCHANGE,
      { subject_token: t0.access_token, subject_token_type: TOKEN_TYPE_ACCESS_TOKEN, resource: API },
      { DPoP: client.getDPoPHandle(cfgB, keyB) },
    );
    assert.deepEqual(
      logB.map((r) => r.status),
      [400, 200],
    );
    assert.equal(claims(t1.access_token).cnf.jkt, await thumbprintOf(keyB));
  });

  test('private_key_jwt and DPoP nonces together (the retry signs a new assertion)', async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const id = await server.agent(await server.human(), { name: 'pkjwt+dpop' });
    await server.entitle(id, 'read', API);
    await server.jwkCredential(id, { ...(await jose.exportJWK(publicKey)), kid: 'k1' });
    const log = [];
    const cfg = await server.config(id, client.PrivateKeyJwt({ key: privateKey, kid: 'k1' }), {
      fetch: recordingFetch(log),
    });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const tokens = await client.clientCredentialsGrant(
      cfg,
      { scope: 'read' },
      { DPoP: client.getDPoPHandle(cfg, keyPair) },
    );
    assert.deepEqual(
      log.map((r) => r.status),
      [400, 200],
    );
    assert.equal(claims(tokens.access_token).cnf.jkt, await thumbprintOf(keyPair));
  });

  test('a stale or forged nonce is refused with use_dpop_nonce and a fresh nonce', async () => {
    const keyPair = await jose.generateKeyPair('ES256');
    const proof = await new jose.SignJWT({
      htm: 'POST',
      htu: server.tokenEndpoint,
      jti: crypto.randomUUID(),
      nonce: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await jose.exportJWK(keyPair.publicKey) })
      .setIssuedAt()
      .sign(keyPair.privateKey);
    const r = await server.form(
      '/oauth2/token',
      { grant_type: 'client_credentials', client_id: ids.A, client_secret: secrets.A, scope: 'read' },
      { dpop: proof },
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'use_dpop_nonce');
    assert.match(r.body.error_description, /stale or unknown/);
    assert.ok(r.headers.get('dpop-nonce'));
  });
});
