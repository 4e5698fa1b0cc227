// The upstream fixture (mcp-upstream.js) on its own, with the SDK's client straight to it (no
// custodyd): when a gateway test fails, this tells whether the fixture or the gateway is at fault.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { ECHO_DESCRIPTION, PROGRESS_STEPS, startUpstream } from './mcp-upstream.js';

let up;
before(async () => {
  up = await startUpstream({ slowMs: 300 });
});
after(async () => {
  await up?.close();
});

async function connect(url, headers = {}) {
  const client = new Client({ name: 'fixture-check', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

test('tools, echo, progress and the Authorization header are seen', async () => {
  const client = await connect(up.mcpUrl, { authorization: 'Bearer abc' });
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['admin_reset', 'echo', 'export', 'purge', 'slow_report']);
  assert.equal(tools.find((t) => t.name === 'echo').description, ECHO_DESCRIPTION);
  const r = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  assert.deepEqual(r.content, [{ type: 'text', text: 'hi' }]);
  assert.equal(up.calls('tools/call').at(-1).authorization, 'Bearer abc');

  const progress = [];
  const result = await client.callTool({ name: 'slow_report', arguments: {} }, undefined, {
    onprogress: (p) => progress.push({ ...p, at: Date.now() }),
  });
  const done = Date.now();
  assert.equal(progress.length, PROGRESS_STEPS);
  assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3, 4]);
  assert.ok(progress.at(-1).at <= done);
  assert.ok(progress.at(-1).at - progress[0].at >= 300, 'progress spaced in time');
  assert.match(result.content[0].text, /report on/);
  await client.close();
});

test('later_tool and a changed description are announced with list_changed', async () => {
  const client = await connect(up.mcpUrl);
  await client.listTools();
  let changed = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed++);
  up.addLaterTool();
  up.setEchoDescription('Echoes its text back, and now also something else.');
  for (let i = 0; i < 50 && changed < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(changed >= 1, 'list_changed arrived');
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'later_tool'));
  assert.match(tools.find((t) => t.name === 'echo').description, /something else/);
  const fresh = await connect(up.mcpUrl);
  assert.ok((await fresh.listTools()).tools.some((t) => t.name === 'later_tool'));
  await fresh.close();
  await client.close();
  up.removeTool('later_tool');
  up.setEchoDescription(ECHO_DESCRIPTION);
});

test('slow and garbage modes', async () => {
  const slow = await connect(up.slowUrl);
  const t0 = Date.now();
  await slow.callTool({ name: 'echo', arguments: { text: 'x' } });
  assert.ok(Date.now() - t0 >= 280);
  await slow.close();
  const garbage = await connect(up.garbageUrl);
  await assert.rejects(garbage.callTool({ name: 'echo', arguments: { text: 'x' } }));
  await garbage.close();
});
