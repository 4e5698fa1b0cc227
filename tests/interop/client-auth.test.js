// Discovery and client_credentials with every client authentication method custody supports,
// driven by openid-client v6 (on oauth4webapi), plus introspection through the library.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { claims, header, startCustody } from './harness.js';

const API = 'https://api.example.com';

describe('discovery and client authentication', () => {
  let server, ids, secrets;

  before(async () => {
    server = await startCustody();
    ({ ids, secrets } = await server.seed({ A: [['read', API], ['write', API]] }));
  });
  after(() => server?.stop());

  test('OpenID discovery through openid-client', async () => {
    const cfg = await client.discovery(new URL(server.url), ids.A, secrets.A, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const md = cfg.serverMetadata();
    assert.equal(md.issuer, server.issuer);
    assert.equal(md.token_endpoint, `${server.issuer}/oauth2/token`);
    assert.equal(md.jwks_uri, `${server.issuer}/.well-known/jwks.json`);
    assert.equal(md.introspection_endpoint, `${server.issuer}/oauth2/introspect`);
    assert.equal(md.revocation_endpoint, `${server.issuer}/oauth2/revoke`);
    assert.deepEqual(md.grant_types_supported.sort(), [
      'authorization_code',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:token-exchange',
      'urn:openid:params:grant-type:ciba',
    ]);
    for (const m of ['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
      assert.ok(md.token_endpoint_auth_methods_supported.includes(m), m);
    assert.ok(md.dpop_signing_alg_values_supported.includes('ES256'));
    // A secret passed as metadata makes openid-client use client_secret_post by default.
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read', resource: API });
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'read');
  });

  test('RFC 8414 discovery (oauth-authorization-server) through openid-client', async () => {
    const cfg = await client.discovery(new URL(server.url), ids.A, undefined, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    assert.equal(cfg.serverMetadata().issuer, server.issuer);
    assert.equal(cfg.serverMetadata().token_endpoint, `${server.issuer}/oauth2/token`);
  });

  test('client_secret_basic', async () => {
    const cfg = await server.config(ids.A, client.ClientSecretBasic(secrets.A));
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read', resource: API });
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.expiresIn() > 0 && tokens.expiresIn() <= 600);
    const c = claims(tokens.access_token);
    assert.equal(header(tokens.access_token).typ, 'at+jwt');
    assert.equal(c.iss, server.issuer);
    assert.equal(c.sub, ids.A);
    assert.equal(c.client_id, ids.A);
    assert.equal(c.aud, API);
    assert.equal(c.scope, 'read');
    assert.equal(c.act, undefined);
  });

  test('client_secret_basic with a wrong secret is invalid_client', async () => {
    const cfg = await server.config(ids.A, client.ClientSecretBasic('cs_wrong'));
    await assert.rejects(client.clientCredentialsGrant(cfg, { scope: 'read' }), (err) => {
      // 401 + WWW-Authenticate: Basic → oauth4webapi reports the challenge.
      assert.ok(err instanceof client.WWWAuthenticateChallengeError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.cause[0].scheme, 'basic');
      return true;
    });
  });

  test('client_secret_post', async () => {
    const cfg = await server.config(ids.A, client.ClientSecretPost(secrets.A));
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read write', resource: API });
    assert.equal(tokens.scope, 'read write');
    assert.equal(claims(tokens.access_token).sub, ids.A);
  });

  for (const alg of ['ES256', 'EdDSA', 'RS256']) {
    test(`private_key_jwt (${alg}) with the assertion signed by the library`, async () => {
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
      const jwk = await jose.exportJWK(publicKey);
      jwk.kid = `interop-${alg.toLowerCase()}`;
      const id = await server.agent(await server.human(), { name: `pkjwt ${alg}` });
      await server.entitle(id, 'read', API);
      const cred = await server.jwkCredential(id, jwk);
      assert.equal(cred.type, 'jwk');
      let assertion;
      const cfg = await server.config(
        id,
        client.PrivateKeyJwt({ key: privateKey, kid: jwk.kid }),
        {
          fetch: (url, options) => {
            assertion = new URLSearchParams(options.body).get('client_assertion');
            return fetch(url, options);
          },
        },
      );
      const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read' });
      // oauth4webapi names Ed25519 signatures by the RFC 9864 alg "Ed25519", not "EdDSA".
      assert.equal(header(assertion).alg, alg === 'EdDSA' ? 'Ed25519' : alg);
      assert.equal(claims(assertion).aud, server.issuer);
      const c = claims(tokens.access_token);
      assert.equal(c.sub, id);
      assert.equal(c.aud, API);
      // The same key keeps working (a fresh jti each time).
      await client.clientCredentialsGrant(cfg, { scope: 'read' });
    });
  }

  test('private_key_jwt with an unregistered key is invalid_client', async () => {
    const { privateKey } = await jose.generateKeyPair('ES256');
    const cfg = await server.config(ids.A, client.PrivateKeyJwt(privateKey));
    await assert.rejects(client.clientCredentialsGrant(cfg, { scope: 'read' }), (err) => {
      assert.equal(err.error, 'invalid_client');
      assert.match(err.error_description, /signature does not verify|no registered key/);
      return true;
    });
  });

  test('introspection through the library', async () => {
    const cfg = await server.config(ids.A, client.ClientSecretBasic(secrets.A));
    const tokens = await client.clientCredentialsGrant(cfg, { scope: 'read', resource: API });
    const info = await client.tokenIntrospection(cfg, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, ids.A);
    assert.equal(info.client_id, ids.A);
    assert.equal(info.scope, 'read');
    assert.equal(info.token_type, 'Bearer');
    assert.equal(info.iss, server.issuer);
    const bogus = await client.tokenIntrospection(cfg, 'not-a-token');
    assert.deepEqual(bogus, { active: false });
  });
});
