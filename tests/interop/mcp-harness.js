// Harness of the MCP gateway tests (docs/mcp-gateway.md), on top of harness.js: a custodyd with
// the gateway's service identity, one registered mcp_server per route (labels
// custody.dev/mcp-route and custody.dev/mcp-url), an agent entitled to the route's tools, and MCP
// SDK clients that find their way to a token by themselves (401 -> protected resource metadata ->
// authorization server metadata -> client_credentials with `resource`).
//
// The gateway's own identity is the active service labelled custody.dev/role=mcp-gateway, found
// on each request, so no restart is needed (with `restartWithIdentity`, custodyd is instead
// restarted on the same port and data directory with CUSTODY_GATEWAY_IDENTITY naming it).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startCustody } from './harness.js';

export const ROUTE_LABEL = 'custody.dev/mcp-route';
export const URL_LABEL = 'custody.dev/mcp-url';
export const SCOPE_LABEL = 'custody.dev/mcp-scope';
export const ROLE_LABEL = 'custody.dev/role';
export const MCP_SCOPE = 'mcp';
export const DEFAULT_TOOLS = ['echo', 'export', 'slow_report', 'later_tool'];

export const JSON_AND_SSE = 'application/json, text/event-stream';
export const PROTOCOL_VERSION = '2025-11-25';

// The JSON-RPC initialize request a raw client sends first (id 0).
export function initializeRequest(clientName) {
  return {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: clientName, version: '1.0.0' },
    },
  };
}

// Starts custodyd with the gateway. `routes` maps a route name to an upstream URL or to
// {url, scope?, agentTools?}; `agentTools` is what the agent's (and its owner's) entitlement for
// each route lists (null: an entitlement without a tools list, i.e. every tool).
export async function startGateway({
  routes,
  agentTools = DEFAULT_TOOLS,
  env = {},
  files = {},
  restartWithIdentity = false,
}) {
  const custody = await startCustody({ env, files });
  try {
    const owner = await custody.human('MCP owner');
    const gateway = await custody.agent(owner, {
      kind: 'service',
      name: 'custody MCP gateway',
      labels: restartWithIdentity ? undefined : { [ROLE_LABEL]: 'mcp-gateway' },
    });
    const servers = {};
    for (const [name, spec] of Object.entries(routes)) {
      const { url, scope, agentTools: tools = agentTools, register = true } =
        typeof spec === 'string' ? { url: spec } : spec;
      const labels = { [ROUTE_LABEL]: name, [URL_LABEL]: url };
      if (scope) labels[SCOPE_LABEL] = scope;
      // Registered as custody registers anything: pending, then activated.
      const created = await custody.admin('POST', '/api/v1/identities', {
        kind: 'mcp_server',
        display_name: `${name} MCP server`,
        owner_id: owner,
        labels,
        state: 'pending',
      });
      if (register) await custody.admin('POST', `/api/v1/identities/${created.id}/activate`);
      const routeUrl = `${custody.url}/mcp/${name}`;
      // The gateway may present tokens to the upstream; the agent and its owner may call tools
      // through the route (custody/agent-within-owner wants the owner to hold the tool too).
      await custody.entitle(gateway, MCP_SCOPE, url);
      servers[name] = { id: created.id, name, url, routeUrl, scope: scope ?? MCP_SCOPE, tools };
    }
    const agent = await custody.agent(owner, { name: 'MCP agent' });
    for (const s of Object.values(servers)) {
      const opts = s.tools ? { tools: s.tools } : {};
      await custody.entitle(agent, s.scope, s.routeUrl, opts);
      await custody.entitle(owner, s.scope, s.routeUrl, opts);
    }
    const secret = await custody.secret(agent);
    if (restartWithIdentity) await custody.restart({ env: { CUSTODY_GATEWAY_IDENTITY: gateway } });
    return new Gateway(custody, { owner, gateway, agent, secret, servers });
  } catch (err) {
    await custody.stop().catch(() => {});
    throw err;
  }
}

export class Gateway {
  constructor(custody, { owner, gateway, agent, secret, servers }) {
    this.custody = custody;
    this.owner = owner;
    this.gateway = gateway;
    this.agent = agent;
    this.secret = secret;
    this.servers = servers;
    this.jwks = createRemoteJWKSet(new URL(`${custody.url}/.well-known/jwks.json`));
    this.clients = [];
  }

  routeUrl(name) {
    return this.servers[name].routeUrl;
  }

  prmUrl(name) {
    return `${this.custody.url}/.well-known/oauth-protected-resource/mcp/${name}`;
  }

  // An MCP SDK client connected to route `name` (initialize done), authenticating with the SDK's
  // ClientCredentialsProvider. Every HTTP exchange the SDK makes is in `log` ({method, url,
  // status, at}).
  //
  // The SDK starts without a token and finds its way to one (401, PRM, AS metadata,
  // client_credentials with `resource`). With `discover: false` the provider starts with a token
  // from custody's token endpoint for the route instead (no discovery).
  async connect(name, { clientId = this.agent, clientSecret = this.secret, scope, discover = true } = {}) {
    const log = [];
    const recordingFetch = async (url, init) => {
      const res = await fetch(url, init);
      log.push({ method: init?.method ?? 'GET', url: String(url), status: res.status, at: Date.now() });
      return res;
    };
    const provider = new ClientCredentialsProvider({
      clientId,
      clientSecret,
      clientName: 'custody interop MCP agent',
      expectedIssuer: this.custody.issuer,
      scope,
    });
    if (!discover) {
      const token = await this.token({ resource: this.routeUrl(name) }, { clientId, clientSecret });
      provider.saveTokens({ access_token: token, token_type: 'Bearer' });
    }
    const transport = new StreamableHTTPClientTransport(new URL(this.routeUrl(name)), {
      authProvider: provider,
      fetch: recordingFetch,
    });
    const client = new Client({ name: 'custody-interop', version: '1.0.0' });
    await client.connect(transport);
    this.clients.push({ client, transport });
    return { client, transport, provider, log };
  }

  // A token for the agent from client_credentials, without the SDK (`params` adds or overrides).
  async token(params = {}, { clientId = this.agent, clientSecret = this.secret } = {}) {
    const r = await this.custody.form(
      '/oauth2/token',
      { grant_type: 'client_credentials', scope: MCP_SCOPE, ...params },
      { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    );
    if (r.status !== 200) throw new Error(`token request -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.access_token;
  }

  // Verifies a token with custody's JWKS; returns its payload.
  async verify(token, audience) {
    return (await jwtVerify(token, this.jwks, { issuer: this.custody.issuer, audience })).payload;
  }

  // A raw JSON-RPC POST to route `name`; returns {status, headers, body (parsed JSON or the
  // JSON-RPC messages of an SSE stream), text}.
  async post(name, message, { token, session, headers = {}, raw } = {}) {
    const h = { accept: JSON_AND_SSE, 'content-type': 'application/json', ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (session) h['mcp-session-id'] = session;
    if (session) h['mcp-protocol-version'] ??= PROTOCOL_VERSION;
    const res = await fetch(this.routeUrl(name), {
      method: 'POST',
      headers: h,
      body: raw ?? JSON.stringify(message),
    });
    return readRpc(res);
  }

  // Raw initialize + notifications/initialized (+ tools/list with {list: true}: the gateway
  // refuses calls of tools it has not seen listed); returns the session id.
  async session(name, token, { list = false } = {}) {
    const init = await this.post(
      name,
      initializeRequest('custody-interop-raw'),
      { token },
    );
    if (init.status !== 200) throw new Error(`initialize -> ${init.status} ${init.text}`);
    const session = init.headers.get('mcp-session-id');
    if (!session) throw new Error('initialize answered without Mcp-Session-Id');
    const done = await this.post(
      name,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { token, session },
    );
    if (done.status !== 202) throw new Error(`notifications/initialized -> ${done.status} ${done.text}`);
    if (list) {
      const tools = await this.post(name, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, session });
      if (tools.status !== 200 || !answer(tools.body, 1)?.result)
        throw new Error(`tools/list -> ${tools.status} ${tools.text}`);
      await this.inventoryRecorded(name);
    }
    return session;
  }

  // The tool inventory of route `name`'s server ({name: item}, through the admin API).
  async inventory(name) {
    const r = await this.custody.api('GET', `/api/v1/gateway/servers/${this.servers[name].id}/tools`);
    if (r.status !== 200) throw new Error(`inventory -> ${r.status} ${JSON.stringify(r.body)}`);
    return Object.fromEntries(r.body.items.map((t) => [t.name, t]));
  }

  // Waits (up to 3 s) until the inventory of route `name` satisfies `cond` (default: not empty).
  // The gateway records what a tools/list showed after relaying the answer, so a test that is
  // not about that ordering waits here (interop.mcp.gateway checks the ordering itself).
  async inventoryRecorded(name, cond = (inv) => Object.keys(inv).length > 0) {
    const end = Date.now() + 3000;
    for (;;) {
      const inv = await this.inventory(name);
      if (cond(inv)) return inv;
      if (Date.now() > end) throw new Error(`inventory of ${name} not as expected: ${JSON.stringify(inv)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // Pushes the active policy bundle again with `text` added as interop.cedar (a push replaces the
  // whole bundle); returns the new version.
  async pushPolicy(text, description = 'interop MCP gateway test') {
    const active = await this.custody.admin('GET', '/api/v1/policies/active');
    const body = {
      files: [...active.files.filter((f) => f.name !== 'interop.cedar'), { name: 'interop.cedar', text }],
      description,
    };
    if (active.schema) body.schema = active.schema;
    return this.custody.admin('POST', '/api/v1/policies', body);
  }

  // An owner-role admin token for the agent's owner (the human approvals are routed to).
  async ownerToken() {
    if (!this._ownerToken) {
      const created = await this.custody.admin('POST', '/api/v1/tokens', {
        role: 'owner',
        identity_id: this.owner,
        description: 'interop: the MCP owner',
      });
      this._ownerToken = created.token;
      this.ownerTokenId = created.id;
    }
    return this._ownerToken;
  }

  // An admin API call with the owner's token; returns {status, body}.
  async asOwner(method, pathname, body) {
    const res = await fetch(this.custody.url + pathname, {
      method,
      headers: {
        authorization: `Bearer ${await this.ownerToken()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  // Another agent of the same owner, entitled like the first one to route `name`.
  async secondAgent(name, tools = this.servers[name].tools) {
    const id = await this.custody.agent(this.owner, { name: 'second MCP agent' });
    await this.custody.entitle(id, this.servers[name].scope, this.routeUrl(name), tools ? { tools } : {});
    return { id, secret: await this.custody.secret(id) };
  }

  // Audit events of `action` (newest first), optionally only those after `since` (RFC 3339).
  async audit(action, query = {}) {
    const q = new URLSearchParams({ action, limit: '100', ...query });
    return (await this.custody.admin('GET', `/api/v1/audit/events?${q}`)).items;
  }

  async stop() {
    // Each client ends its session (DELETE) before it closes: what a client that drops its GET
    // stream does to the gateway is interop.mcp.connections' subject, not every file's.
    for (const { client, transport } of this.clients) {
      await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    }
    await this.custody.stop();
  }
}

// Reads a Streamable HTTP answer: JSON, or the JSON-RPC messages of an SSE stream.
export async function readRpc(res) {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  let body = null;
  if (type.startsWith('text/event-stream')) {
    body = sseMessages(text);
  } else if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  return { status: res.status, headers: res.headers, body, text };
}

// The JSON-RPC messages in an event stream's text ({unparsable: data} for an event that is not
// JSON).
export function sseMessages(text) {
  const messages = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data) {
      try {
        messages.push(JSON.parse(data));
      } catch {
        messages.push({ unparsable: data });
      }
    }
  }
  return messages;
}

// The JSON-RPC answer to request `id` among messages (an SSE stream's) or the body itself.
export function answer(body, id) {
  if (Array.isArray(body)) return body.find((m) => m.id === id && ('result' in m || 'error' in m));
  return body;
}

// Runs an SDK call that must fail with a JSON-RPC error; returns the McpError ({code, message,
// data}).
export async function rpcError(promise) {
  try {
    const result = await promise;
    throw Object.assign(new Error(`expected a JSON-RPC error, got ${JSON.stringify(result)}`), {
      unexpected: true,
    });
  } catch (err) {
    if (err.unexpected) throw err;
    if (typeof err.code !== 'number') throw err;
    return err;
  }
}

// An McpError's JSON-RPC message, without the SDK's "MCP error <code>: " prefix.
export const rpcErrorText = (err) => err.message.replace(/^MCP error -?\d+: /, '');

export { decodeJwt };
