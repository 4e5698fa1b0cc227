// Differential test of custody's Cedar engine against the official one (@cedar-policy/cedar-wasm,
// the Rust `cedar-policy` crate compiled to wasm): random but well-formed policy sets, entity
// stores and requests, generated from a fixed seed, are authorized by both, and the test fails on
// the first disagreement with a reduced reproduction (fewest policies and entities that still
// disagree), both answers and the seed.
//
// Compared per request: the decision, the determining policy ids and the erroring policy ids
// (error messages differ between implementations and are not compared); a call that fails as a
// whole (policies do not parse, entities do not load) must fail in both. No schema is used: values
// are read by their JSON shape, and ill-typed expressions are evaluation errors in both engines.
//
// Generated: 1-6 policies (sometimes more than 64) per case, permit/forbid; scopes ==, in, is, is … in, action in [...]; when/unless with long
// arithmetic near the 64-bit limits (overflow), comparisons, ==/!= across types, has (also
// a.b), like with wildcards and escapes, if-then-else, && || !, set literals and
// contains/containsAll/containsAny/isEmpty, records, entity and context attributes (often
// guarded by `has`, sometimes missing or of another type), hasTag/getTag, and the ipaddr,
// decimal, datetime and duration functions, with valid and invalid arguments. Entities: a small
// acyclic hierarchy over a few types (one namespaced), attributes, tags, action groups, parents
// that do not exist.
//
// Environment: CEDAR_EVAL = path of the cedar_eval binary (required; ctest sets it),
// CEDAR_DIFF_SEED (default 20261130), CEDAR_DIFF_CASES (default 2000), CEDAR_DIFF_REQUESTS (per
// case, default 4). Run: CEDAR_EVAL=build/dbg/tests/cedar_eval tests/interop/run.sh
// tests/interop/cedar-differential.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const SEED = Number(process.env.CEDAR_DIFF_SEED ?? 20261130);
const CASES = Number(process.env.CEDAR_DIFF_CASES ?? 2000);
const REQUESTS = Number(process.env.CEDAR_DIFF_REQUESTS ?? 4);

// ---------------- deterministic PRNG (mulberry32, as the anchor's bench.mjs) ----------------
let state = SEED >>> 0;
function rnd() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)); // inclusive
const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
const chance = (p) => rnd() < p;
const times = (n, f) => Array.from({ length: n }, f);

// ---------------- vocabulary ----------------
const str = (s) =>
  '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t') + '"';
const PRINCIPAL_TYPES = ['User', 'Group', 'App::User'];
const RESOURCE_TYPES = ['Photo', 'Album', 'User'];
const ALL_TYPES = ['User', 'Group', 'App::User', 'Photo', 'Album'];
const IDS = ['alice', 'bob', 'g1', 'g2', '', 'q"t \\', 'é'];
const ACTIONS = ['view', 'edit', 'read', 'delete'];
// Hierarchy edges allowed (child type → parent types), as an application would have them.
const PARENT_TYPES = {
  User: ['Group'], 'App::User': ['Group', 'App::User'], Group: ['Group'], Photo: ['Album'], Album: ['Album'],
};
const uid = (type, id) => ({ type, id });
const uidText = (u) => `${u.type}::${str(u.id)}`;
const randomUid = (types = ALL_TYPES) => uid(pick(types), pick(IDS.slice(0, chance(0.8) ? 4 : IDS.length)));
const actionUid = () => uid('Action', pick(ACTIONS));

const LONGS = [0, 1, -1, 2, 3, 7, 42, 100, -100, 2147483647, 4294967296, 9007199254740991, -9007199254740991];
const BIG_LONGS = ['9223372036854775807', '(-9223372036854775808)', '4611686018427387904', '3037000500',
  '(-9223372036854775807)'];
const STRINGS = ['', 'a', 'alice', 'bob', 'A*b', 'x y', 'é', '*', 'ab*', 'a\\b', 'line\nbreak'];
// String literals written with escapes (policy text only): \u{..}, \x.., \0, \r, \', and \* which
// only a like pattern accepts.
const RAW_STRINGS = ['"\\u{e9}"', '"\\x41"', '"\\0"', '"\\r"', '"\\\'"', '"\\u{1F600}"', '"a\\*b"'];
const IPS = ['10.0.0.1', '127.0.0.1', '::1', '224.0.0.1', '10.0.0.0/8', '192.168.1.0/24', 'ff02::1',
  '0.0.0.0', '127.0.0.1/32', '2001:db8::/32', '10.1.2.3/16'];
// cedar-wasm rejects IPv4-embedded IPv6 addresses (custody too).
const BAD_IPS = ['::ffff:127.0.0.1', '1.2.3', '10.0.0.1/33', 'localhost', '::1/129', '01.2.3.4'];
const DECIMALS = ['0.0', '1.5', '-0.0001', '922337203685477.5807', '-922337203685477.5808', '2.25', '1.50'];
const BAD_DECIMALS = ['1.23456', 'abc', '1.', '922337203685477.5808', '.5'];
const DATETIMES = ['2024-01-01', '2024-01-01T12:00:00Z', '2024-01-01T12:00:00.123Z',
  '2024-01-01T12:00:00+0130', '1970-01-01T00:00:00-2359', '2024-02-29', '1969-12-31T23:59:59.999Z'];
const BAD_DATETIMES = ['2024-02-30', '2024-1-1', '2024-01-01T25:00:00Z', '2024-01-01 00:00:00', '20240101'];
const DURATIONS = ['1d', '2h30m', '-1ms', '1d2h3m4s5ms', '0ms', '9223372036854775807ms', '-3s', '90m', '25h'];
const BAD_DURATIONS = ['1x', '', '1h1d', '106751991167d', '1.5h', '-'];
const EXT_CTOR = { ip: 'ip', decimal: 'decimal', datetime: 'datetime', duration: 'duration' };
const extArg = (kind, pBad = 0.06) => {
  const [good, bad] = {
    ip: [IPS, BAD_IPS], decimal: [DECIMALS, BAD_DECIMALS], datetime: [DATETIMES, BAD_DATETIMES],
    duration: [DURATIONS, BAD_DURATIONS],
  }[kind];
  return chance(pBad) ? pick(bad) : pick(good);
};

// Attributes with their usual type (entities carry them with that type most of the time).
const ENTITY_ATTRS = {
  age: 'long', level: 'long', name: 'string', flag: 'bool', tags: 'set', owner: 'entity', rec: 'record',
  ip: 'ip', dec: 'decimal', when: 'datetime', dur: 'duration',
};
const CONTEXT_ATTRS = {
  n: 'long', s: 'string', b: 'bool', ip: 'ip', set: 'set', r: 'record', when: 'datetime', who: 'entity',
  dur: 'duration',
};
const TAGS = ['t1', 't2', 'team'];
const attrOfType = (attrs, type) => {
  const names = Object.keys(attrs).filter((k) => attrs[k] === type);
  return names.length && chance(0.9) ? pick(names) : pick(Object.keys(attrs));
};

// ---------------- values (JSON, for entities and contexts) ----------------
function jsonValue(type, depth = 0) {
  switch (type) {
    case 'long': return pick(LONGS);
    case 'string': return pick(STRINGS);
    case 'bool': return chance(0.5);
    case 'set':
      return times(ri(0, 3), () => (chance(0.7) ? pick(STRINGS.slice(0, 5)) : depth < 2 ? jsonValue('long') : 1));
    // Without a schema only the __entity escape is an entity; {type, id} alone is a record.
    case 'entity': return chance(0.9) ? { __entity: randomUid() } : randomUid();
    case 'record': {
      const r = { x: pick(LONGS) };
      if (chance(0.6)) r.y = depth < 2 ? { z: chance(0.5) } : true;
      if (chance(0.3)) r.s = pick(STRINGS);
      return r;
    }
    case 'ip': case 'decimal': case 'datetime': case 'duration':
      // Invalid extension arguments make the whole entities file fail to load in both engines;
      // keep those rare so that most cases evaluate.
      return { __extn: { fn: EXT_CTOR[type], arg: extArg(type, 0.003) } };
    default: throw new Error(type);
  }
}
const ANY_TYPES = ['long', 'string', 'bool', 'set', 'entity', 'record', 'ip', 'decimal', 'datetime', 'duration'];
function attrsFor(spec) {
  const out = {};
  for (const [name, type] of Object.entries(spec)) {
    if (chance(0.25)) continue; // missing
    out[name] = jsonValue(chance(0.85) ? type : pick(ANY_TYPES));
  }
  return out;
}

function genEntities() {
  // Distinct uids in a fixed order; parents only point backwards, so the hierarchy is acyclic.
  const uids = [];
  const seen = new Set();
  for (let i = 0; i < ri(2, 9); i++) {
    const u = randomUid();
    const k = uidText(u);
    if (!seen.has(k)) { seen.add(k); uids.push(u); }
  }
  const entities = uids.map((u, i) => {
    const candidates = uids.slice(i + 1).filter((p) => PARENT_TYPES[u.type].includes(p.type));
    const parents = [];
    for (const p of candidates) if (chance(0.5)) parents.push(p);
    // A parent that is not in the store (Cedar allows it). cedar-wasm rejects an entities file
    // whose hierarchy has a cycle, custody tolerates one (entities.h): never generate one.
    const dangling = randomUid(['Group', 'Album']);
    if (chance(0.1) && !seen.has(uidText(dangling))) parents.push(dangling);
    const e = { uid: u, attrs: attrsFor(ENTITY_ATTRS), parents };
    if (chance(0.5)) {
      e.tags = {};
      for (const t of TAGS) if (chance(0.5)) e.tags[t] = jsonValue(chance(0.7) ? 'string' : 'long');
    }
    return e;
  });
  // Action groups: view and edit are in read (sometimes), and read in delete (rarely).
  if (chance(0.7)) {
    entities.push({ uid: uid('Action', 'view'), attrs: {}, parents: [uid('Action', 'read')] });
    if (chance(0.5)) entities.push({ uid: uid('Action', 'edit'), attrs: {}, parents: [uid('Action', 'read')] });
    entities.push({ uid: uid('Action', 'read'), attrs: {}, parents: chance(0.2) ? [uid('Action', 'delete')] : [] });
  }
  return { entities, uids };
}

// ---------------- expressions (Cedar text) ----------------
// Every compound expression is parenthesized, so the text means what the generator built.
function genEntityExpr(d, uids) {
  const r = rnd();
  if (r < 0.35) return pick(['principal', 'resource']);
  if (r < 0.4) return 'action';
  if (r < 0.6) return uidText(uids.length && chance(0.7) ? pick(uids) : randomUid());
  if (r < 0.75 && d > 0) return `${genEntityExpr(d - 1, uids)}.owner`;
  if (r < 0.85) return 'context.who';
  if (d > 0) return `(if ${genBool(d - 1, uids)} then ${genEntityExpr(d - 1, uids)} else ${genEntityExpr(d - 1, uids)})`;
  return 'principal';
}
function attrTarget(d, uids) {
  return chance(0.35) ? 'context' : genEntityExpr(Math.min(d, 1), uids);
}
function attrAccess(type, d, uids) {
  const target = attrTarget(d, uids);
  const attrs = target === 'context' ? CONTEXT_ATTRS : ENTITY_ATTRS;
  return `${target}.${attrOfType(attrs, type)}`;
}
function genLong(d, uids) {
  const r = rnd();
  if (r < 0.002) return '9223372036854775808'; // does not fit: a parse error in both
  if (d <= 0 || r < 0.2) return chance(0.85) ? String(pick(LONGS)) : pick(BIG_LONGS);
  if (r < 0.45) return attrAccess('long', d, uids);
  if (r < 0.7) {
    const op = pick(['+', '-', '*']);
    return `(${genLong(d - 1, uids)} ${op} ${genLong(d - 1, uids)})`;
  }
  if (r < 0.75) return `(-${genLong(d - 1, uids)})`;
  if (r < 0.8) return `(if ${genBool(d - 1, uids)} then ${genLong(d - 1, uids)} else ${genLong(d - 1, uids)})`;
  if (r < 0.85) return `${genEntityExpr(0, uids)}.getTag(${str(pick(TAGS))})`;
  if (r < 0.92) return `${genExt('duration', d - 1, uids)}.${pick(['toMilliseconds', 'toSeconds', 'toMinutes', 'toHours', 'toDays'])}()`;
  if (r < 0.96) return `context.r.x`;
  return genAny(d - 1, uids); // possibly ill-typed
}
function genString(d, uids) {
  const r = rnd();
  if (r < 0.04) return pick(RAW_STRINGS);
  if (d <= 0 || r < 0.5) return str(pick(STRINGS));
  if (r < 0.8) return attrAccess('string', d, uids);
  if (r < 0.9) return `${genEntityExpr(0, uids)}.getTag(${str(pick(TAGS))})`;
  return `(if ${genBool(d - 1, uids)} then ${genString(d - 1, uids)} else ${genString(d - 1, uids)})`;
}
function genSet(d, uids) {
  const r = rnd();
  if (d <= 0 || r < 0.5) {
    const elem = pick([() => genLong(0, uids), () => str(pick(STRINGS.slice(0, 5))), () => genEntityExpr(0, uids)]);
    return `[${times(ri(0, 3), () => (chance(0.85) ? elem() : genAny(Math.max(d - 1, 0), uids))).join(', ')}]`;
  }
  if (r < 0.85) return attrAccess('set', d, uids);
  return `(if ${genBool(d - 1, uids)} then ${genSet(d - 1, uids)} else ${genSet(d - 1, uids)})`;
}
function genRecord(d, uids) {
  const r = rnd();
  if (r < 0.3) return 'context';
  if (r < 0.6) return attrAccess('record', d, uids);
  const fields = [];
  if (chance(0.8)) fields.push(`x: ${genLong(Math.max(d - 1, 0), uids)}`);
  if (chance(0.5)) fields.push(`"y": {z: ${genBool(Math.max(d - 1, 0), uids)}}`);
  if (chance(0.3)) fields.push(`"a b": ${genString(0, uids)}`);
  return `{${fields.join(', ')}}`;
}
function genExt(kind, d, uids) {
  const r = rnd();
  if (d <= 0 || r < 0.55) return `${EXT_CTOR[kind]}(${str(extArg(kind))})`;
  if (r < 0.8) return attrAccess(kind, d, uids);
  if (kind === 'datetime' && r < 0.9) return `${genExt('datetime', d - 1, uids)}.${pick(['toDate()', 'offset(' + genExt('duration', d - 1, uids) + ')'])}`;
  if (kind === 'duration' && r < 0.9) {
    return chance(0.5) ? `${genExt('datetime', d - 1, uids)}.toTime()`
      : `${genExt('datetime', d - 1, uids)}.durationSince(${genExt('datetime', d - 1, uids)})`;
  }
  return `(if ${genBool(d - 1, uids)} then ${genExt(kind, d - 1, uids)} else ${genExt(kind, d - 1, uids)})`;
}
function genAny(d, uids) {
  const t = pick(['long', 'string', 'bool', 'set', 'entity', 'record', 'ext']);
  switch (t) {
    case 'long': return genLong(d, uids);
    case 'string': return genString(d, uids);
    case 'bool': return genBool(d, uids);
    case 'set': return genSet(d, uids);
    case 'entity': return genEntityExpr(d, uids);
    case 'record': return genRecord(d, uids);
    default: return genExt(pick(['ip', 'decimal', 'datetime', 'duration']), d, uids);
  }
}
function likePattern() {
  const parts = times(ri(0, 4), () => pick(['*', 'a', 'b', 'al', 'ice', '\\*', ' ', 'é', '\\\\', '\\u{e9}', '\\x2a', '\\n']));
  return '"' + parts.join('') + '"';
}
function genBool(d, uids) {
  if (d <= 0) return pick(['true', 'false', 'context.b', 'principal.flag']);
  const d1 = d - 1;
  const r = ri(0, 27);
  switch (r) {
    case 0: return pick(['true', 'false']);
    case 1: return `(${genLong(d1, uids)} ${pick(['<', '<=', '>', '>='])} ${genLong(d1, uids)})`;
    case 2: case 3: {
      const t = pick(['long', 'string', 'entity', 'set', 'record', 'bool', 'any', 'ext']);
      const g = {
        long: genLong, string: genString, entity: genEntityExpr, set: genSet, record: genRecord, bool: genBool,
        any: genAny, ext: (dd, u) => genExt(pick(['ip', 'decimal', 'datetime', 'duration']), dd, u),
      }[t];
      return `(${g(d1, uids)} ${pick(['==', '!='])} ${chance(0.8) ? g(d1, uids) : genAny(d1, uids)})`;
    }
    case 4: case 5: {
      const target = attrTarget(d1, uids);
      const attrs = target === 'context' ? CONTEXT_ATTRS : ENTITY_ATTRS;
      const a = pick(Object.keys(attrs));
      // A guarded access: the common idiom, and the one short-circuiting must get right.
      if (chance(0.5)) return `(${target} has ${a})`;
      if (a === 'rec' || a === 'r') return `(${target} has ${a}.${pick(['x', 'y', 'y'])})`;
      return `((${target} has ${a}) && (${target}.${a} ${pick(['==', '!='])} ${genAny(0, uids)}))`;
    }
    case 6: return `(${genString(d1, uids)} like ${likePattern()})`;
    case 7: return `(${genEntityExpr(d1, uids)} in ${genEntityExpr(d1, uids)})`;
    case 8: return `(${genEntityExpr(d1, uids)} in [${times(ri(0, 3), () => genEntityExpr(0, uids)).join(', ')}])`;
    case 9: return `(${genEntityExpr(d1, uids)} is ${pick(ALL_TYPES)})`;
    case 10: return `(${genEntityExpr(d1, uids)} is ${pick(ALL_TYPES)} in ${genEntityExpr(d1, uids)})`;
    case 11: case 12: return `(${genBool(d1, uids)} ${pick(['&&', '||'])} ${genBool(d1, uids)})`;
    case 13: return `(!${genBool(d1, uids)})`;
    case 14: return `(if ${genBool(d1, uids)} then ${genBool(d1, uids)} else ${genBool(d1, uids)})`;
    case 15: return `${genSet(d1, uids)}.contains(${genAny(0, uids)})`;
    case 16: return `${genSet(d1, uids)}.${pick(['containsAll', 'containsAny'])}(${genSet(d1, uids)})`;
    case 17: return `${genSet(d1, uids)}.isEmpty()`;
    case 18: return `${genEntityExpr(0, uids)}.hasTag(${str(pick(TAGS))})`;
    case 19: {
      const e = genEntityExpr(0, uids);
      const t = str(pick(TAGS));
      return `(${e}.hasTag(${t}) && (${e}.getTag(${t}) ${pick(['==', '!='])} ${chance(0.5) ? genString(0, uids) : genLong(0, uids)}))`;
    }
    case 20: return `${genExt('ip', d1, uids)}.${pick(['isIpv4', 'isIpv6', 'isLoopback', 'isMulticast'])}()`;
    case 21: return `${genExt('ip', d1, uids)}.isInRange(${genExt('ip', d1, uids)})`;
    case 22: return `${genExt('decimal', d1, uids)}.${pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${genExt('decimal', d1, uids)})`;
    case 23: case 24: {
      const kind = pick(['datetime', 'duration']);
      return `(${genExt(kind, d1, uids)} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${genExt(chance(0.9) ? kind : 'decimal', d1, uids)})`;
    }
    case 25: return attrAccess('bool', d, uids);
    case 26: return `(${genRecord(d1, uids)} has ${pick(['x', 'y', '"a b"', 'z'])})`;
    default: return `(${genRecord(d1, uids)}.${pick(['x', 'y'])} == ${genAny(0, uids)})`;
  }
}

function genScope(varName, types, uids) {
  const someUid = () => (uids.length && chance(0.6) ? pick(uids) : randomUid(types));
  const r = rnd();
  if (r < 0.35) return varName;
  if (r < 0.55) return `${varName} == ${uidText(someUid())}`;
  if (r < 0.75) return `${varName} in ${uidText(someUid())}`;
  if (r < 0.88) return `${varName} is ${pick(types)}`;
  return `${varName} is ${pick(types)} in ${uidText(someUid())}`;
}
function genActionScope() {
  const r = rnd();
  if (r < 0.4) return 'action';
  if (r < 0.65) return `action == ${uidText(actionUid())}`;
  if (r < 0.85) return `action in ${uidText(actionUid())}`;
  return `action in [${times(ri(0, 3), () => uidText(actionUid())).join(', ')}]`;
}
function genPolicy(uids) {
  const effect = chance(0.7) ? 'permit' : 'forbid';
  const scope = `${genScope('principal', PRINCIPAL_TYPES, uids)}, ${genActionScope()}, ${genScope('resource', RESOURCE_TYPES, uids)}`;
  const conditions = times(ri(0, 2), () => `${chance(0.75) ? 'when' : 'unless'} { ${genBool(ri(1, 4), uids)} }`);
  return `${effect} (${scope})${conditions.length ? '\n  ' + conditions.join('\n  ') : ''};`;
}

const genContext = () => attrsFor(CONTEXT_ATTRS);
function genCase() {
  const { entities, uids } = genEntities();
  // Now and then a set of more than 64 policies: custody's scope index works on 64-bit words
  // and evaluates boolean subexpressions that several policies share once (policy_set.h).
  const policies = times(chance(0.03) ? ri(65, 130) : ri(1, 6), () => genPolicy(uids));
  const requests = times(REQUESTS, () => ({
    principal: uids.length && chance(0.8) ? pick(uids) : randomUid(PRINCIPAL_TYPES),
    action: actionUid(),
    resource: uids.length && chance(0.8) ? pick(uids) : randomUid(RESOURCE_TYPES),
    context: genContext(),
  }));
  return { policies, entities, requests };
}

// ---------------- the two engines ----------------
const caseLine = (c) => JSON.stringify({ policies: c.policies.join('\n'), entities: c.entities, requests: c.requests });

// custody: all cases through one cedar_eval process; one answer line per request.
function custody(cases) {
  const binary = process.env.CEDAR_EVAL;
  const r = spawnSync(binary, [], {
    input: cases.map(caseLine).join('\n') + '\n',
    maxBuffer: 1 << 30,
    env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1:abort_on_error=1' },
  });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `cedar_eval exited with ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  const lines = r.stdout.toString().split('\n').filter((l) => l.length);
  const out = [];
  let i = 0;
  for (const c of cases) out.push(c.requests.map(() => normalize(JSON.parse(lines[i++]))));
  assert.equal(i, lines.length, 'cedar_eval answered a different number of requests');
  return out;
}
function official(c) {
  // A policy text: cedar-wasm names its policies policy0, policy1, … as cedar_eval does.
  const policies = { staticPolicies: c.policies.join('\n') };
  return c.requests.map((q) => {
    const a = cedar.isAuthorized({ ...q, policies, entities: c.entities });
    if (a.type !== 'success') return { failure: true, why: a.errors.map((e) => e.message).join('; ') };
    const d = a.response.diagnostics;
    return normalize({ decision: a.response.decision, reason: d.reason, errors: d.errors.map((e) => e.policyId) });
  });
}
function normalize(a) {
  if (a.failure !== undefined) return { failure: true, why: a.why ?? a.failure };
  return { decision: a.decision, reason: [...a.reason].sort(), errors: [...a.errors].sort() };
}
const same = (x, y) =>
  (x.failure && y.failure) ||
  (!x.failure && !y.failure && x.decision === y.decision &&
   JSON.stringify(x.reason) === JSON.stringify(y.reason) && JSON.stringify(x.errors) === JSON.stringify(y.errors));

// The first request of `c` on which the engines disagree, or -1.
function disagreement(c) {
  const mine = custody([c])[0];
  const theirs = official(c);
  return mine.findIndex((m, i) => !same(m, theirs[i]));
}
// Removes policies and entities one at a time while the disagreement stays (policy ids are
// positional, so the answers are recomputed each time).
function reduce(c, index) {
  let cur = { ...c, requests: [c.requests[index]] };
  for (const key of ['policies', 'entities']) {
    for (let i = cur[key].length - 1; i >= 0; i--) {
      if (key === 'policies' && cur.policies.length === 1) break;
      const candidate = { ...cur, [key]: cur[key].filter((_, j) => j !== i) };
      if (disagreement(candidate) === 0) cur = candidate;
    }
  }
  if (Object.keys(cur.requests[0].context).length) {
    for (const k of Object.keys(cur.requests[0].context)) {
      const context = { ...cur.requests[0].context };
      delete context[k];
      const candidate = { ...cur, requests: [{ ...cur.requests[0], context }] };
      if (disagreement(candidate) === 0) cur = candidate;
    }
  }
  return cur;
}

test(`Cedar: custody agrees with cedar-wasm ${cedar.getCedarSDKVersion()} (seed ${SEED}, ${CASES} cases)`, () => {
  assert.ok(process.env.CEDAR_EVAL, 'CEDAR_EVAL must name the cedar_eval binary');
  const t0 = Date.now();
  const cases = times(CASES, genCase);
  const mine = custody(cases);
  const t1 = Date.now();
  let requests = 0, allows = 0, errors = 0, failures = 0;
  const failureKinds = new Map();
  for (let n = 0; n < cases.length; n++) {
    const theirs = official(cases[n]);
    for (let i = 0; i < theirs.length; i++) {
      requests++;
      if (theirs[i].failure) {
        failures++;
        const why = theirs[i].why.slice(0, 160);
        failureKinds.set(why, (failureKinds.get(why) ?? 0) + 1);
      }
      else {
        if (theirs[i].decision === 'allow') allows++;
        if (theirs[i].errors.length) errors++;
      }
      if (same(mine[n][i], theirs[i])) continue;
      const r = reduce(cases[n], i);
      const [m] = custody([r])[0];
      const [o] = official(r);
      assert.fail(
        `custody and cedar-wasm disagree (seed ${SEED}, case ${n}, request ${i}; reduced):\n` +
        `--- policies\n${r.policies.join('\n')}\n` +
        `--- entities\n${JSON.stringify(r.entities)}\n` +
        `--- request\n${JSON.stringify(r.requests[0])}\n` +
        `--- custody\n${JSON.stringify(m)}\n--- cedar-wasm\n${JSON.stringify(o)}`);
    }
  }
  const secs = (Date.now() - t0) / 1000;
  console.log(`${cases.length} cases, ${requests} requests agree (${allows} allow, ${errors} with ` +
    `policy errors, ${failures} failed calls) in ${secs.toFixed(1)} s ` +
    `(custody ${((t1 - t0) / 1000).toFixed(1)} s incl. generation); ${(cases.length / secs).toFixed(0)} cases/s`);
  if (process.env.CEDAR_DIFF_VERBOSE) console.log([...failureKinds].sort((a, b) => b[1] - a[1]).slice(0, 8));
  // The generator must keep producing cases that exercise the engines, not only failures.
  assert.ok(failures < requests / 4, `too many failed calls: ${failures} of ${requests}`);
  assert.ok(allows > requests / 20, `too few allows: ${allows} of ${requests}`);
});
