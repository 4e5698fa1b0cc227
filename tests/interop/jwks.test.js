// Resource-server view with `jose`: issued tokens verify against custody's remote JWKS, across a
// signing key rotation (the next key is published before it signs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, startCustody } from './harness.js';

const API = 'https://api.example.com';

describe('JWKS and key rotation (jose)', () => {
  let server, ids, cfgA, cfgB;

  before(async () => {
    server = await startCustody();
    const { ids: i, secrets } = await server.seed({ A: [['read', API], ['read', '@B']], B: [['read', API]] });
    ids = i;
    cfgA = await server.config(ids.A, client.ClientSecretBasic(secrets.A));
    cfgB = await server.config(ids.B, client.ClientSecretBasic(secrets.B));
  });
  after(() => server?.stop());

  const verify = (token, jwks, audience = API) =>
    jose.jwtVerify(token, jwks, {
      issuer: server.issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['ES256', 'EdDSA', 'RS256'],
    });

  test('issued tokens verify against the remote JWKS', async () => {
    const jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/.well-known/jwks.json`));
    const t = await client.clientCredentialsGrant(cfgA, { scope: 'read', resource: API });
    const { payload, protectedHeader } = await verify(t.access_token, jwks);
    assert.equal(payload.sub, ids.A);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(protectedHeader.kid);

    const t0 = await client.clientCredentialsGrant(cfgA, { scope: 'read', audience: ids.B });
    const t1 = await client.genericGrantRequest(cfgB, GRANT_TOKEN_EXCHANGE, {
      subject_token: t0.access_token,
      subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      resource: API,
    });
    const v1 = await verify(t1.access_token, jwks);
    assert.deepEqual(v1.payload.act, { sub: ids.B });

    // A tampered token does not verify.
    const [h, p, s] = t.access_token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...jose.decodeJwt(t.access_token), scope: 'admin' }),
    ).toString('base64url');
    await assert.rejects(verify(`${h}.${forged}.${s}`, jwks), jose.errors.JWSSignatureVerificationFailed);
    // Nor is it accepted for another audience.
    await assert.rejects(verify(t.access_token, jwks, 'https://other.example.com'), jose.errors.JWTClaimValidationFailed);
    assert.ok(p && s);
  });

  test('rotation: the next key is published before it signs; old and new tokens both verify', async () => {
    const jwksUrl = new URL(`${server.issuer}/.well-known/jwks.json`);
    let fetches = 0;
    const jwks = jose.createRemoteJWKSet(jwksUrl, {
      [jose.customFetch]: (...args) => {
        fetches++;
        return fetch(...args);
      },
    });

    const before = await server.admin('GET', '/api/v1/keys');
    const current = before.items.find((k) => k.status === 'current');
    const upcoming = before.items.find((k) => k.status === 'upcoming');
    assert.ok(current && upcoming, JSON.stringify(before));
    const published = (await (await fetch(jwksUrl)).json()).keys.map((k) => k.kid);
    assert.ok(published.includes(current.kid));
    assert.ok(published.includes(upcoming.kid), 'the upcoming key is in the JWKS before rotation');

    const tOld = await client.clientCredentialsGrant(cfgA, { scope: 'read', resource: API });
    assert.equal(jose.decodeProtectedHeader(tOld.access_token).kid, current.kid);
    await verify(tOld.access_token, jwks);
    assert.equal(fetches, 1);

    const rotated = await server.admin('POST', '/api/v1/keys/rotate');
    const now = rotated.items.find((k) => k.status === 'current');
    assert.equal(now.kid, upcoming.kid, 'rotation activates the pre-published key');
    assert.ok(rotated.items.some((k) => k.status === 'previous' && k.kid === current.kid));
    assert.ok(rotated.items.some((k) => k.status === 'upcoming' && k.kid !== upcoming.kid));

    const tNew = await client.clientCredentialsGrant(cfgA, { scope: 'read', resource: API });
    assert.equal(jose.decodeProtectedHeader(tNew.access_token).kid, upcoming.kid);
    // Both verify with the JWKS fetched before the rotation: no refetch was needed.
    await verify(tNew.access_token, jwks);
    await verify(tOld.access_token, jwks);
    assert.equal(fetches, 1);

    // And with a fresh fetch after the rotation (the previous key is still published).
    const fresh = jose.createRemoteJWKSet(jwksUrl);
    await verify(tOld.access_token, fresh);
    await verify(tNew.access_token, fresh);
    const after = (await (await fetch(jwksUrl)).json()).keys.map((k) => k.kid);
    assert.ok(after.includes(current.kid) && after.includes(upcoming.kid));

    // Tokens signed before the rotation still introspect as active.
    assert.equal((await client.tokenIntrospection(cfgA, tOld.access_token)).active, true);
  });

  test('rotation needs the admin token', async () => {
    const res = await fetch(`${server.url}/api/v1/keys/rotate`, { method: 'POST' });
    assert.equal(res.status, 401);
  });

  test('custodyd stops promptly on SIGTERM after a key rotation', async () => {
    // Clients keep their connections alive (Node's fetch does). The hang this guards against was
    // a race (Server::stop dropping the last session reference under the sessions lock), so try
    // a few times.
    for (let i = 0; i < 6; i++) {
      const other = await startCustody();
      try {
        await other.admin('POST', '/api/v1/keys/rotate');
        await (await fetch(`${other.url}/.well-known/jwks.json`)).text();
        const ms = await other.terminate(3000);
        assert.notEqual(ms, null, `attempt ${i + 1}: custodyd still running 3 s after SIGTERM:\n${other.output()}`);
      } finally {
        await other.stop();
      }
    }
  });
});

describe('JWKS with other signing algorithms (CUSTODY_OAUTH_SIGNING_ALG)', () => {
  for (const alg of ['EdDSA', 'RS256']) {
    test(`${alg}: tokens verify with jose against the remote JWKS, before and after rotation`, async () => {
      const server = await startCustody({ env: { CUSTODY_OAUTH_SIGNING_ALG: alg } });
      try {
        const { ids, secrets } = await server.seed({ A: [['read', API]] });
        const cfg = await server.config(ids.A, client.ClientSecretBasic(secrets.A));
        const jwks = jose.createRemoteJWKSet(new URL(`${server.issuer}/.well-known/jwks.json`));
        const options = { issuer: server.issuer, audience: API, typ: 'at+jwt', algorithms: [alg] };
        const t1 = await client.clientCredentialsGrant(cfg, { scope: 'read' });
        assert.equal(jose.decodeProtectedHeader(t1.access_token).alg, alg);
        assert.equal((await jose.jwtVerify(t1.access_token, jwks, options)).payload.sub, ids.A);
        await server.admin('POST', '/api/v1/keys/rotate');
        const t2 = await client.clientCredentialsGrant(cfg, { scope: 'read' });
        await jose.jwtVerify(t2.access_token, jwks, options);
        await jose.jwtVerify(t1.access_token, jwks, options);
        const published = (await (await fetch(`${server.issuer}/.well-known/jwks.json`)).json()).keys;
        for (const k of published) assert.equal(k.alg, alg, JSON.stringify(k));
      } finally {
        await server.stop();
      }
    });
  }
});
