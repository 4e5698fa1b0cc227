// The gateway's relays must give their connections back: an answer relayed as an SSE stream
// ends the exchange like any other response, so the connection can serve the next request, close,
// or be drained at shutdown. Run with limits.max_connections small, so that a connection slot
// kept after its answer shows as refused connections within a few requests.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { PROTOCOL_VERSION, startGateway } from './mcp-harness.js';
import { startUpstream } from './mcp-upstream.js';

const MAX_CONNECTIONS = 16;

let up;
let gw;
let token;

before(async () => {
  up = await startUpstream();
  gw = await startGateway({
    routes: { files: up.mcpUrl },
    env: { CUSTODY_LIMITS_MAX_CONNECTIONS: MAX_CONNECTIONS },
    // Here the gateway's identity is named by CUSTODY_GATEWAY_IDENTITY (custodyd restarted with
    // it) rather than found by its label, as in the other files.
    restartWithIdentity: true,
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

// One request on a connection of its own (Connection: close); resolves the status, or the
// socket error's code.
function once(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'] }));
    });
    req.on('error', (e) => resolve({ status: e.code ?? String(e) }));
    req.end(body);
  });
}

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'conn', version: '1' } },
});

test('more SSE answers than limits.max_connections, each on its own connection, all served', async () => {
  const answers = [];
  for (let i = 0; i < MAX_CONNECTIONS * 2; i++)
    answers.push(
      await once(gw.routeUrl('files'), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
        },
        body: initialize,
      }),
    );
  assert.equal(answers[0].type, 'text/event-stream', 'the upstream answered with an SSE stream');
  assert.deepEqual(
    answers.map((a) => a.status),
    answers.map(() => 200),
    `answers: ${answers.map((a) => a.status).join(' ')}`,
  );
  assert.equal((await once(`${gw.custody.url}/healthz`)).status, 200);
});

test('an SDK client that closes without ending its session: the gateway lets go of the upstream GET stream', async () => {
  // client.close() aborts the client's GET (server-initiated) stream and sends no DELETE: the
  // gateway's relay of that stream has nothing to write, so it only learns of the departure if it
  // watches the caller's connection.
  const { client } = await gw.connect('files');
  await client.listTools();
  for (let i = 0; i < 50 && !up.getStreams.length; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(up.getStreams.length, 1, 'the SDK opened its GET stream through the gateway');
  await client.close();
  for (let i = 0; i < 150 && up.getStreams[0].closed === null; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(up.getStreams[0].closed !== null, 'the upstream GET stream was closed within 3 s of the client leaving');
});

test('SIGTERM after SSE answers and a dropped GET stream: custodyd exits without waiting out shutdown_drain_ms', async () => {
  const ms = await gw.custody.terminate(15000);
  assert.ok(ms !== null && ms < 3000, `exited ${ms} ms after SIGTERM (the drain is 10 s)`);
});
