// Test harness for the interop suite: starts a real custodyd on a random loopback port with a
// throw-away data directory, seeds identities, entitlements and credentials through the admin API,
// and builds openid-client configurations for the seeded clients.
//
// Environment: CUSTODYD = path of the custodyd binary (required).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';

export const ADMIN_TOKEN = 'interop-bootstrap-admin-token-0123456789abcdef';
export const TEST_KEK = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';

const STARTUP_TIMEOUT_MS = 20000;

// Starts custodyd. `env` adds CUSTODY_* settings; `files` maps file names to contents written into
// the data directory before start (their paths are returned in `paths`). server.restart({env})
// starts it again on the same port and data directory with more settings (e.g. one naming an
// identity created through the API).
export async function startCustody({ env = {}, files = {} } = {}) {
  const binary = process.env.CUSTODYD;
  if (!binary) throw new Error('CUSTODYD must name the custodyd binary');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'custody-interop-'));
  const paths = {};
  for (const [name, content] of Object.entries(files)) {
    paths[name] = path.join(dataDir, name);
    writeFileSync(paths[name], typeof content === 'string' ? content : JSON.stringify(content));
  }
  // The server under test is configured only by what the test asks for.
  const childEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CUSTODY_')) childEnv[k] = v;
  Object.assign(childEnv, {
    CUSTODY_BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN,
    CUSTODY_KEK: TEST_KEK,
    CUSTODY_LOG_FORMAT: 'json',
    CUSTODY_ACCESS_LOG: 'false',
    CUSTODY_THREADS: '2',
  });
  const addEnv = (more) => {
    for (const [k, v] of Object.entries(more))
      childEnv[k] = typeof v === 'function' ? v(paths) : String(v);
  };
  addEnv(env);

  let child;
  let output = '';
  let exited = null;
  const kill = () => {
    if (exited === null) child.kill('SIGKILL');
  };
  const launch = async (listen) => {
    exited = null;
    child = spawn(binary, ['--listen', listen, '--data-dir', dataDir], {
      cwd: dataDir,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = output.length;
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`custodyd did not start within ${STARTUP_TIMEOUT_MS} ms:\n${output}`));
      }, STARTUP_TIMEOUT_MS);
      const onData = (chunk) => {
        output += chunk.toString();
        const m = output.slice(started).match(/listening on (https?:\/\/[^"\s]+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        clearTimeout(timer);
        reject(new Error(`custodyd exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
    process.once('exit', kill);
    return url;
  };
  const url = await launch('127.0.0.1:0');

  const server = new Custody(url, dataDir, paths, () => output);
  server.pid = () => child.pid; // the running custodyd's process id (it changes on restart)
  // Sends SIGTERM and resolves with the milliseconds until custodyd exited, or null when it was
  // still running after `ms` (then it is killed).
  server.terminate = async (ms) => {
    if (exited !== null) return 0;
    const t0 = Date.now();
    const done = new Promise((resolve) => child.once('exit', () => resolve(Date.now() - t0)));
    child.kill('SIGTERM');
    const result = await Promise.race([done, new Promise((r) => setTimeout(() => r(null), ms))]);
    if (result === null) {
      child.kill('SIGKILL');
      await done;
    }
    return result;
  };
  // Stops custodyd (SIGTERM) and starts it again on the same address and data directory, with
  // `env` added to its settings. Throws when it did not exit cleanly within 5 s.
  server.restart = async ({ env: more = {} } = {}) => {
    process.removeListener('exit', kill);
    if (exited === null) {
      const done = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
      if (exited.code !== 0)
        throw new Error(`custodyd exited with ${exited.code ?? exited.signal} on restart; its output:\n${output}`);
    }
    addEnv(more);
    const again = await launch(new URL(server.url).host);
    if (again !== server.url) throw new Error(`custodyd came back on ${again}, not ${server.url}`);
  };
  // Stops custodyd (SIGTERM, SIGKILL after 5 s). Throws, after cleaning up, when it had to be
  // killed or exited unclean (a sanitizer report, a crash): call it from after() hooks.
  server.stop = async () => {
    process.removeListener('exit', kill);
    let problem = null;
    if (exited === null) {
      // 'close': exited and its output read to the end (sanitizer reports come last).
      const done = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, 5000);
      await done;
      clearTimeout(timer);
      if (killed) problem = 'custodyd did not exit within 5 s of SIGTERM and was killed';
      else if (exited.code !== 0) problem = `custodyd exited with ${exited.code ?? exited.signal} after SIGTERM`;
    }
    rmSync(dataDir, { recursive: true, force: true });
    if (problem) throw new Error(`${problem}; its output:\n${output}`);
  };
  return server;
}

export class Custody {
  constructor(url, dataDir, paths, output) {
    this.url = url; // also the issuer (no oauth.issuer is configured)
    this.issuer = url;
    this.tokenEndpoint = `${url}/oauth2/token`;
    this.dataDir = dataDir;
    this.paths = paths;
    this.output = output;
  }

  // Admin API call with the bootstrap admin token; returns {status, body, headers}.
  async api(method, pathname, body) {
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.url + pathname, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }

  // Admin API call that must succeed (2xx); returns the body.
  async admin(method, pathname, body) {
    const r = await this.api(method, pathname, body);
    if (r.status < 200 || r.status > 299)
      throw new Error(`${method} ${pathname} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async human(name = 'Interop Owner') {
    return (await this.admin('POST', '/api/v1/identities', { kind: 'human', display_name: name })).id;
  }

  // An active non-human identity owned by `owner`.
  async agent(owner, { name = 'interop agent', kind = 'agent', labels } = {}) {
    const body = { kind, display_name: name, owner_id: owner, state: 'active' };
    if (labels) body.labels = labels;
    return (await this.admin('POST', '/api/v1/identities', body)).id;
  }

  // `tools` (optional) lists the MCP tools the entitlement grants.
  async entitle(id, scope, resource, { tools } = {}) {
    const body = { scope, resource, justification: 'interop test' };
    if (tools) body.tools = tools;
    return this.admin('POST', `/api/v1/identities/${id}/entitlements`, body);
  }

  // A new client secret for `id` (returned once by custody).
  async secret(id) {
    return (await this.admin('POST', `/api/v1/identities/${id}/credentials`, { type: 'client_secret' }))
      .secret;
  }

  async jwkCredential(id, publicJwk) {
    return this.admin('POST', `/api/v1/identities/${id}/credentials`, {
      type: 'jwk',
      public_jwk: publicJwk,
    });
  }

  async suspend(id) {
    return this.admin('POST', `/api/v1/identities/${id}/suspend`, { reason: 'interop test' });
  }

  async retire(id) {
    return this.admin('POST', `/api/v1/identities/${id}/retire`, { reason: 'interop test' });
  }

  // A human owner with agents named by `spec` ({name: [[scope, resource], ...]}), each with a
  // client secret. Resources that name another agent of the spec ("@B") resolve to its id.
  async seed(spec, { owner } = {}) {
    owner ??= await this.human();
    const ids = {};
    for (const name of Object.keys(spec)) ids[name] = await this.agent(owner, { name });
    const secrets = {};
    for (const [name, ents] of Object.entries(spec)) {
      for (const [scope, resource] of ents)
        await this.entitle(ids[name], scope, resource.startsWith('@') ? ids[resource.slice(1)] : resource);
      secrets[name] = await this.secret(ids[name]);
    }
    return { owner, ids, secrets };
  }

  // The server's discovery document through openid-client (cached per server).
  async metadata() {
    this._metadata ??= JSON.parse(
      JSON.stringify(
        (
          await client.discovery(new URL(this.url), 'metadata-probe', undefined, client.None(), {
            execute: [client.allowInsecureRequests],
          })
        ).serverMetadata(),
      ),
    );
    return this._metadata;
  }

  // An openid-client Configuration for client `id` authenticating with `auth` (a ClientAuth).
  async config(id, auth, options = {}) {
    const cfg = new client.Configuration(await this.metadata(), id, undefined, auth);
    client.allowInsecureRequests(cfg);
    if (options.fetch) cfg[client.customFetch] = options.fetch;
    return cfg;
  }

  // A raw form POST to an OAuth endpoint; returns {status, body, headers}.
  async form(pathname, params, headers = {}) {
    const res = await fetch(this.url + pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(params).toString(),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  }
}

// Runs `fn` and returns the OAuth error it was refused with: {status, error, error_description,
// bound}. Fails when `fn` succeeds.
export async function refusal(fn) {
  let result;
  try {
    result = await fn();
  } catch (err) {
    // openid-client surfaces RFC 6749 error bodies as ResponseBodyError (cause = the body).
    if (err instanceof client.ResponseBodyError)
      return { status: err.status, ...err.cause };
    if (err instanceof client.WWWAuthenticateChallengeError) {
      const body = await err.response.json().catch(() => ({}));
      return { status: err.status, ...body };
    }
    throw err;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
}

// Decodes a JWT's payload without verifying it.
export function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

export function header(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());
}
