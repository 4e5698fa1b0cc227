// Refusals of tokens whose signature the test crafts: client assertions (private_key_jwt) and
// subject tokens of a trusted external issuer whose private keys the test holds. Each test asserts
// the error code and the reason (error_description, and `bound` where custody names one).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import * as jose from 'jose';
import {
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_JWT,
  claims,
  refusal,
  startCustody,
} from './harness.js';

const API = 'https://api.example.com';
const IDP = 'https://idp.interop.example';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// A ClientAuth for openid-client that presents a ready-made client assertion.
const presentAssertion = (jwt) => (_as, c, body) => {
  body.set('client_id', c.client_id);
  body.set('client_assertion_type', ASSERTION_TYPE);
  body.set('client_assertion', jwt);
};

// alg "none": header and payload, empty signature.
const unsigned = (payload) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;

// HS256 "signed" with the PEM text of an RSA public key as the HMAC secret (alg confusion).
function hmacWithPublicKey(payload, publicKeyPem, kid) {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', publicKeyPem).update(input).digest('base64url')}`;
}

describe('refusals of crafted client assertions', () => {
  let server, id, rsa, rsaPem, ec;

  const assertionClaims = (extra = {}) => ({
    iss: id,
    sub: id,
    aud: server.issuer,
    jti: randomUUID(),
    iat: now(),
    exp: now() + 60,
    ...extra,
  });

  async function tokenWith(auth) {
    const cfg = await server.config(id, auth);
    return refusal(() => client.clientCredentialsGrant(cfg, { scope: 'read' }));
  }

  before(async () => {
    server = await startCustody();
    id = await server.agent(await server.human(), { name: 'assertion client' });
    await server.entitle(id, 'read', API);
    rsa = await jose.generateKeyPair('RS256', { extractable: true });
    ec = await jose.generateKeyPair('ES256', { extractable: true });
    const rsaJwk = { ...(await jose.exportJWK(rsa.publicKey)), kid: 'rsa-1' };
    const ecJwk = { ...(await jose.exportJWK(ec.publicKey)), kid: 'ec-1' };
    await server.jwkCredential(id, rsaJwk);
    await server.jwkCredential(id, ecJwk);
    rsaPem = createPublicKey({ key: rsaJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  });
  after(() => server?.stop());

  test('control: a well-formed assertion signed by the library is accepted', async () => {
    const cfg = await server.config(id, client.PrivateKeyJwt({ key: ec.privateKey, kid: 'ec-1' }));
    const t = await client.clientCredentialsGrant(cfg, { scope: 'read' });
    assert.equal(claims(t.access_token).sub, id);
  });

  test('alg none', async () => {
    const e = await tokenWith(presentAssertion(unsigned(assertionClaims())));
    assert.equal(e.status, 401);
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /client assertion refused: algorithm none is not allowed/);
  });

  test('alg confusion: HS256 with the registered RSA public key as the HMAC secret', async () => {
    const e = await tokenWith(presentAssertion(hmacWithPublicKey(assertionClaims(), rsaPem, 'rsa-1')));
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /algorithm "?HS256"? is not allowed: HMAC would use a public key/);
  });

  test('wrong aud', async () => {
    const e = await tokenWith(
      client.PrivateKeyJwt(
        { key: ec.privateKey, kid: 'ec-1' },
        { [client.modifyAssertion]: (_h, p) => void (p.aud = 'https://other-as.example.com') },
      ),
    );
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /aud must be the issuer/);
  });

  test('aud as an array containing the issuer is refused (one string only)', async () => {
    const e = await tokenWith(
      client.PrivateKeyJwt(
        { key: ec.privateKey, kid: 'ec-1' },
        { [client.modifyAssertion]: (_h, p) => void (p.aud = [server.issuer, 'https://x.example']) },
      ),
    );
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /aud must be the issuer/);
  });

  test('expired', async () => {
    const e = await tokenWith(
      client.PrivateKeyJwt(
        { key: rsa.privateKey, kid: 'rsa-1' },
        {
          [client.modifyAssertion]: (_h, p) => {
            p.iat = p.nbf = now() - 3700;
            p.exp = now() - 3600;
          },
        },
      ),
    );
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /client assertion refused: token expired at/);
  });

  test('nbf in the future', async () => {
    const e = await tokenWith(
      client.PrivateKeyJwt(
        { key: ec.privateKey, kid: 'ec-1' },
        { [client.modifyAssertion]: (_h, p) => void (p.nbf = now() + 3600) },
      ),
    );
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /client assertion refused: token is not valid before/);
  });

  test('exp too far away', async () => {
    const e = await tokenWith(
      client.PrivateKeyJwt(
        { key: ec.privateKey, kid: 'ec-1' },
        { [client.modifyAssertion]: (_h, p) => void (p.exp = now() + 3600) },
      ),
    );
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /exp is too far in the future/);
  });

  test('replayed assertion jti', async () => {
    let captured;
    const signer = client.PrivateKeyJwt({ key: ec.privateKey, kid: 'ec-1' });
    const capturing = async (as, c, body, headers) => {
      await signer(as, c, body, headers);
      captured = body.get('client_assertion');
    };
    const cfg = await server.config(id, capturing);
    await client.clientCredentialsGrant(cfg, { scope: 'read' });
    assert.ok(captured);
    // The very same assertion again.
    const e = await tokenWith(presentAssertion(captured));
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /client assertion jti was already used/);
    // A new assertion reusing the jti (new signature, new iat) is a replay too.
    const jti = claims(captured).jti;
    const e2 = await tokenWith(
      client.PrivateKeyJwt(
        { key: ec.privateKey, kid: 'ec-1' },
        { [client.modifyAssertion]: (_h, p) => void (p.jti = jti) },
      ),
    );
    assert.equal(e2.error, 'invalid_client');
    assert.match(e2.error_description, /client assertion jti was already used/);
  });

  test('concurrent use of one assertion: exactly one request wins', async () => {
    const signer = client.PrivateKeyJwt({ key: ec.privateKey, kid: 'ec-1' });
    const body = new URLSearchParams();
    await signer(await server.metadata(), { client_id: id }, body, new Headers());
    const assertion = body.get('client_assertion');
    const cfg = await server.config(id, presentAssertion(assertion));
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => client.clientCredentialsGrant(cfg, { scope: 'read' })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results));
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.equal(r.reason.error, 'invalid_client');
      assert.match(r.reason.error_description, /client assertion jti was already used/);
    }
  });

  test('the token endpoint accepts aud = the token endpoint URL', async () => {
    const cfg = await server.config(
      id,
      client.PrivateKeyJwt(
        { key: ec.privateKey, kid: 'ec-1' },
        { [client.modifyAssertion]: (_h, p) => void (p.aud = server.tokenEndpoint) },
      ),
    );
    const t = await client.clientCredentialsGrant(cfg, { scope: 'read' });
    assert.equal(claims(t.access_token).sub, id);
  });

  // client_auth.h: an assertion's jti may be used once. The token endpoint enforces it; the
  // introspection and revocation endpoints authenticate clients the same way.
  for (const [endpoint, call] of [
    ['introspection', (cfg, token) => client.tokenIntrospection(cfg, token)],
    ['revocation', (cfg, token) => client.tokenRevocation(cfg, token)],
  ]) {
    test(`replayed assertion at the ${endpoint} endpoint`, async () => {
      let captured;
      const signer = client.PrivateKeyJwt({ key: ec.privateKey, kid: 'ec-1' });
      const capturing = async (as, c, body, headers) => {
        await signer(as, c, body, headers);
        captured = body.get('client_assertion');
      };
      const t = await client.clientCredentialsGrant(await server.config(id, capturing), { scope: 'read' });
      // An assertion already spent at the token endpoint.
      const replayed = await server.config(id, presentAssertion(captured));
      const e1 = await refusal(() => call(replayed, t.access_token));
      assert.equal(e1.error, 'invalid_client');
      assert.match(e1.error_description, /client assertion jti was already used/);
      // An assertion used once at this endpoint, then again.
      const once = await server.config(id, capturing);
      await call(once, t.access_token);
      const again = await server.config(id, presentAssertion(captured));
      const e2 = await refusal(() => call(again, t.access_token));
      assert.equal(e2.error, 'invalid_client');
      assert.match(e2.error_description, /client assertion jti was already used/);
    });
  }

  test('signed by a key the client did not register', async () => {
    const other = await jose.generateKeyPair('ES256');
    const e = await tokenWith(client.PrivateKeyJwt({ key: other.privateKey, kid: 'ec-1' }));
    assert.equal(e.error, 'invalid_client');
    assert.match(e.error_description, /signature does not verify with any registered key/);
  });
});

describe('refusals of crafted DPoP proofs', () => {
  let server, id, secret;

  async function proof(keyPair, claimsOverride = {}, headerOverride = {}) {
    return new jose.SignJWT({ htm: 'POST', htu: server.tokenEndpoint, jti: randomUUID(), ...claimsOverride })
      .setProtectedHeader({
        alg: 'ES256',
        typ: 'dpop+jwt',
        jwk: await jose.exportJWK(keyPair.publicKey),
        ...headerOverride,
      })
      .setIssuedAt(claimsOverride.iat)
      .sign(keyPair.privateKey);
  }
  const tokenRequest = (dpop) =>
    server.form(
      '/oauth2/token',
      { grant_type: 'client_credentials', client_id: id, client_secret: secret, scope: 'read' },
      { dpop },
    );

  before(async () => {
    server = await startCustody();
    const seeded = await server.seed({ A: [['read', API]] });
    id = seeded.ids.A;
    secret = seeded.secrets.A;
  });
  after(() => server?.stop());

  test('replayed DPoP proof (captured from the library)', async () => {
    let captured;
    const cfg = await server.config(id, client.ClientSecretPost(secret), {
      fetch: (url, options) => {
        captured = new Headers(options.headers).get('dpop');
        return fetch(url, options);
      },
    });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const t = await client.clientCredentialsGrant(
      cfg,
      { scope: 'read' },
      { DPoP: client.getDPoPHandle(cfg, keyPair) },
    );
    assert.equal(t.token_type, 'dpop');
    const r = await tokenRequest(captured);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /DPoP proof jti was already used/);
  });

  test('htu of another endpoint', async () => {
    const keyPair = await jose.generateKeyPair('ES256');
    const r = await tokenRequest(await proof(keyPair, { htu: `${server.issuer}/oauth2/introspect` }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /htu does not match/);
    assert.ok(r.body.error_description.includes(server.tokenEndpoint));
  });

  test('htu of another host', async () => {
    const keyPair = await jose.generateKeyPair('ES256');
    const r = await tokenRequest(await proof(keyPair, { htu: 'https://evil.example/oauth2/token' }));
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /htu does not match/);
  });

  test('proof too old (iat beyond max age)', async () => {
    const keyPair = await jose.generateKeyPair('ES256');
    const r = await tokenRequest(await proof(keyPair, { iat: now() - 3600 }));
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /the proof is too old/);
  });

  test('proof issued in the future', async () => {
    const keyPair = await jose.generateKeyPair('ES256');
    const r = await tokenRequest(await proof(keyPair, { iat: now() + 3600 }));
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /iat is in the future/);
  });

  test('htm mismatch', async () => {
    const keyPair = await jose.generateKeyPair('ES256');
    const r = await tokenRequest(await proof(keyPair, { htm: 'GET' }));
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /htm does not match/);
  });

  test('proof with a private key in its jwk header', async () => {
    const keyPair = await jose.generateKeyPair('ES256', { extractable: true });
    const r = await tokenRequest(await proof(keyPair, {}, { jwk: await jose.exportJWK(keyPair.privateKey) }));
    assert.equal(r.body.error, 'invalid_dpop_proof');
  });

  test('alg none proof', async () => {
    const keyPair = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = await jose.exportJWK(keyPair.publicKey);
    const none = `${b64({ alg: 'none', typ: 'dpop+jwt', jwk })}.${b64({
      htm: 'POST',
      htu: server.tokenEndpoint,
      jti: randomUUID(),
      iat: now(),
    })}.`;
    const r = await tokenRequest(none);
    assert.equal(r.body.error, 'invalid_dpop_proof');
    assert.match(r.body.error_description, /algorithm none is not allowed/);
  });
});

describe('refusals of crafted subject tokens of a trusted external issuer', () => {
  let server, ids, secrets, cfgB;
  const idp = {};

  // A subject token of the external issuer, signed (ES256 unless told) with its key.
  async function external(extra = {}, { alg = 'ES256' } = {}) {
    const key = alg === 'RS256' ? idp.rsa : idp.ec;
    return new jose.SignJWT(baseClaims(extra))
      .setProtectedHeader({ alg, typ: 'JWT', kid: alg === 'RS256' ? 'idp-rsa' : 'idp-ec' })
      .sign(key.privateKey);
  }
  const baseClaims = (extra = {}) => ({
    iss: IDP,
    sub: 'user-42',
    aud: server.issuer,
    scope: 'read',
    may_act: { sub: ids.B },
    jti: randomUUID(),
    iat: now(),
    exp: now() + 300,
    ...extra,
  });
  const exchange = (subjectToken, extra = {}) =>
    refusal(() =>
      client.genericGrantRequest(cfgB, GRANT_TOKEN_EXCHANGE, {
        subject_token: subjectToken,
        subject_token_type: TOKEN_TYPE_JWT,
        resource: API,
        ...extra,
      }),
    );
  const assertSubjectRefused = (e, reason) => {
    assert.equal(e.status, 400);
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'subject');
    assert.match(e.error_description, new RegExp(`^subject_token refused: ${reason}`));
  };

  before(async () => {
    idp.rsa = await jose.generateKeyPair('RS256', { extractable: true });
    idp.ec = await jose.generateKeyPair('ES256', { extractable: true });
    idp.rsaJwk = { ...(await jose.exportJWK(idp.rsa.publicKey)), kid: 'idp-rsa', alg: 'RS256', use: 'sig' };
    idp.ecJwk = { ...(await jose.exportJWK(idp.ec.publicKey)), kid: 'idp-ec', alg: 'ES256', use: 'sig' };
    idp.rsaPem = createPublicKey({ key: idp.rsaJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    server = await startCustody({
      files: {
        'trusted-issuers.json': [
          { issuer: IDP, jwks: { keys: [idp.rsaJwk, idp.ecJwk] }, algorithms: ['ES256', 'RS256'] },
        ],
      },
      env: { CUSTODY_OAUTH_TRUSTED_ISSUERS_FILE: (paths) => paths['trusted-issuers.json'] },
    });
    ({ ids, secrets } = await server.seed({ B: [['read', API]] }));
    cfgB = await server.config(ids.B, client.ClientSecretPost(secrets.B));
  });
  after(() => server?.stop());

  test('control: a valid external token (ES256 and RS256) is exchanged', async () => {
    for (const alg of ['ES256', 'RS256']) {
      const t = await client.genericGrantRequest(cfgB, GRANT_TOKEN_EXCHANGE, {
        subject_token: await external({}, { alg }),
        subject_token_type: TOKEN_TYPE_JWT,
        resource: API,
      });
      const c = claims(t.access_token);
      assert.equal(c.sub, 'user-42');
      assert.deepEqual(c.act, { sub: ids.B });
      assert.equal(c.aud, API);
      assert.equal(c.scope, 'read');
      assert.equal(c.iss, server.issuer);
      const rec = await server.admin('GET', `/api/v1/delegations/${c.jti}`);
      assert.equal(rec.subject_issuer, IDP);
    }
  });

  test('alg none', async () => {
    assertSubjectRefused(await exchange(unsigned(baseClaims())), 'algorithm none is not allowed');
  });

  test('alg confusion: HS256 with the issuer RSA public key (PEM) as the HMAC secret', async () => {
    const forged = hmacWithPublicKey(baseClaims(), idp.rsaPem, 'idp-rsa');
    assertSubjectRefused(await exchange(forged), 'algorithm "?HS256"? is not allowed: HMAC would use a public key');
  });

  test('wrong aud', async () => {
    const t = await external({ aud: 'https://somebody-else.example' });
    assertSubjectRefused(await exchange(t), 'audience mismatch');
  });

  test('expired', async () => {
    const t = await external({ iat: now() - 3700, exp: now() - 3600 });
    assertSubjectRefused(await exchange(t), 'token expired at');
  });

  test('nbf in the future', async () => {
    const t = await external({ nbf: now() + 3600, exp: now() + 7200 });
    assertSubjectRefused(await exchange(t), 'token is not valid before');
  });

  test('signed by a key the issuer does not publish', async () => {
    const rogue = await jose.generateKeyPair('ES256');
    const t = await new jose.SignJWT(baseClaims())
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'idp-ec' })
      .sign(rogue.privateKey);
    const e = await exchange(t);
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'subject');
    assert.match(e.error_description, /^subject_token refused: .*(signature|verif)/i);
  });

  test('an issuer that is not trusted', async () => {
    const t = await external({ iss: 'https://untrusted.example' });
    const e = await exchange(t);
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'subject');
    assert.match(e.error_description, /issuer "?https:\/\/untrusted.example"? is not trusted/);
  });

  test('an actor the external token neither lists as audience nor names in may_act', async () => {
    const t = await external({ may_act: { sub: 'agt_01JDSOMEBODYELSE0000000000' } });
    const e = await exchange(t);
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'may_act');
  });
});
