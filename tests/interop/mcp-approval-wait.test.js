// A call held for a human's approval waits on its open event stream when the client asked for
// progress (docs/mcp-gateway.md, "Waiting for the approver"): the official SDK client calls with
// onprogress, hears which approval it waits for, and gets the tool's result as soon as the owner
// approves; a denial, the wait's deadline, a client that goes away and a token revoked meanwhile
// each end the wait with their own answer and audit event.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  JSON_AND_SSE,
  PROTOCOL_VERSION,
  rpcError,
  rpcErrorText as message,
  sseMessages,
  startGateway,
} from './mcp-harness.js';
import { startUpstream } from './mcp-upstream.js';

const POLICY = `
@id("interop/export-needs-approval") @approval("data export")
forbid (principal, action == Action::"call_tool", resource is Tool)
when { resource.name == "export" };
`;
const WAIT_S = 3;
const HEARTBEAT_MS = 250;

let up;
let gw;
let mcp;

before(async () => {
  up = await startUpstream();
  gw = await startGateway({
    routes: { files: up.mcpUrl },
    agentTools: ['echo', 'export'],
    env: {
      CUSTODY_GATEWAY_APPROVAL_WAIT_SECONDS: String(WAIT_S),
      CUSTODY_GATEWAY_APPROVAL_HEARTBEAT_MS: String(HEARTBEAT_MS),
      // Ten minutes: only the decision itself (in this process) can end a wait in time.
      CUSTODY_GATEWAY_APPROVAL_POLL_MS: '600000',
    },
  });
  await gw.pushPolicy(POLICY);
  mcp = await gw.connect('files');
  await mcp.client.listTools();
  await gw.inventoryRecorded('files', (inv) => inv.export);
});

after(async () => {
  try {
    await gw?.stop();
  } finally {
    await up?.close();
  }
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const APPROVAL_ID = /apr_[A-Za-z0-9]+/;

// An SDK call of export that asks for progress: {result, progress, approvalId, t0}.
function waitingCall(args) {
  const progress = [];
  let found;
  const approvalId = new Promise((resolve) => (found = resolve));
  const t0 = Date.now();
  const result = mcp.client.callTool({ name: 'export', arguments: args }, undefined, {
    onprogress: (p) => {
      progress.push({ ...p, at: Date.now() });
      const m = APPROVAL_ID.exec(p.message ?? '');
      if (m) found(m[0]);
    },
    resetTimeoutOnProgress: true,
  });
  result.catch(() => {}); // awaited by the test; not an unhandled rejection meanwhile
  return { result, progress, approvalId, t0 };
}

async function approvalStatus(id) {
  return (await gw.custody.admin('GET', `/api/v1/approvals/${id}`)).status;
}

// The gateway.approval_wait event of approval `id`, waiting up to 3 s for it.
async function waitEvent(id) {
  const end = Date.now() + 3000;
  for (;;) {
    const e = (await gw.audit('gateway.approval_wait')).find((x) => x.details?.approval === id);
    if (e || Date.now() > end) return e;
    await sleep(25);
  }
}

// A raw tools/call of export with a progressToken, on a session of `token`; returns the open
// response's reader and the text of its first chunk.
async function rawWaitingCall(token, args, { id, progressToken, signal } = {}) {
  const session = await gw.session('files', token);
  const res = await fetch(gw.routeUrl('files'), {
    method: 'POST',
    signal,
    headers: {
      accept: JSON_AND_SSE,
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'mcp-session-id': session,
      'mcp-protocol-version': PROTOCOL_VERSION,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'export', arguments: args, _meta: { progressToken } },
    }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const { value } = await reader.read();
  return { reader, decoder, first: decoder.decode(value, { stream: true }) };
}

// The JSON-RPC messages in the rest of an event stream.
async function readRest({ reader, decoder, first }) {
  let text = first;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return sseMessages(text);
}

test('a held call that asked for progress waits on its stream, and the approval lets it through at once', async () => {
  const before = up.calls('tools/call').length;
  const call = waitingCall({ dataset: 'customers', format: 'parquet' });
  const id = await call.approvalId;
  assert.match(call.progress[0].message, /export.*waits for a human's approval/);
  assert.ok(call.progress[0].message.includes(gw.owner), 'the first notification names the approver');

  // Heartbeats while it waits; the upstream has not seen the call.
  await sleep(HEARTBEAT_MS * 3 + 100);
  assert.ok(call.progress.length >= 3, JSON.stringify(call.progress));
  assert.match(call.progress.at(-1).message, /still waits for approval apr_/);
  const values = call.progress.map((p) => p.progress);
  assert.deepEqual(values, [...values].sort((a, b) => a - b), 'progress only increases');
  assert.equal(up.calls('tools/call').length, before, 'not forwarded while it waits');
  assert.equal(await approvalStatus(id), 'pending');

  const approvedAt = Date.now();
  const approved = await gw.asOwner('POST', `/api/v1/approvals/${id}/approve`, { reason: 'interop: wait' });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const result = await call.result;
  const latency = Date.now() - approvedAt;
  assert.deepEqual(result.content, [{ type: 'text', text: 'exported customers as parquet' }]);
  // The poll is ten minutes away: the decision reached the waiting call directly.
  assert.ok(latency < 1500, `answered ${latency} ms after the approval`);
  assert.equal(up.calls('tools/call').length, before + 1);
  assert.equal(await approvalStatus(id), 'used', 'the waiting call used the approval');

  const ended = await waitEvent(id);
  assert.equal(ended?.outcome, 'approved');
  assert.ok(ended.details.waited_ms >= HEARTBEAT_MS * 3, JSON.stringify(ended.details));
  const permits = await gw.audit('gateway.call');
  assert.ok(permits.some((e) => e.outcome === 'permit' && e.details.approval_used === id));
});

test('a denied approval ends the wait with -32003 approval_denied; the upstream never sees the call', async () => {
  const before = up.calls('tools/call').length;
  const call = waitingCall({ dataset: 'orders' });
  const id = await call.approvalId;
  const denied = await gw.asOwner('POST', `/api/v1/approvals/${id}/deny`, { reason: 'interop: no' });
  assert.equal(denied.status, 200, JSON.stringify(denied.body));
  const err = await rpcError(call.result);
  assert.equal(err.code, -32003);
  assert.equal(err.data?.custody?.decision, 'deny');
  assert.equal(err.data.custody.reason, 'approval_denied');
  assert.match(message(err), new RegExp(`denied approval ${id}`));
  assert.equal(up.calls('tools/call').length, before);
  assert.equal((await waitEvent(id))?.outcome, 'denied');
});

test('an undecided approval ends the wait after gateway.approval_wait_seconds with -32004; an approved retry then goes through', async () => {
  const call = waitingCall({ dataset: 'invoices' });
  const id = await call.approvalId;
  const err = await rpcError(call.result);
  const elapsed = Date.now() - call.t0;
  assert.ok(elapsed >= WAIT_S * 1000 * 0.9, `answered after ${elapsed} ms`);
  assert.ok(elapsed < WAIT_S * 1000 + 3000, `answered after ${elapsed} ms`);
  assert.equal(err.code, -32004);
  assert.equal(err.data?.custody?.decision, 'approval_required');
  assert.equal(err.data.custody.approval.id, id);
  assert.match(message(err), new RegExp(`not decided within ${WAIT_S} s`));
  assert.equal(await approvalStatus(id), 'pending', 'the approval outlives the wait');
  assert.equal((await waitEvent(id))?.outcome, 'timed_out');

  // Approved later, the same call (without waiting this time) goes through once.
  const approved = await gw.asOwner('POST', `/api/v1/approvals/${id}/approve`, {});
  assert.equal(approved.status, 200);
  const result = await mcp.client.callTool({ name: 'export', arguments: { dataset: 'invoices' } });
  assert.deepEqual(result.content, [{ type: 'text', text: 'exported invoices as csv' }]);
  assert.equal(await approvalStatus(id), 'used');
});

test('a client that goes away while it waits ends the wait (client_gone); the approval stays pending', async () => {
  const token = await gw.token({ resource: gw.routeUrl('files') });
  const abort = new AbortController();
  const open = await rawWaitingCall(token, { dataset: 'gone' }, { id: 7, progressToken: 'p-gone', signal: abort.signal });
  assert.match(open.first, /notifications\/progress/);
  assert.match(open.first, /"progressToken":"p-gone"/);
  const id = APPROVAL_ID.exec(open.first)?.[0];
  assert.ok(id, open.first);
  abort.abort();
  const ended = await waitEvent(id);
  assert.equal(ended?.outcome, 'client_gone', 'the gateway noticed the closed connection');
  assert.equal(await approvalStatus(id), 'pending');
});

test('a token revoked while its call waits: the approval does not let the call through', async () => {
  const before = up.calls('tools/call').length;
  const token = await gw.token({ resource: gw.routeUrl('files') });
  const open = await rawWaitingCall(token, { dataset: 'revoked' }, { id: 8, progressToken: 9 });
  const id = APPROVAL_ID.exec(open.first)?.[0];
  assert.ok(id, open.first);
  const revoked = await gw.custody.form(
    '/oauth2/revoke',
    { token },
    { authorization: `Basic ${Buffer.from(`${gw.agent}:${gw.secret}`).toString('base64')}` },
  );
  assert.equal(revoked.status, 200);
  const approved = await gw.asOwner('POST', `/api/v1/approvals/${id}/approve`, {});
  assert.equal(approved.status, 200);
  const messages = await readRest(open);
  const answer = messages.find((m) => m.id === 8);
  assert.equal(answer?.error?.code, -32003, JSON.stringify(messages));
  assert.equal(answer.error.data.custody.reason, 'token_invalid');
  assert.match(answer.error.message, /revoked while the call waited/);
  assert.equal(up.calls('tools/call').length, before, 'not forwarded');
  assert.equal(await approvalStatus(id), 'approved', 'still unused');
});
