// What the MCP gateway refuses, and how (docs/mcp-gateway.md, "Requests"): raw HTTP with fetch,
// so that each answer's status, headers and JSON-RPC error are checked exactly; and what it
// answers when the upstream is down, too slow or talks garbage.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { JSON_AND_SSE, answer, startGateway } from './mcp-harness.js';
import { deadUrl, startUpstream } from './mcp-upstream.js';

const UPSTREAM_TIMEOUT_MS = 1000;
const MAX_MESSAGE_BYTES = 65536;

let up;
let gw;
let token; // the agent's token for route "files"

before(async () => {
  up = await startUpstream({ slowMs: 20000 });
  gw = await startGateway({
    routes: {
      files: up.mcpUrl,
      slow: up.slowUrl,
      garbage: up.garbageUrl,
      'garbage-sse': up.garbageSseUrl,
      down: await deadUrl(),
    },
    agentTools: ['echo', 'export', 'slow_report'],
    env: {
      CUSTODY_GATEWAY_UPSTREAM_TIMEOUT_MS: UPSTREAM_TIMEOUT_MS,
      // A request may be as large as the larger of the two (docs/mcp-gateway.md, Configuration).
      CUSTODY_GATEWAY_MAX_MESSAGE_BYTES: MAX_MESSAGE_BYTES,
      CUSTODY_LIMITS_MAX_BODY_BYTES: MAX_MESSAGE_BYTES,
    },
  });
  token = await gw.token({ resource: gw.routeUrl('files') });
});

after(async () => {
  // The upstream closes even when custodyd did not stop cleanly (that error still fails the file).
  try {
    await gw?.stop();
  } finally {
    await up?.close();
  }
});

// WWW-Authenticate: Bearer k="v", k2="v2" -> {scheme, k: v, k2: v2}
function challenge(header) {
  assert.ok(header, 'WWW-Authenticate is set');
  const m = /^(\S+)\s*(.*)$/.exec(header);
  const out = { scheme: m[1] };
  for (const p of m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) out[p[1]] = p[2];
  return out;
}

const call = (id, name, args = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const ping = (id) => ({ jsonrpc: '2.0', id, method: 'ping' });

// A JSON-RPC error answer: status, code, and the message checked against `re`.
function assertRpcError(r, { status, code, id, re }) {
  assert.equal(r.status, status, `HTTP ${r.status}: ${r.text}`);
  const msg = answer(r.body, id) ?? r.body;
  assert.equal(msg?.jsonrpc, '2.0', r.text);
  assert.equal(msg.error?.code, code, r.text);
  if (id !== undefined) assert.equal(msg.id, id);
  if (re) assert.match(msg.error.message, re);
  return msg.error;
}

test('no token: 401 with the protected resource metadata and the scope', async () => {
  const r = await gw.post('files', ping(1));
  assert.equal(r.status, 401);
  const c = challenge(r.headers.get('www-authenticate'));
  assert.equal(c.scheme, 'Bearer');
  assert.equal(c.resource_metadata, gw.prmUrl('files'));
  assert.equal(c.scope, 'mcp');
  assert.equal(c.error, undefined, 'no error code without a token (RFC 6750 §3.1)');
});

test('a token for another resource: 401 invalid_token saying so', async () => {
  const other = await gw.token({ resource: gw.routeUrl('slow') });
  const r = await gw.post('files', ping(1), { token: other });
  assert.equal(r.status, 401);
  const c = challenge(r.headers.get('www-authenticate'));
  assert.equal(c.error, 'invalid_token');
  assert.match(c.error_description, /audience|resource/i);
  assert.equal(c.resource_metadata, gw.prmUrl('files'));
  // And a token for custody itself (no resource) is not one for the route either.
  const plain = await gw.custody.form(
    '/oauth2/token',
    { grant_type: 'client_credentials', scope: 'mcp', resource: gw.routeUrl('garbage') },
    { authorization: `Basic ${Buffer.from(`${gw.agent}:${gw.secret}`).toString('base64')}` },
  );
  assert.equal(plain.status, 200);
  const r2 = await gw.post('files', ping(2), { token: plain.body.access_token });
  assert.equal(r2.status, 401);
  assert.equal(challenge(r2.headers.get('www-authenticate')).error, 'invalid_token');
});

test('a garbled or revoked token: 401 invalid_token', async () => {
  const garbled = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const r = await gw.post('files', ping(1), { token: garbled });
  assert.equal(r.status, 401);
  assert.equal(challenge(r.headers.get('www-authenticate')).error, 'invalid_token');

  const doomed = await gw.token({ resource: gw.routeUrl('files') });
  const revoked = await gw.custody.form(
    '/oauth2/revoke',
    { token: doomed },
    { authorization: `Basic ${Buffer.from(`${gw.agent}:${gw.secret}`).toString('base64')}` },
  );
  assert.equal(revoked.status, 200);
  const r2 = await gw.post('files', ping(2), { token: doomed });
  assert.equal(r2.status, 401);
  const c = challenge(r2.headers.get('www-authenticate'));
  assert.equal(c.error, 'invalid_token');
  assert.match(c.error_description, /revoked/i);
});

test('a token without the route\'s scope: 403 insufficient_scope', async () => {
  await gw.custody.entitle(gw.agent, 'files:read', gw.routeUrl('files'));
  const narrow = await gw.token({ resource: gw.routeUrl('files'), scope: 'files:read' });
  const r = await gw.post('files', ping(1), { token: narrow });
  assert.equal(r.status, 403);
  const c = challenge(r.headers.get('www-authenticate'));
  assert.equal(c.error, 'insufficient_scope');
  assert.equal(c.scope, 'mcp');
  assert.equal(c.resource_metadata, gw.prmUrl('files'));
});

test('an unknown route: 404', async () => {
  const res = await fetch(`${gw.custody.url}/mcp/no-such-route`, {
    method: 'POST',
    headers: { accept: JSON_AND_SSE, 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(ping(1)),
  });
  assert.equal(res.status, 404);
  const prm = await fetch(`${gw.custody.url}/.well-known/oauth-protected-resource/mcp/no-such-route`);
  assert.equal(prm.status, 404);
});

test('Accept without text/event-stream: 406; a body that is not application/json: 415', async () => {
  const r = await gw.post('files', ping(1), { token, headers: { accept: 'application/json' } });
  assert.equal(r.status, 406, r.text);
  const r2 = await gw.post('files', ping(2), { token, headers: { 'content-type': 'text/plain' } });
  assert.equal(r2.status, 415, r2.text);
});

test('malformed JSON: 400 -32700', async () => {
  const r = await gw.post('files', null, { token, raw: '{"jsonrpc": "2.0", "id": 1, "method": "ping"' });
  const err = assertRpcError(r, { status: 400, code: -32700 });
  assert.equal(r.body.id, null);
  assert.ok(err.message);
});

test('a batch: 400 -32600', async () => {
  const r = await gw.post('files', [ping(1), ping(2)], { token });
  assertRpcError(r, { status: 400, code: -32600, re: /batch/i });
});

test('not JSON-RPC 2.0: 400 -32600', async () => {
  const r = await gw.post('files', { jsonrpc: '1.0', id: 1, method: 'ping' }, { token });
  assertRpcError(r, { status: 400, code: -32600 });
  const r2 = await gw.post('files', { id: 1, method: 'ping' }, { token });
  assertRpcError(r2, { status: 400, code: -32600 });
});

test('a message over gateway.max_message_bytes: 413', async () => {
  const session = await gw.session('files', token, { list: true });
  const before = up.requests.length;
  // Over gateway.max_message_bytes and limits.max_body_bytes (both 64 KiB here).
  const big = call(1, 'echo', { text: 'x'.repeat(MAX_MESSAGE_BYTES + 1024) });
  const r = await gw.post('files', big, { token, session });
  assert.equal(r.status, 413, r.text.slice(0, 500));
  assert.equal(up.requests.length, before, 'not forwarded');
  // Just under it: forwarded.
  const fits = call(2, 'echo', { text: 'x'.repeat(MAX_MESSAGE_BYTES - 1024) });
  const ok = await gw.post('files', fits, { token, session });
  assert.equal(ok.status, 200, ok.text.slice(0, 500));
  assert.equal(answer(ok.body, 2)?.result?.content?.[0]?.text?.length, MAX_MESSAGE_BYTES - 1024);
});

test('a method the gateway does not forward: -32601', async () => {
  const session = await gw.session('files', token);
  const before = up.requests.length;
  const r = await gw.post('files', { jsonrpc: '2.0', id: 5, method: 'tools/delete', params: { name: 'echo' } }, {
    token,
    session,
  });
  assertRpcError(r, { status: 200, code: -32601, id: 5, re: /tools\/delete/ });
  assert.equal(up.requests.length, before, 'not forwarded');
});

test('sessions: unknown and another caller\'s id are 404 -32001; the upstream never sees them', async () => {
  const session = await gw.session('files', token);
  const ok = await gw.post('files', ping(1), { token, session });
  assert.equal(ok.status, 200, ok.text);

  const unknown = await gw.post('files', ping(2), { token, session: randomUUID() });
  assertRpcError(unknown, { status: 404, code: -32001, re: /session not found/i });

  const second = await gw.secondAgent('files');
  const theirs = await gw.token({ resource: gw.routeUrl('files') }, { clientId: second.id, clientSecret: second.secret });
  const seenBefore = up.requests.filter((r) => r.sessionId === session).length;
  const foreign = await gw.post('files', ping(3), { token: theirs, session });
  assertRpcError(foreign, { status: 404, code: -32001, re: /session not found/i });
  const foreignDelete = await fetch(gw.routeUrl('files'), {
    method: 'DELETE',
    headers: { authorization: `Bearer ${theirs}`, 'mcp-session-id': session },
  });
  assert.equal(foreignDelete.status, 404);
  assert.equal(up.requests.filter((r) => r.sessionId === session).length, seenBefore, 'not forwarded');

  // The owner of the session still uses it, ends it, and then it is unknown.
  assert.equal((await gw.post('files', ping(4), { token, session })).status, 200);
  const del = await fetch(gw.routeUrl('files'), {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}`, 'mcp-session-id': session },
  });
  assert.equal(del.status, 200);
  const gone = await gw.post('files', ping(5), { token, session });
  assertRpcError(gone, { status: 404, code: -32001 });
});

test('sessions: a request without Mcp-Session-Id after initialize is 400 (MCP transport spec)', async () => {
  // docs/mcp-gateway.md does not say; the MCP spec (2025-11-25, "Session Management") says a
  // server that requires a session answers 400 to a request without one, and the SDK's upstream
  // does: the gateway relays it (or answers the same itself).
  await gw.session('files', token, { list: true }); // the inventory knows echo (waits for it)
  const r = await gw.post('files', call(9, 'echo', { text: 'no session' }), { token });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body?.error?.code, -32000, r.text);
});

test('upstream down: -32000 saying it is unreachable; a notification gets 502', async () => {
  const down = await gw.token({ resource: gw.routeUrl('down') });
  const t0 = Date.now();
  const r = await gw.post(
    'down',
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    },
    { token: down },
  );
  assertRpcError(r, { status: 200, code: -32000, id: 1, re: /unreachable|refused|connect/i });
  assert.ok(Date.now() - t0 < 5000);
  const n = await gw.post('down', { jsonrpc: '2.0', method: 'notifications/initialized' }, { token: down });
  assert.equal(n.status, 502, n.text);
});

test('upstream slower than gateway.upstream_timeout_ms: -32000 timeout, connection not left hanging', async () => {
  const slow = await gw.token({ resource: gw.routeUrl('slow') });
  const session = await gw.session('slow', slow, { list: true });
  const t0 = Date.now();
  const r = await gw.post('slow', call(3, 'echo', { text: 'too slow' }), { token: slow, session });
  const elapsed = Date.now() - t0;
  assertRpcError(r, { status: 200, code: -32000, id: 3, re: /time/i });
  assert.ok(elapsed >= UPSTREAM_TIMEOUT_MS * 0.9, `answered after ${elapsed} ms`);
  assert.ok(elapsed < UPSTREAM_TIMEOUT_MS + 3000, `answered after ${elapsed} ms`);
  // The gateway gave up on the upstream request: its connection was closed, well before the
  // upstream would have answered.
  const closed = async () => up.slowClosed.some((c) => c.id === 3);
  for (let i = 0; i < 100 && !(await closed()); i++) await new Promise((res) => setTimeout(res, 30));
  assert.ok(await closed(), 'the gateway closed the upstream connection it gave up on');
  // The route and the session still work.
  const p = await gw.post('slow', ping(4), { token: slow, session });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(answer(p.body, 4).result, {});
});

test('upstream garbage: -32000 saying so', async () => {
  const garbage = await gw.token({ resource: gw.routeUrl('garbage') });
  const session = await gw.session('garbage', garbage, { list: true });
  const r = await gw.post('garbage', call(6, 'echo', { text: 'x' }), { token: garbage, session });
  assertRpcError(r, { status: 200, code: -32000, id: 6, re: /malformed|garbage|invalid|not json|parse/i });
});

test('upstream garbage in an event stream: the stream carries -32000 for the call', async () => {
  const garbage = await gw.token({ resource: gw.routeUrl('garbage-sse') });
  const session = await gw.session('garbage-sse', garbage, { list: true });
  const r = await gw.post('garbage-sse', call(8, 'echo', { text: 'x' }), { token: garbage, session }).catch(
    (err) => ({ status: 'unreadable', text: String(err) }),
  );
  assert.equal(r.status, 200, r.text);
  // Whatever the gateway does with the event that is not JSON, the caller must learn that its
  // call failed rather than see the stream end without an answer.
  const msg = answer(r.body, 8);
  assert.ok(msg, `an answer to id 8 in ${r.text}`);
  assert.equal(msg.error?.code, -32000, r.text);
  assert.match(msg.error.message, /malformed|garbage|invalid|not json|parse|without/i);
});

test('refusals before forwarding are audited as gateway.refused', async () => {
  const refused = await gw.audit('gateway.refused');
  const seen = refused.map((e) => `${e.outcome} ${e.details?.status} ${e.details?.reason}`);
  const has = (re) => assert.ok(seen.some((x) => re.test(x)), `${re} in ${JSON.stringify(seen, null, 1)}`);
  has(/^unauthenticated 401 /); // no token
  has(/^invalid_token 401 .*not for/); // another resource
  has(/^insufficient_scope 403 /);
  has(/^invalid_argument 400 .*not JSON/); // -32700
  has(/^invalid_argument 400 .*batch/i); // -32600
  has(/^invalid_argument 200 .*not forwarded/); // -32601
  has(/^not_found 404 Session not found/);
  has(/^permission_denied 404 Session not found/); // another caller's session
});


test('Origin: a browser page of another origin gets 403; the issuer\'s own origin passes', async () => {
  const evil = await gw.post('files', ping(40), { token, headers: { origin: 'https://evil.example' } });
  assertRpcError(evil, { status: 403, code: -32000, re: /Origin https:\/\/evil\.example is not allowed/ });
  const own = await gw.post('files', ping(41), { token, headers: { origin: gw.custody.url } });
  assert.notEqual(own.status, 403, own.text);
});
