// A trusted external issuer whose keys custody fetches from its jwks_uri (docs/oauth.md, "Trusted
// external issuers"): a loopback HTTP server plays the identity provider and `jose` signs its
// tokens. What is checked: a token of the published key is exchanged; after the provider rotates
// to a new key, the first token with the new kid is refused with the reason and makes custody
// fetch again, and the retry is exchanged; a provider that never answered, or whose keys are older
// than jwks_max_age_seconds, or whose JWK Set is larger than jwks_max_bytes, gets its tokens
// refused with the reason (fail closed). An issuer configured by "discovery" has its jwks_uri read
// from its OpenID configuration, which must name that very issuer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import * as jose from 'jose';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_JWT, claims, refusal, startCustody } from './harness.js';

const API = 'https://api.example.com';
const IDP = 'https://idp.jwks-uri.example';
const DOWN = 'https://idp.down.example';
const STALE = 'https://idp.stale.example';
const BIG = 'https://idp.big.example';
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An identity provider's JWKS endpoint on 127.0.0.1: serves `published` at any path, counts the
// fetches and keeps their paths; `down` makes it answer 503. Its OpenID configuration, once set in `discovery`, is served at
// /.well-known/openid-configuration; `idp.base` is its origin, usable as an issuer.
async function startIdp() {
  const idp = { published: { keys: [] }, fetches: 0, paths: [], down: false, discovery: null };
  idp.server = createServer((req, res) => {
    if (idp.discovery && req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(idp.discovery));
      return;
    }
    idp.fetches += 1;
    idp.paths.push(req.url);
    if (idp.down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/jwk-set+json' });
    res.end(JSON.stringify(idp.published));
  });
  await new Promise((resolve) => idp.server.listen(0, '127.0.0.1', resolve));
  idp.base = `http://127.0.0.1:${idp.server.address().port}`;
  idp.url = `${idp.base}/jwks`;
  return idp;
}

async function signingKey(kid) {
  const pair = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { ...pair, kid, jwk };
}

describe('a trusted issuer whose keys come from its jwks_uri', () => {
  let server, ids, cfgB, idp, stale, big, disc, liar, plain, first;

  // A token of `issuer` for custody, that B may exchange, signed with `key`.
  const external = (key, issuer = IDP) =>
    new jose.SignJWT({ sub: 'user-7', aud: server.issuer, scope: 'read', may_act: { sub: ids.B } })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid })
      .setIssuer(issuer)
      .setJti(randomUUID())
      .setIssuedAt(now())
      .setExpirationTime(now() + 300)
      .sign(key.privateKey);
  const exchange = (subjectToken) =>
    client.genericGrantRequest(cfgB, GRANT_TOKEN_EXCHANGE, {
      subject_token: subjectToken,
      subject_token_type: TOKEN_TYPE_JWT,
      resource: API,
    });
  const assertRefused = (e, reason) => {
    assert.equal(e.status, 400);
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.bound, 'subject');
    assert.match(e.error_description, reason);
  };

  before(async () => {
    idp = await startIdp();
    stale = await startIdp();
    first = await signingKey('idp-2026-11');
    idp.published = { keys: [first.jwk] };
    stale.published = { keys: [first.jwk] };
    // Eight keys make a JWK Set of about 1.6 KB, over the 1 KiB this issuer allows.
    big = await startIdp();
    big.keys = [];
    for (let i = 0; i < 8; i++) big.keys.push(await signingKey(`big-${i}`));
    big.published = { keys: big.keys.map((k) => k.jwk) };
    assert.ok(JSON.stringify(big.published).length > 1024);
    // Issuers found by discovery: one whose configuration names it, one whose configuration names
    // another issuer, and one whose configuration names a plain-http jwks_uri.
    disc = await startIdp();
    disc.published = { keys: [first.jwk] };
    disc.discovery = { issuer: disc.base, jwks_uri: `${disc.base}/keys` };
    liar = await startIdp();
    liar.published = { keys: [first.jwk] };
    liar.discovery = { issuer: 'https://someone-else.example', jwks_uri: `${liar.base}/keys` };
    plain = await startIdp();
    plain.discovery = { issuer: plain.base, jwks_uri: 'http://keys.idp.example/jwks' };
    // Nothing listens on the "down" provider's port: a port taken, then released.
    const closed = await startIdp();
    const downUrl = closed.url;
    await new Promise((resolve) => closed.server.close(resolve));
    server = await startCustody({
      files: {
        'trusted-issuers.json': [
          { issuer: IDP, jwks_uri: idp.url, jwks_refetch_cooldown_seconds: 0 },
          { issuer: DOWN, jwks_uri: downUrl, jwks_timeout_seconds: 1 },
          { issuer: STALE, jwks_uri: stale.url, jwks_refresh_seconds: 1, jwks_max_age_seconds: 2 },
          { issuer: BIG, jwks_uri: big.url, jwks_max_bytes: 1024 },
          { issuer: disc.base, discovery: true },
          { issuer: liar.base, discovery: true },
          { issuer: plain.base, discovery: true },
        ],
      },
      env: { CUSTODY_OAUTH_TRUSTED_ISSUERS_FILE: (paths) => paths['trusted-issuers.json'] },
    });
    let secrets;
    ({ ids, secrets } = await server.seed({ B: [['read', API]] }));
    cfgB = await server.config(ids.B, client.ClientSecretPost(secrets.B));
  });
  after(async () => {
    await server?.stop();
    idp?.server.close();
    stale?.server.close();
    big?.server.close();
    disc?.server.close();
    liar?.server.close();
    plain?.server.close();
  });

  test('the key it publishes verifies its tokens, fetched once at start-up', async () => {
    assert.ok(idp.fetches >= 1);
    const t = await exchange(await external(first));
    const c = claims(t.access_token);
    assert.equal(c.sub, 'user-7');
    assert.deepEqual(c.act, { sub: ids.B });
    const rec = await server.admin('GET', `/api/v1/delegations/${c.jti}`);
    assert.equal(rec.subject_issuer, IDP);
  });

  test('after a rotation the new kid is refused once, fetched, and then exchanged', async () => {
    const next = await signingKey('idp-2026-12');
    idp.published = { keys: [next.jwk] };
    const token = await external(next);
    const before = idp.fetches;
    assertRefused(
      await refusal(() => exchange(token)),
      /^subject_token refused: .*idp-2026-12.*; fetching the issuer's keys again from http:\/\/127\.0\.0\.1:\d+\/jwks, retry shortly$/,
    );
    let exchanged = null;
    for (let i = 0; i < 50 && !exchanged; i++) {
      await sleep(100);
      exchanged = await exchange(token).catch(() => null);
    }
    assert.ok(exchanged, 'the retry after the fetch was refused');
    assert.ok(idp.fetches > before);
    assert.equal(claims(exchanged.access_token).sub, 'user-7');
    // The withdrawn key no longer verifies.
    assertRefused(await refusal(async () => exchange(await external(first))), /idp-2026-11/);
  });

  test('an issuer whose jwks_uri never answered: refused with the fetch error', async () => {
    const key = await signingKey('down-1');
    assertRefused(
      await refusal(async () => exchange(await external(key, DOWN))),
      /^subject_token refused: the keys of issuer https:\/\/idp\.down\.example \(http:\/\/127\.0\.0\.1:\d+\/jwks\) have not been fetched: cannot fetch .*connection refused/,
    );
  });

  test('a JWK Set larger than jwks_max_bytes is not taken', async () => {
    assert.ok(big.fetches >= 1);
    assertRefused(
      await refusal(async () => exchange(await external(big.keys[0], BIG))),
      /^subject_token refused: the keys of issuer https:\/\/idp\.big\.example \(http:\/\/127\.0\.0\.1:\d+\/jwks\) have not been fetched: cannot fetch .*: response body larger than 1024 bytes/,
    );
  });

  test('discovery: the jwks_uri its OpenID configuration names verifies its tokens', async () => {
    assert.ok(disc.fetches >= 1);
    assert.deepEqual([...new Set(disc.paths)], ['/keys'], 'the keys came from the named jwks_uri');
    const c = claims((await exchange(await external(first, disc.base))).access_token);
    assert.equal(c.sub, 'user-7');
    const rec = await server.admin('GET', `/api/v1/delegations/${c.jti}`);
    assert.equal(rec.subject_issuer, disc.base);
  });

  test('discovery: a configuration that names another issuer is not followed', async () => {
    assert.equal(liar.fetches, 0, 'its jwks_uri was fetched');
    assertRefused(
      await refusal(async () => exchange(await external(first, liar.base))),
      /^subject_token refused: the keys of issuer http:\/\/127\.0\.0\.1:\d+ \(http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration\) have not been fetched: http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration names issuer "https:\/\/someone-else\.example", not http:\/\/127\.0\.0\.1:\d+$/,
    );
  });

  test('discovery: a jwks_uri that is not https is not fetched', async () => {
    assertRefused(
      await refusal(async () => exchange(await external(first, plain.base))),
      /^subject_token refused: the keys of issuer http:\/\/127\.0\.0\.1:\d+ .* have not been fetched: http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: its jwks_uri http:\/\/keys\.idp\.example\/jwks is not https$/,
    );
  });

  test('keys older than jwks_max_age_seconds are not used', async () => {
    const t = await exchange(await external(first, STALE));
    assert.equal(claims(t.access_token).sub, 'user-7');
    stale.down = true;
    await sleep(3500);
    assertRefused(
      await refusal(async () => exchange(await external(first, STALE))),
      /^subject_token refused: the keys of issuer https:\/\/idp\.stale\.example .* were fetched \d+ s ago, longer than its jwks_max_age_seconds allows; the last fetch failed: .*answered HTTP 503/,
    );
    stale.down = false;
  });
});
