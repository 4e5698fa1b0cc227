// An upstream MCP server for the gateway tests, built with the official TypeScript SDK
// (@modelcontextprotocol/sdk: McpServer + StreamableHTTPServerTransport, stateful sessions, SSE
// responses as the SDK sends them by default), on a random loopback port.
//
// Endpoints (each its own set of sessions; the tools are shared):
//   /mcp           the normal server (/alt/mcp: the same, to register it a second time)
//   /slow/mcp      the same, but a tools/call is held `slowMs` before the server sees it (no byte
//                  of the answer is sent meanwhile)
//   /garbage/mcp   the same, but a tools/call is answered 200 application/json with a body that
//                  is not JSON
//   /garbage-sse/mcp  the same, but a tools/call is answered with an event stream whose one
//                  event is not JSON (and that ends without an answer)
// Tools: echo (harmless), export (high impact), purge and admin_reset (for refusals), slow_report
// (4 progress notifications 150 ms apart, then the result); later_tool once addLaterTool() was
// called.
//
// Every HTTP request is recorded (path, method, JSON-RPC method, Authorization header, session id)
// in `requests` unless started with {record: false}.
//
// Also runnable on its own (the load benchmark): `node mcp-upstream.js [--port N]` prints one
// line of JSON {"url", "mcp"} on stdout when it listens, and runs until killed.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const ECHO_DESCRIPTION = 'Echoes its text back (harmless).';
export const PROGRESS_STEPS = 4;
export const PROGRESS_INTERVAL_MS = 150;

export async function startUpstream({ slowMs = 30000, record = true, port = 0 } = {}) {
  const state = {
    echoDescription: ECHO_DESCRIPTION,
    later: false,
  };
  const sessions = new Map(); // session id -> {transport, server, tools: {name: RegisteredTool}, mode}
  const requests = [];
  const slowClosed = []; // held tools/call requests whose connection the peer closed before the answer
  const getStreams = []; // GET (server-initiated) streams: {opened, closed, sessionId}
  const sockets = new Set();

  function registerLater(server, tools) {
    tools.later_tool = server.registerTool(
      'later_tool',
      {
        description: 'A tool the server added after the gateway saw its first tools/list.',
        inputSchema: { n: z.number().optional() },
      },
      async ({ n }) => ({ content: [{ type: 'text', text: `later ${n ?? 0}` }] }),
    );
  }

  function buildServer() {
    const server = new McpServer(
      { name: 'custody-interop-upstream', version: '1.0.0' },
      { capabilities: { tools: { listChanged: true }, logging: {} } },
    );
    const tools = {};
    tools.echo = server.registerTool(
      'echo',
      { description: state.echoDescription, inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
    tools.export = server.registerTool(
      'export',
      {
        description: 'Exports a whole dataset (high impact).',
        inputSchema: { dataset: z.string(), format: z.string().optional() },
        annotations: { destructiveHint: false, openWorldHint: true },
      },
      async ({ dataset, format }) => ({
        content: [{ type: 'text', text: `exported ${dataset} as ${format ?? 'csv'}` }],
      }),
    );
    tools.purge = server.registerTool(
      'purge',
      { description: 'Deletes every record (the tests forbid it by policy).', inputSchema: {} },
      async () => ({ content: [{ type: 'text', text: 'purged' }] }),
    );
    tools.admin_reset = server.registerTool(
      'admin_reset',
      { description: 'Resets the server (no agent is entitled to it).', inputSchema: {} },
      async () => ({ content: [{ type: 'text', text: 'reset' }] }),
    );
    tools.slow_report = server.registerTool(
      'slow_report',
      {
        description: `Builds a report slowly: ${PROGRESS_STEPS} progress notifications, then the result.`,
        inputSchema: { topic: z.string().optional() },
      },
      async ({ topic }, extra) => {
        const token = extra._meta?.progressToken;
        const sent = [];
        for (let i = 1; i <= PROGRESS_STEPS; i++) {
          await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS));
          sent.push(Date.now());
          if (token !== undefined)
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress: i, total: PROGRESS_STEPS, message: `step ${i}` },
            });
        }
        return {
          content: [{ type: 'text', text: `report on ${topic ?? 'everything'}` }],
          _meta: { progress_sent_at: sent },
        };
      },
    );
    if (state.later) registerLater(server, tools);
    return { server, tools };
  }

  const readBody = (req) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const jsonError = (res, status, code, message) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
  };

  async function handle(req, res) {
    const url = new URL(req.url, 'http://upstream');
    let mode;
    if (url.pathname === '/mcp' || url.pathname === '/alt/mcp') mode = 'normal';
    else if (url.pathname === '/slow/mcp') mode = 'slow';
    else if (url.pathname === '/garbage/mcp') mode = 'garbage';
    else if (url.pathname === '/garbage-sse/mcp') mode = 'garbage-sse';
    else {
      res.writeHead(404).end();
      return;
    }
    const text = req.method === 'POST' ? await readBody(req) : '';
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return jsonError(res, 400, -32700, 'Parse error');
    }
    const sessionId = req.headers['mcp-session-id'];
    if (record)
      requests.push({
        time: Date.now(),
        path: url.pathname,
        method: req.method,
        rpc: body?.method,
        id: body?.id,
        params: body?.params,
        authorization: req.headers.authorization,
        sessionId,
      });

    let session = sessionId ? sessions.get(sessionId) : undefined;
    if (session && session.path !== url.pathname) session = undefined;
    if (!session) {
      if (req.method === 'POST' && !sessionId && isInitializeRequest(body)) {
        const { server, tools } = buildServer();
        const entry = { server, tools, mode, path: url.pathname, transport: null };
        entry.transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => sessions.set(id, entry),
          onsessionclosed: (id) => sessions.delete(id),
        });
        entry.transport.onclose = () => {
          if (entry.transport.sessionId) sessions.delete(entry.transport.sessionId);
        };
        await server.connect(entry.transport);
        session = entry;
      } else if (sessionId) {
        return jsonError(res, 404, -32001, 'Session not found');
      } else {
        return jsonError(res, 400, -32000, 'Bad Request: No valid session ID provided');
      }
    }

    if (req.method === 'POST' && body?.method === 'tools/call') {
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>this is not JSON-RPC {{{');
        return;
      }
      if (mode === 'garbage-sse') {
        // A well-formed event stream whose one event is not JSON, and no answer to the call.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.end('event: message\ndata: {"jsonrpc": "2.0", "id": <garbage>\n\n');
        return;
      }
      if (mode === 'slow') {
        let closed = false;
        res.on('close', () => {
          if (!res.writableEnded) {
            closed = true;
            slowClosed.push({ time: Date.now(), id: body.id });
          }
        });
        await new Promise((r) => setTimeout(r, slowMs));
        if (closed) return;
      }
    }
    if (req.method === 'GET') {
      const stream = { opened: Date.now(), closed: null, sessionId };
      getStreams.push(stream);
      res.on('close', () => {
        stream.closed = Date.now();
      });
    }
    await session.transport.handleRequest(req, res, body);
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) jsonError(res, 500, -32603, String(err?.message ?? err));
      else res.destroy();
    });
  });
  httpServer.keepAliveTimeout = 60000;
  httpServer.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => httpServer.listen(port, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${httpServer.address().port}`;

  return {
    base,
    mcpUrl: `${base}/mcp`,
    slowUrl: `${base}/slow/mcp`,
    garbageUrl: `${base}/garbage/mcp`,
    garbageSseUrl: `${base}/garbage-sse/mcp`,
    altUrl: `${base}/alt/mcp`,
    requests,
    slowClosed,
    getStreams,
    sessions,
    // Requests of one JSON-RPC method (e.g. 'tools/call'), optionally on one path.
    calls(rpc, path) {
      return requests.filter((r) => r.rpc === rpc && (path === undefined || r.path === path));
    },
    // Adds later_tool to every live session (each sends notifications/tools/list_changed) and to
    // the sessions made from now on.
    addLaterTool() {
      state.later = true;
      for (const s of sessions.values()) if (!s.tools.later_tool) registerLater(s.server, s.tools);
    },
    // Changes echo's description everywhere (RegisteredTool.update sends list_changed).
    setEchoDescription(description) {
      state.echoDescription = description;
      for (const s of sessions.values()) s.tools.echo.update({ description });
    },
    // Removes a tool from every live session.
    removeTool(name) {
      if (name === 'later_tool') state.later = false;
      for (const s of sessions.values()) {
        s.tools[name]?.remove();
        delete s.tools[name];
      }
    },
    notifyToolListChanged() {
      for (const s of sessions.values()) s.server.sendToolListChanged();
    },
    async close() {
      for (const s of sessions.values()) await s.transport.close().catch(() => {});
      sessions.clear();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

// A loopback URL nothing listens on (a port bound, then released).
export async function deadUrl(path = '/mcp') {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise((resolve) => s.close(resolve));
  return `http://127.0.0.1:${port}${path}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const up = await startUpstream({ record: false, port: i > 0 ? Number(process.argv[i + 1]) : 0 });
  process.stdout.write(JSON.stringify({ url: up.base, mcp: up.mcpUrl }) + '\n');
  const stop = () => up.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
