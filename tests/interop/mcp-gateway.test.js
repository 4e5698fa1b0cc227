// custodyd's MCP gateway (docs/mcp-gateway.md) with the official MCP SDK on both sides: the
// SDK's client finds its way to a token by itself (protected resource metadata, authorization
// server metadata, client_credentials with `resource`), lists and calls tools through the route,
// and the SDK's server upstream sees the gateway's own token, never the agent's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { answer, decodeJwt, rpcError, rpcErrorText as message, startGateway } from './mcp-harness.js';
import { PROGRESS_INTERVAL_MS, PROGRESS_STEPS, startUpstream } from './mcp-upstream.js';

const POLICY = `
@id("interop/never-purge")
forbid (principal, action == Action::"call_tool", resource is Tool)
when { resource.name == "purge" };

@id("interop/export-needs-approval") @approval("data export")
forbid (principal, action == Action::"call_tool", resource is Tool)
when { resource.name == "export" };
`;

let up;
let gw;
let mcp; // {client, transport, provider, log} of the agent's SDK client on route "files"

before(async () => {
  up = await startUpstream();
  gw = await startGateway({
    // "second": the same upstream under another registration, listed for the first time by the
    // list-then-call test.
    routes: { files: up.mcpUrl, second: up.altUrl },
    // admin_reset is not listed: the agent is not entitled to it.
    agentTools: ['echo', 'export', 'slow_report', 'purge'],
  });
  await gw.pushPolicy(POLICY);
});

after(async () => {
  // The upstream closes even when custodyd did not stop cleanly (that error still fails the file).
  try {
    await gw?.stop();
  } finally {
    await up?.close();
  }
});

// The JSON-RPC message of an McpError (the SDK prefixes "MCP error <code>: ").

test('protected resource metadata (RFC 9728) names the route and custody', async () => {
  const res = await fetch(gw.prmUrl('files'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const prm = await res.json();
  assert.equal(prm.resource, gw.routeUrl('files'));
  assert.deepEqual(prm.authorization_servers, [gw.custody.issuer]);
  assert.deepEqual(prm.scopes_supported, ['mcp']);
  assert.deepEqual(prm.bearer_methods_supported, ['header']);
  assert.ok(Array.isArray(prm.dpop_signing_alg_values_supported));
  assert.equal(prm.resource_name, 'files MCP server');
});

test('the SDK discovers and authenticates by itself: 401, PRM, AS metadata, client_credentials', async () => {
  const discovered = await gw.connect('files');
  const route = gw.routeUrl('files');
  const log = discovered.log;
  // The first request went without a token and was refused with a pointer to the metadata.
  assert.equal(log[0].url, route);
  assert.equal(log[0].status, 401);
  const prm = log.find((e) => e.url === gw.prmUrl('files'));
  assert.ok(prm, `the SDK fetched the route's PRM: ${JSON.stringify(log)}`);
  assert.equal(prm.status, 200);
  const asMeta = log.find((e) => e.url.startsWith(`${gw.custody.url}/.well-known/oauth-authorization-server`) ||
    e.url.startsWith(`${gw.custody.url}/.well-known/openid-configuration`));
  assert.ok(asMeta && asMeta.status === 200, `AS metadata: ${JSON.stringify(log)}`);
  const token = log.find((e) => e.url === gw.custody.tokenEndpoint);
  assert.equal(token?.status, 200);
  assert.ok(log.indexOf(prm) < log.indexOf(token));
  // Then initialize went through.
  assert.ok(log.some((e) => e.url === route && e.status === 200 && e.at >= token.at));
  assert.equal(discovered.client.getServerVersion()?.name, 'custody-interop-upstream');

  // The agent's token: audience the route, scope mcp, subject the agent.
  const agentToken = discovered.provider.tokens().access_token;
  const claims = await gw.verify(agentToken, route);
  assert.equal(claims.sub, gw.agent);
  assert.equal(claims.scope, 'mcp');
});

test('tools/list is filtered: tools the agent may not call are absent', async () => {
  // The agent's SDK client for the rest of this file.
  mcp = await gw.connect('files');
  const { tools } = await mcp.client.listTools();
  const names = tools.map((t) => t.name).sort();
  // echo and slow_report are permitted, export needs approval (listed), purge is forbidden by
  // policy, admin_reset is not entitled.
  assert.deepEqual(names, ['echo', 'export', 'slow_report']);
  // The upstream itself has them all.
  const listed = up.calls('tools/list');
  assert.ok(listed.length >= 1, 'the gateway asked the upstream');
});

test('a tool the first tools/list showed can be called at once (the baseline is recorded before the listing is answered)', async () => {
  // What every MCP client does: list, then call. The call comes right after the listing; the
  // gateway must not refuse it as tool_unknown because it had not yet written the baseline.
  const fresh = await gw.connect('second');
  const { tools } = await fresh.client.listTools();
  assert.ok(tools.some((t) => t.name === 'echo'));
  const result = await fresh.client.callTool({ name: 'echo', arguments: { text: 'right after the listing' } });
  assert.deepEqual(result.content, [{ type: 'text', text: 'right after the listing' }]);
});

test('an allowed call of echo goes through with the gateway\'s own token upstream', async () => {
  await gw.inventoryRecorded('files', (inv) => inv.echo);
  const before = up.calls('tools/call').length;
  const result = await mcp.client.callTool({ name: 'echo', arguments: { text: 'hello through custody' } });
  assert.deepEqual(result.content, [{ type: 'text', text: 'hello through custody' }]);
  assert.ok(!result.isError);

  const calls = up.calls('tools/call');
  assert.equal(calls.length, before + 1, 'the upstream saw the call once');
  const seen = calls.at(-1);
  assert.equal(seen.params.name, 'echo');
  assert.deepEqual(seen.params.arguments, { text: 'hello through custody' });
  const m = /^Bearer (.+)$/.exec(seen.authorization ?? '');
  assert.ok(m, `the upstream got a bearer token: ${seen.authorization}`);
  const upstreamToken = m[1];
  const agentToken = mcp.provider.tokens().access_token;
  assert.notEqual(upstreamToken, agentToken, 'the agent\'s token is never forwarded');

  const decoded = decodeJwt(upstreamToken);
  const aud = [decoded.aud].flat();
  assert.deepEqual(aud, [up.mcpUrl]);
  assert.equal(decoded.sub, gw.agent);
  assert.equal(decoded.act?.sub, gw.gateway);
  // Signed by custody: verifiable with its JWKS, for the upstream's URL as audience.
  const verified = await gw.verify(upstreamToken, up.mcpUrl);
  assert.equal(verified.iss, gw.custody.issuer);
  assert.equal(verified.sub, gw.agent);
  assert.equal(verified.act.sub, gw.gateway);

  // No request the upstream got from the gateway carried the agent's token.
  for (const r of up.requests) assert.notEqual(r.authorization, `Bearer ${agentToken}`);
});

test('a call forbidden by policy is refused with -32003, the tool and the policy', async () => {
  const before = up.calls('tools/call').length;
  const err = await rpcError(mcp.client.callTool({ name: 'purge', arguments: {} }));
  assert.equal(err.code, -32003);
  assert.match(message(err), /purge/);
  assert.match(message(err), /interop\/never-purge/);
  const custody = err.data?.custody;
  assert.equal(custody?.decision, 'deny');
  assert.equal(custody.reason, 'policy');
  assert.deepEqual(custody.reasons, ['interop/never-purge']);
  assert.equal(typeof custody.request_id, 'string');
  assert.ok(custody.request_id.length > 0);
  assert.equal(up.calls('tools/call').length, before, 'not forwarded');
});

test('a call of a tool the agent is not entitled to is refused with -32003', async () => {
  const before = up.calls('tools/call').length;
  const err = await rpcError(mcp.client.callTool({ name: 'admin_reset', arguments: {} }));
  assert.equal(err.code, -32003);
  assert.match(message(err), /admin_reset/);
  assert.equal(err.data?.custody?.decision, 'deny');
  // No permit applies; the PDP names the forbid that decided (the owner's entitlement does not
  // list the tool either).
  assert.deepEqual(err.data.custody.reasons, ['custody/agent-within-owner']);
  assert.equal(up.calls('tools/call').length, before, 'not forwarded');
});

test('export waits for the owner\'s approval, goes through once, then needs a new one', async () => {
  const args = { dataset: 'customers', format: 'parquet' };
  const before = up.calls('tools/call').length;
  const held = await rpcError(mcp.client.callTool({ name: 'export', arguments: args }));
  assert.equal(held.code, -32004);
  assert.match(message(held), /export/);
  const custody = held.data?.custody;
  assert.equal(custody?.decision, 'approval_required');
  const approval = custody.approval;
  assert.match(approval.id, /^apr_/);
  assert.equal(approval.approver, gw.owner);
  assert.ok(Date.parse(approval.expires_at) > Date.now());
  assert.equal(up.calls('tools/call').length, before, 'not forwarded while held');

  // Asking again before the decision: still held, the same request.
  const again = await rpcError(mcp.client.callTool({ name: 'export', arguments: args }));
  assert.equal(again.code, -32004);
  assert.equal(again.data.custody.approval.id, approval.id);

  // Other arguments are another question.
  const other = await rpcError(mcp.client.callTool({ name: 'export', arguments: { dataset: 'orders' } }));
  assert.equal(other.code, -32004);
  assert.notEqual(other.data.custody.approval.id, approval.id);

  // The owner sees it and approves it (docs/approvals.md).
  const pending = await gw.asOwner('GET', '/api/v1/approvals?status=pending');
  assert.equal(pending.status, 200);
  assert.ok(pending.body.items.some((a) => a.id === approval.id));
  const approved = await gw.asOwner('POST', `/api/v1/approvals/${approval.id}/approve`, {
    reason: 'interop: month-end export',
  });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));

  // The same call with the same arguments goes through, exactly once.
  const result = await mcp.client.callTool({ name: 'export', arguments: args });
  assert.deepEqual(result.content, [{ type: 'text', text: 'exported customers as parquet' }]);
  assert.equal(up.calls('tools/call').length, before + 1);
  assert.equal(up.calls('tools/call').at(-1).params.name, 'export');

  const third = await rpcError(mcp.client.callTool({ name: 'export', arguments: args }));
  assert.equal(third.code, -32004);
  assert.equal(third.data.custody.decision, 'approval_required');
  assert.match(third.data.custody.approval.id, /^apr_/);
  assert.notEqual(third.data.custody.approval.id, approval.id, 'a used approval is not reused');
  assert.equal(up.calls('tools/call').length, before + 1, 'the third call was not forwarded');
  const used = await gw.custody.admin('GET', `/api/v1/approvals/${approval.id}`);
  assert.equal(used.status, 'used');
});

test('slow_report streams: progress notifications reach the client before the result, spaced in time', async () => {
  const progress = [];
  const t0 = Date.now();
  const result = await mcp.client.callTool({ name: 'slow_report', arguments: { topic: 'sse' } }, undefined, {
    onprogress: (p) => progress.push({ ...p, at: Date.now() }),
  });
  const resultAt = Date.now();
  assert.deepEqual(result.content, [{ type: 'text', text: 'report on sse' }]);
  assert.equal(progress.length, PROGRESS_STEPS, JSON.stringify(progress));
  assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4]);
  assert.deepEqual(progress.map((p) => p.total), [4, 4, 4, 4]);
  for (const p of progress) assert.ok(p.at <= resultAt);
  // Relayed as they came, not buffered until the end: the first arrived about three intervals
  // before the last, and well before the result.
  const spread = progress.at(-1).at - progress[0].at;
  assert.ok(spread >= 2 * PROGRESS_INTERVAL_MS, `progress spread over ${spread} ms`);
  assert.ok(resultAt - progress[0].at >= 2 * PROGRESS_INTERVAL_MS, `first progress ${resultAt - progress[0].at} ms before the result`);
  assert.ok(progress[0].at - t0 >= PROGRESS_INTERVAL_MS * 0.8);
});

test('the same over raw HTTP: the answer is an SSE stream with the progress events first', async () => {
  const token = await gw.token({ resource: gw.routeUrl('files') });
  const session = await gw.session('files', token, { list: true });
  const r = await gw.post(
    'files',
    {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'slow_report', arguments: {}, _meta: { progressToken: 'p-7' } },
    },
    { token, session },
  );
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/event-stream/);
  const progress = r.body.filter((m) => m.method === 'notifications/progress');
  assert.equal(progress.length, PROGRESS_STEPS);
  assert.ok(progress.every((m) => m.params.progressToken === 'p-7'));
  const last = r.body.findIndex((m) => m.id === 7);
  assert.ok(last > r.body.lastIndexOf(progress.at(-1)), 'the result comes after the progress');
  assert.match(answer(r.body, 7).result.content[0].text, /report on/);
});

test('each call is audited: gateway.call with the decision, gateway.call.result for forwarded ones', async () => {
  // The event's outcome is the decision; details.name the tool (docs/mcp-gateway.md, "Audit").
  const calls = await gw.audit('gateway.call');
  const find = (tool, outcome) => calls.find((e) => e.details?.name === tool && e.outcome === outcome);
  const echo = find('echo', 'permit');
  assert.ok(echo, `gateway.call for echo: ${JSON.stringify(calls.map((e) => [e.outcome, e.details]))}`);
  assert.ok(JSON.stringify(echo).includes(gw.agent), 'the caller is named');
  // SHA-256 of the arguments (custody's canonical JSON of {"text": "hello through custody"}).
  const digest = createHash('sha256').update(JSON.stringify({ text: 'hello through custody' })).digest('hex');
  assert.ok(JSON.stringify(echo.details).includes(digest), `argument digest in ${JSON.stringify(echo.details)}`);
  const purge = find('purge', 'deny');
  assert.ok(purge, 'gateway.call for the denied purge');
  assert.ok(JSON.stringify(purge.details).includes('interop/never-purge'));
  assert.ok(find('export', 'approval_required'), 'gateway.call for the held export');
  assert.ok(find('export', 'permit'), 'gateway.call for the approved export');

  const results = await gw.audit('gateway.call.result');
  const result = (tool) => results.find((e) => e.details?.name === tool);
  for (const tool of ['echo', 'export', 'slow_report']) {
    const r = result(tool);
    assert.ok(r, `gateway.call.result for ${tool}: ${JSON.stringify(results.map((e) => e.details))}`);
    assert.equal(r.outcome, 'success');
    assert.equal(r.details.upstream_status, 200);
    assert.equal(typeof r.details.latency_ms, 'number');
  }
  assert.ok(result('slow_report').details.latency_ms >= PROGRESS_STEPS * PROGRESS_INTERVAL_MS * 0.9);
  assert.ok(!results.some((e) => e.details?.name === 'purge' || e.details?.name === 'admin_reset'),
    'no result for calls that were not forwarded');
});
