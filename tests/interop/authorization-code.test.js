// OAuth 2.1 authorization code with PKCE, driven by openid-client v6 as an MCP client would:
// discovery, buildAuthorizationUrl (S256, state, RFC 8707 resource), the consent form answered by
// the human's owner-role token (plain fetch, as a browser would post it), authorizationCodeGrant
// (which checks state and the RFC 9207 iss), and the access token verified with jose against the
// JWKS: sub = the human, act = the client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { refusal, startCustody } from './harness.js';

const RESOURCE = 'https://mcp.example.com/mcp';
const REDIRECT = 'http://127.0.0.1:9/callback';

const unescape = (s) =>
  s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');

// The consent form's hidden fields, in order.
function hiddenFields(html) {
  const out = [];
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    out.push([unescape(m[1]), unescape(m[2])]);
  return out;
}

describe('authorization code with PKCE (openid-client)', () => {
  let server, human, ownerToken, confidential, secret, publicClient;

  before(async () => {
    server = await startCustody();
    const owner = await server.human('Client Developer');
    human = await server.human('Ada Lovelace');
    await server.entitle(human, 'tools:read', RESOURCE);
    ownerToken = (
      await server.admin('POST', '/api/v1/tokens', { role: 'owner', identity_id: human })
    ).token;
    confidential = await server.agent(owner, {
      name: 'MCP client',
      labels: { 'custody.dev/redirect-uris': REDIRECT },
    });
    secret = await server.secret(confidential);
    publicClient = await server.agent(owner, {
      name: 'public MCP client',
      labels: { 'custody.dev/redirect-uris': REDIRECT, 'custody.dev/public-client': 'true' },
    });
  });
  after(() => server?.stop());

  // Opens the authorization URL, approves as the human, and returns the redirect it answers.
  async function approve(url) {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy'), /^default-src 'none'; form-action 'self'/);
    const form = new URLSearchParams(hiddenFields(await page.text()));
    form.append('token', ownerToken);
    form.append('decision', 'approve');
    const res = await fetch(`${server.url}/oauth2/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    assert.equal(res.status, 303, await res.text());
    return new URL(res.headers.get('location'));
  }

  async function authorize(config) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'tools:read',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      resource: RESOURCE,
    });
    assert.equal(url.origin + url.pathname, `${server.issuer}/oauth2/authorize`);
    return { verifier, state, callback: await approve(url) };
  }

  test('confidential client: code, PKCE, token verified against the JWKS', async () => {
    const config = await client.discovery(new URL(server.url), confidential, secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const md = config.serverMetadata();
    assert.equal(md.authorization_endpoint, `${server.issuer}/oauth2/authorize`);
    assert.deepEqual(md.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(md.response_types_supported, ['code']);
    assert.equal(md.authorization_response_iss_parameter_supported, true);

    const { verifier, state, callback } = await authorize(config);
    assert.equal(callback.searchParams.get('iss'), server.issuer);
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: RESOURCE },
    );
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'tools:read');
    assert.equal(tokens.refresh_token, undefined);

    const jwks = jose.createRemoteJWKSet(new URL(md.jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
      issuer: server.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, human);
    assert.equal(payload.client_id, confidential);
    assert.deepEqual(payload.act, { sub: confidential });
    assert.equal(payload.scope, 'tools:read');
    assert.ok(payload.exp > payload.iat);

    // The same code again: refused, and the token it gave is revoked (RFC 6749 §4.1.2).
    const again = await refusal(() =>
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      }),
    );
    assert.equal(again.error, 'invalid_grant');
    assert.equal(again.bound, 'code_reuse');
    const seen = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(seen.active, false);
  });

  test('public client (token_endpoint_auth_method none) redeems with PKCE alone', async () => {
    const config = await client.discovery(new URL(server.url), publicClient, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const { verifier, state, callback } = await authorize(config);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.equal(jose.decodeJwt(tokens.access_token).client_id, publicClient);
    // Without the verifier's match nothing is issued.
    const other = await authorize(config);
    const wrong = await refusal(() =>
      client.authorizationCodeGrant(config, other.callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: other.state,
      }),
    );
    assert.equal(wrong.error, 'invalid_grant');
  });
});
