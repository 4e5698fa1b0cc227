// DPoP at the MCP gateway (RFC 9449 §7, docs/mcp-gateway.md): a DPoP-bound token is accepted only
// with the DPoP scheme and a fresh proof for this request (htm, htu = the route URL, ath = the
// token's hash) signed by the token's key, each proof once; presented as Bearer it is refused.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import * as jose from 'jose';
import { initializeRequest, startGateway } from './mcp-harness.js';
import { startUpstream } from './mcp-upstream.js';

let up;
let gw;
let key; // the agent's DPoP key pair
let token; // DPoP-bound, for route "files"

async function proof(keyPair, { htm = 'POST', htu, ath } = {}) {
  const jwk = await jose.exportJWK(keyPair.publicKey);
  const claims = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
  if (ath) claims.ath = ath;
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .sign(keyPair.privateKey);
}

const hashOf = (t) => createHash('sha256').update(t).digest('base64url');

const initialize = initializeRequest('custody-interop-dpop');

before(async () => {
  up = await startUpstream();
  gw = await startGateway({ routes: { files: up.mcpUrl, other: up.mcpUrl } });
  key = await jose.generateKeyPair('ES256');
  const tokenUrl = `${gw.custody.url}/oauth2/token`;
  const r = await gw.custody.form(
    '/oauth2/token',
    { grant_type: 'client_credentials', scope: 'mcp', resource: gw.routeUrl('files') },
    {
      authorization: `Basic ${Buffer.from(`${gw.agent}:${gw.secret}`).toString('base64')}`,
      dpop: await proof(key, { htu: tokenUrl }),
    },
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'DPoP');
  token = r.body.access_token;
  assert.ok(jose.decodeJwt(token).cnf?.jkt, 'the token is DPoP-bound');
});

after(async () => {
  try {
    await gw?.stop();
  } finally {
    await up?.close();
  }
});

async function send(headers) {
  return gw.post('files', initialize, { headers });
}

function refusedBecause(r, status, says) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error, 'invalid_token', r.text);
  assert.match(r.body.error_description, says);
  assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
}

test('a DPoP-bound token with a proof for this request is accepted', async () => {
  const dpop = await proof(key, { htu: gw.routeUrl('files'), ath: hashOf(token) });
  const r = await send({ authorization: `DPoP ${token}`, dpop });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.headers.get('mcp-session-id'), 'the upstream opened a session');
});

test('the same token as a Bearer token is refused', async () => {
  refusedBecause(await send({ authorization: `Bearer ${token}` }), 401, /DPoP-bound/);
});

test('a DPoP-scheme request without a proof is refused', async () => {
  refusedBecause(await send({ authorization: `DPoP ${token}` }), 401, /needs a DPoP proof/);
});

test('a replayed proof is refused', async () => {
  const dpop = await proof(key, { htu: gw.routeUrl('files'), ath: hashOf(token) });
  assert.equal((await send({ authorization: `DPoP ${token}`, dpop })).status, 200);
  refusedBecause(await send({ authorization: `DPoP ${token}`, dpop }), 401, /already used/);
});

test('a proof for another token (ath) is refused', async () => {
  const dpop = await proof(key, { htu: gw.routeUrl('files'), ath: hashOf('another token') });
  refusedBecause(await send({ authorization: `DPoP ${token}`, dpop }), 401, /ath/);
});

test('a proof for another URL (htu) is refused', async () => {
  const dpop = await proof(key, { htu: gw.routeUrl('other'), ath: hashOf(token) });
  refusedBecause(await send({ authorization: `DPoP ${token}`, dpop }), 401, /htu/);
});

test('a proof signed by another key is refused', async () => {
  const other = await jose.generateKeyPair('ES256');
  const dpop = await proof(other, { htu: gw.routeUrl('files'), ath: hashOf(token) });
  refusedBecause(await send({ authorization: `DPoP ${token}`, dpop }), 401, /cnf\.jkt/);
});
