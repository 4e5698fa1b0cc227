// Driver of bench/load/mcp_gateway_load.sh: `tools/call echo` latency with N concurrent clients,
// straight to an upstream MCP server (the SDK's, tests/interop/mcp-upstream.js, in its own
// process) and through custodyd's MCP gateway, in the same run and with the same client: raw
// HTTP/1.1 keep-alive POSTs, one connection and one initialized MCP session per client, so the
// client's own overhead is the same on both paths. Prints p50/p99 per path and the gateway's
// overhead (gateway - direct) at p50 and p99.
//
// Two load models:
// - closed loop (default): each client sends its next call as soon as the previous one answered;
//   the rate is whatever the system sustains, and a slow answer delays the calls behind it
//   without that delay showing in any latency.
// - open loop (RATE=<calls/s in total>): the same clients, each sending on a fixed schedule
//   (RATE / CONCURRENCY calls/s per client, the clients' schedules staggered evenly), every
//   latency measured from the call's scheduled send time rather than from when it was actually
//   sent, so that queueing behind a slow call counts (no coordinated omission; wrk2's and
//   Fortio's fixed-QPS method, which Istio's proxy benchmarks use with N connections). A client
//   still waiting for an answer sends its next call late, and that lateness is in the latency.
//
// Environment: CUSTODYD (required), DURATION_S [10], WARMUP_S [2], CONCURRENCY [32],
// ROUNDS [1] (direct, gateway, direct, gateway, ... ; the percentiles pool the rounds),
// CUSTODY_THREADS [2] (custodyd's worker threads), RATE [unset: closed loop].
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../../tests/interop/mcp-harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DURATION_S = Number(process.env.DURATION_S ?? 10);
const WARMUP_S = Number(process.env.WARMUP_S ?? 2);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const THREADS = process.env.CUSTODY_THREADS ?? '2';
const PATHS = (process.env.PATHS ?? 'direct gateway').split(/\s+/).filter(Boolean);
const RATE = Number(process.env.RATE ?? 0); // calls/s in total; 0: closed loop
const PROTOCOL = '2025-11-25';

function startUpstreamProcess() {
  const child = spawn(process.execPath, [path.join(here, '../../tests/interop/mcp-upstream.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, ...JSON.parse(line) });
    });
    child.on('exit', (code) => reject(new Error(`upstream exited (${code})`)));
  });
}

// One POST on `agent`; resolves {status, headers, body} with the whole body read.
function post(agent, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// The JSON-RPC messages of a JSON or SSE body.
function messages(r) {
  if ((r.headers['content-type'] ?? '').startsWith('text/event-stream'))
    return r.body
      .split(/\r?\n\r?\n/)
      .map((b) => b.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n'))
      .filter(Boolean)
      .map((d) => JSON.parse(d));
  return r.body ? [JSON.parse(r.body)] : [];
}

async function openClient(url, auth) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = auth ? { authorization: `Bearer ${auth}` } : {};
  const init = await post(
    agent,
    url,
    headers,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
  );
  const session = init.headers['mcp-session-id'];
  if (init.status !== 200 || !session) throw new Error(`initialize at ${url}: ${init.status} ${init.body}`);
  const h = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL };
  const done = await post(agent, url, h, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  if (done.status !== 202) throw new Error(`notifications/initialized at ${url}: ${done.status} ${done.body}`);
  // The gateway calls only tools it has seen listed (its inventory's baseline).
  const list = await post(agent, url, h, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
  if (list.status !== 200) throw new Error(`tools/list at ${url}: ${list.status} ${list.body}`);
  return { agent, url, headers: h, id: 2 };
}

// One tools/call echo on client `c`; true when it was answered as expected.
async function call(c, failed) {
  const id = c.id++;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'bench' } },
  });
  try {
    const r = await post(c.agent, c.url, c.headers, body);
    const m = r.status === 200 ? messages(r).find((x) => x.id === id) : null;
    const ok = m?.result?.content?.[0]?.text === 'bench';
    if (!ok) failed(`${r.status} ${r.body.slice(0, 300)}`);
    return ok;
  } catch (err) {
    failed(String(err));
    return false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs the clients for `seconds`, closed loop or (RATE) open loop; returns latencies (ms) of
// successful calls, the error count, and (open loop) how many calls went out behind schedule.
async function run(clients, seconds, record) {
  const lat = [];
  let errors = 0;
  let late = 0;
  let firstError = null;
  const failed = (why) => {
    firstError ??= why;
  };
  const settle = (ok, t) => {
    if (ok) {
      if (record) lat.push(t);
    } else errors++;
  };
  if (RATE > 0) {
    const interval = (clients.length / RATE) * 1000; // ms between two calls of one client
    const start = performance.now() + 10;
    const end = start + seconds * 1000;
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; ; k++) {
          const scheduled = start + ((i / clients.length) + k) * interval;
          if (scheduled >= end) break;
          const wait = scheduled - performance.now();
          if (wait > 0) await sleep(wait);
          else if (wait < -1) late++;
          const ok = await call(c, failed);
          settle(ok, performance.now() - scheduled);
        }
      }),
    );
    return { lat, errors, late, firstError };
  }
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await call(c, failed);
        settle(ok, performance.now() - t0);
      }
    }),
  );
  return { lat, errors, late, firstError };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const cpuTicks = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
  } catch {
    return NaN;
  }
};

// custodyd's store counters (/metrics), to put reads, read time and commits per call.
async function storeCounters(url) {
  const out = {};
  try {
    const text = await (await fetch(url + '/metrics')).text();
    for (const m of text.matchAll(/^custody_store_(reads_total|read_seconds_total|writes_total|commits_total|commit_seconds_total) ([0-9.e+-]+)$/gm))
      out[m[1]] = Number(m[2]);
  } catch {
    // no counters: the columns show NaN
  }
  return out;
}

const upstream = await startUpstreamProcess();
const gw = await startGateway({
  routes: { bench: upstream.mcp },
  agentTools: ['echo'],
  env: { CUSTODY_THREADS: THREADS },
});
let status = 0;
try {
  const token = await gw.token({ resource: gw.routeUrl('bench') });
  const paths = {
    direct: { url: upstream.mcp, auth: token },
    gateway: { url: gw.routeUrl('bench'), auth: token },
  };
  const fresh = () => ({ lat: [], errors: 0, late: 0, seconds: 0, cpu: 0, store: {} });
  const results = { direct: fresh(), gateway: fresh() };
  const clients = {};
  for (const name of PATHS) {
    const p = paths[name];
    clients[name] = [];
    for (let i = 0; i < CONCURRENCY; i++) clients[name].push(await openClient(p.url, p.auth));
    const w = await run(clients[name], WARMUP_S, false);
    if (w.errors) console.error(`${name} warm-up: ${w.errors} errors, first: ${w.firstError}`);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of PATHS) {
      const before = cpuTicks(gw.custody.pid());
      const counters = await storeCounters(gw.custody.url);
      const r = await run(clients[name], DURATION_S, true);
      const res = results[name];
      res.cpu += cpuTicks(gw.custody.pid()) - before;
      const after = await storeCounters(gw.custody.url);
      for (const k of Object.keys(after)) res.store[k] = (res.store[k] ?? 0) + after[k] - (counters[k] ?? 0);
      res.lat.push(...r.lat);
      res.errors += r.errors;
      res.late += r.late;
      res.seconds += DURATION_S;
      if (r.errors) console.error(`${name}: ${r.errors} errors, first: ${r.firstError}`);
    }
  }
  const hz = 100; // USER_HZ on Linux
  const row = (name) => {
    const r = results[name];
    const s = r.lat.sort((a, b) => a - b);
    return {
      name,
      n: s.length,
      rps: s.length / r.seconds,
      p50: pct(s, 50),
      p90: pct(s, 90),
      p99: pct(s, 99),
      errors: r.errors,
      late: r.late,
      cpu: (r.cpu / hz) * 1e6 / Math.max(1, s.length + r.errors),
    };
  };
  const rows = PATHS.map(row);
  const d = rows.find((r) => r.name === 'direct');
  const g = rows.find((r) => r.name === 'gateway');
  const mode = RATE > 0 ? `open loop at ${RATE} calls/s (latency from the scheduled send)` : 'closed loop';
  console.log(`${CONCURRENCY} clients, ${mode}, ${DURATION_S} s x ${ROUNDS} per path, custodyd threads ${THREADS}`);
  console.log(['path', 'calls', 'calls/s', 'p50 ms', 'p90 ms', 'p99 ms', 'custodyd cpu/call', 'errors'].map((x) => x.padStart(10)).join(' '));
  for (const r of rows) {
    console.log(
      [r.name, r.n, r.rps.toFixed(0), r.p50.toFixed(3), r.p90.toFixed(3), r.p99.toFixed(3), `${r.cpu.toFixed(0)}us`, r.errors]
        .map((x) => String(x).padStart(10))
        .join(' ') + (RATE > 0 ? `  (${r.late} sent late)` : ''),
    );
    const st = results[r.name].store;
    const calls = Math.max(1, r.n + r.errors);
    if (r.name === 'gateway')
      console.log(
        `  custodyd store per call: ${(st.reads_total / calls).toFixed(2)} reads ` +
          `(${((st.read_seconds_total * 1e6) / Math.max(1, st.reads_total)).toFixed(0)} us each), ` +
          `${(st.writes_total / calls).toFixed(2)} writes, ${(st.commits_total / calls).toFixed(2)} commits ` +
          `(${((st.commit_seconds_total * 1e6) / Math.max(1, st.commits_total)).toFixed(0)} us each)`,
      );
  }
  if (d && g) {
    const o50 = g.p50 - d.p50;
    const o99 = g.p99 - d.p99;
    console.log(`overhead (gateway - direct): p50 ${o50.toFixed(3)} ms (target <= 1 ms), p99 ${o99.toFixed(3)} ms (target <= 3 ms)`);
    console.log(`targets: ${o50 <= 1 && o99 <= 3 ? 'met' : 'NOT met'}`);
  }
  if (rows.some((r) => r.errors)) status = 1;
  for (const list of Object.values(clients)) for (const c of list) c.agent.destroy();
} catch (err) {
  console.error(err);
  status = 1;
} finally {
  await gw.stop().catch((e) => console.error(String(e).split('\n')[0]));
  upstream.child.kill('SIGTERM');
}
process.exit(status);
