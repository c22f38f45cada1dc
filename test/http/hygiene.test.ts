import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { Answer, Client } from '../helpers/client.js';
import { projectRoot } from '../helpers/cli.js';
import { databases } from '../helpers/db.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import { prng } from '../helpers/prng.js';

const PROBLEM = 'application/problem+json; charset=utf-8';

function expectProblem(r: Answer, status: number, code: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe(PROBLEM);
  expect(r.body).toMatchObject({ status, code });
}

// ---------------------------------------------------------------------------------------------
// A small, reproducible generator of malformed requests, driven by the OpenAPI document.

/** A seeded generator (test/helpers/prng.ts), so a failing case can be replayed. */
function seeded(seed: number) {
  const next = prng(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof seeded>;

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  items?: JsonSchema;
}

interface Route {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  params: string[];
  body: JsonSchema | undefined;
}

interface FuzzCase {
  kind: string;
  route: Route;
  url: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const branch = (s: JsonSchema): JsonSchema => s.anyOf?.[0] ?? s.oneOf?.[0] ?? s;

/** A plausible value for a schema; mutations below make it invalid on purpose. */
function sample(schema: JsonSchema): Json {
  const s = branch(schema);
  if (s.const !== undefined) return s.const as Json;
  if (s.enum) return s.enum[0] as Json;
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      if (s.format === 'email') return 'fuzz.target@example.com';
      return 'a'.repeat(Math.max(s.minLength ?? 1, 6));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return [];
    default: {
      const out: { [k: string]: Json } = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) out[k] = sample(v);
      return out;
    }
  }
}

/** Whether `value` has a JSON type the schema allows (types only: enough to pick a wrong one). */
function typeFits(schema: JsonSchema, value: Json): boolean {
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts) return alts.some((a) => typeFits(a, value));
  if (schema.const !== undefined) return value === schema.const;
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length === 0) return true;
  const actual =
    value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
  return types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
}

const WRONG_VALUES: Json[] = [0, -1, 1.5, 1e308, true, false, null, [], [1, 'a'], {}, { a: 1 }, '', 'x', '0'];
const UNKNOWN_KEYS = ['isAdmin', 'role2', 'aal', 'admin', 'extra', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '$where', 'email2', 'X'];
const CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/pskc+xml',
  'application/octet-stream',
  'application/jsonx',
  'image/png',
];
const BAD_JSON = ['{', '}', '{"a":}', '{"a":1,}', "{'a':1}", '{a:1}', 'NaN', 'undefined', '{"a":1}{"b":2}', '[1,2', '{"a":"\\x41"}', '{"a":"\u0001"}', '/* c */ {}', '{"a":01}', '--', 'nul', '"unterminated'];
const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc3, 0x28],
  [0xa0, 0xa1],
  [0xe2, 0x28, 0xa1],
  [0xf0, 0x28, 0x8c, 0x28],
  [0xc0, 0xaf], // overlong "/"
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded in UTF-8
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82], // truncated
];
/** Raw path segments: broken percent-encoding that the router itself refuses. */
const RAW_BAD_IDS = ['%zz', '%', '%E0%A4%A', '%C0%AF', '%FF'];
const badId = (rng: Rng) => (rng.next() < 0.3 ? rng.pick(RAW_BAD_IDS) : encodeURIComponent(rng.pick(BAD_IDS)));
const BAD_IDS = ['a b', 'x'.repeat(65), '..', 'é', '<a>', "' OR 1=1 --", 'a/b', 'a.b', '%00', '\u0000', '🔐', 'x'.repeat(250)];

function nested(depth: number, asArray: boolean): string {
  return asArray ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function serialize(o: { [k: string]: Json }, extra = ''): string {
  const inner = JSON.stringify(o).slice(1, -1);
  return `{${[extra, inner].filter(Boolean).join(',')}}`;
}

/** `o` as JSON with the value of `key` replaced by raw JSON text (or bytes). */
function withRaw(o: { [k: string]: Json }, key: string, raw: string | Buffer): string | Buffer {
  const marker = '\u0000RAW\u0000';
  const [head, tail] = JSON.stringify({ ...o, [key]: marker }).split(JSON.stringify(marker)) as [string, string];
  return typeof raw === 'string' ? head + raw + tail : Buffer.concat([Buffer.from(head), raw, Buffer.from(tail)]);
}

/** One malformed request for a route: every kind here is invalid whatever the route's semantics. */
function makeCase(rng: Rng, route: Route, goodId: () => string): FuzzCase {
  const ids = Object.fromEntries(route.params.map((p) => [p, goodId()]));
  const url = (over: Record<string, string> = {}) =>
    route.path.replace(/\{(\w+)\}/g, (_, p: string) => over[p] ?? encodeURIComponent(ids[p]!));
  const json = { 'content-type': 'application/json' };
  const schema = route.body ? branch(route.body) : undefined;
  const base = schema ? (sample(schema) as { [k: string]: Json }) : {};
  const props = Object.keys(schema?.properties ?? {});
  const done = (kind: string, body: string | Buffer | undefined, headers: Record<string, string> = json, path = url()): FuzzCase => ({
    kind,
    route,
    url: path,
    headers,
    body,
  });

  const kinds = ['wrong_type', 'missing', 'unknown', 'huge', 'deep', 'bad_json', 'utf8', 'proto', 'content_type', 'number_string', 'null', 'array', 'scalar', 'bad_id'];
  for (;;) {
    const kind = rng.pick(kinds);
    if (!schema) {
      // No body in the contract: anything but nothing (or `{}`) is unknown input.
      switch (kind) {
        case 'bad_id':
          if (route.params.length === 0) continue;
          return done(kind, undefined, {}, url({ [rng.pick(route.params)]: badId(rng) }));
        case 'unknown':
          return done(kind, JSON.stringify({ [rng.pick(UNKNOWN_KEYS)]: rng.pick(WRONG_VALUES) }));
        case 'huge':
          return done(kind, JSON.stringify({ a: 'A'.repeat(1000 + rng.int(80_000)) }));
        case 'deep':
          return done(kind, nested(500 + rng.int(20_000), rng.next() < 0.5));
        case 'bad_json':
          return done(kind, rng.pick(BAD_JSON));
        case 'utf8':
          return done(kind, Buffer.concat([Buffer.from('{"a":"'), Buffer.from(rng.pick(INVALID_UTF8)), Buffer.from('"}')]));
        case 'proto':
          return done(kind, rng.pick(['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '{"prototype":1}', '{"a":{"__proto__":{}}}']));
        case 'content_type':
          return done(kind, rng.pick(['x', 'a=1&b=2', '<a/>', '{"a":1}']), { 'content-type': rng.pick(CONTENT_TYPES) });
        case 'null':
          return done(kind, 'null');
        case 'array':
          return done(kind, rng.pick(['[]', '[{}]', '[1,2,3]']));
        default:
          return done('scalar', JSON.stringify(rng.pick(WRONG_VALUES.filter((v) => v !== null && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)))));
      }
    }
    switch (kind) {
      case 'wrong_type': {
        if (props.length === 0) continue;
        const p = rng.pick(props);
        const wrong = WRONG_VALUES.filter((v) => !typeFits(schema.properties![p]!, v));
        if (wrong.length === 0) continue;
        return done(kind, JSON.stringify({ ...base, [p]: rng.pick(wrong) }));
      }
      case 'missing': {
        const required = schema.required ?? [];
        if (required.length === 0) continue;
        const copy = { ...base };
        delete copy[rng.pick(required)];
        return done(kind, JSON.stringify(copy));
      }
      case 'unknown':
        if (schema.additionalProperties !== false) continue;
        return done(kind, JSON.stringify({ ...base, [rng.pick(UNKNOWN_KEYS) + (rng.next() < 0.3 ? String(rng.int(99)) : '')]: rng.pick(WRONG_VALUES) }));
      case 'huge': {
        const strings = props.filter((p) => typeFits(schema.properties![p]!, 'x'));
        if (strings.length === 0) continue;
        const p = rng.pick(strings);
        const max = schema.properties![p]!.maxLength;
        // Over the field's limit, or over the whole body limit (413).
        const length = max !== undefined && rng.next() < 0.6 ? max + 1 + rng.int(2000) : 70_000 + rng.int(100_000);
        return done(kind, JSON.stringify({ ...base, [p]: rng.pick(['A', 'é', '🔐', '\u0000']).repeat(length) }));
      }
      case 'deep': {
        const depth = 200 + rng.int(20_000);
        const leafy = props.filter((p) => !typeFits(schema.properties![p]!, {}) && !typeFits(schema.properties![p]!, []));
        if (leafy.length === 0 || rng.next() < 0.3) return done(kind, nested(depth, true));
        return done(kind, withRaw(base, rng.pick(leafy), nested(depth, rng.next() < 0.5)));
      }
      case 'bad_json':
        return done(kind, rng.next() < 0.5 ? rng.pick(BAD_JSON) : JSON.stringify(base).slice(0, -1 - rng.int(3)));
      case 'utf8': {
        const strings = props.filter((p) => typeFits(schema.properties![p]!, 'x'));
        const p = strings.length ? rng.pick(strings) : 'a';
        return done(kind, withRaw(base, p, Buffer.concat([Buffer.from('"ok'), Buffer.from(rng.pick(INVALID_UTF8)), Buffer.from('"')])));
      }
      case 'proto': {
        const key = rng.pick(['__proto__', 'constructor', 'prototype']);
        const where = rng.next();
        if (where < 0.5) return done(kind, serialize(base, `"${key}":{"role":"admin","isAdmin":true}`));
        if (props.length === 0) continue;
        return done(kind, withRaw(base, rng.pick(props), `{"${key}":{"polluted":true}}`));
      }
      case 'content_type': {
        const ct = rng.pick(CONTENT_TYPES);
        const body = ct.startsWith('application/x-www') ? new URLSearchParams(Object.entries(base).map(([k, v]) => [k, String(v)])).toString() : JSON.stringify(base);
        return done(kind, body, { 'content-type': ct });
      }
      case 'number_string': {
        const nonString = props.filter((p) => !typeFits(schema.properties![p]!, 'x') && typeFits(schema.properties![p]!, 1));
        const boolish = props.filter((p) => typeFits(schema.properties![p]!, true) && !typeFits(schema.properties![p]!, 'true'));
        if (nonString.length || boolish.length) {
          const p = rng.pick([...nonString, ...boolish]);
          return done(kind, JSON.stringify({ ...base, [p]: String(base[p]) }));
        }
        const strings = props.filter((p) => !typeFits(schema.properties![p]!, 1) && typeFits(schema.properties![p]!, 'x'));
        if (strings.length === 0) continue;
        return done(kind, JSON.stringify({ ...base, [rng.pick(strings)]: rng.pick([123456, 0, 1e21, -7]) }));
      }
      case 'null': {
        const nonNull = props.filter((p) => !typeFits(schema.properties![p]!, null));
        if (nonNull.length === 0 || rng.next() < 0.2) return done(kind, 'null');
        return done(kind, JSON.stringify({ ...base, [rng.pick(nonNull)]: null }));
      }
      case 'array':
        return done(kind, JSON.stringify(rng.pick([[base], [], [base, base]])));
      case 'scalar':
        return done(kind, JSON.stringify(rng.pick(['string', 42, true, 0, ''])));
      case 'bad_id':
        if (route.params.length === 0) continue;
        return done(kind, JSON.stringify(base), json, url({ [rng.pick(route.params)]: badId(rng) }));
    }
  }
}

const LEAKS = ['stack', 'at /', 'select ', 'sqlite', 'error:', 'postgres', 'kysely', 'node_modules', '/src/', projectRoot.toLowerCase()];

/** Sends the cases a few at a time; returns the ones whose answer broke a rule. */
async function fire(c: Client, cases: FuzzCase[]): Promise<string[]> {
  const broken: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const k = cases[next++]!;
      let r: Answer;
      try {
        r = await c.request(k.route.method, k.url, k.body, k.headers);
      } catch (err) {
        broken.push(`${k.kind} ${k.route.method} ${k.url}: transport error ${String(err)}`);
        continue;
      }
      const ct = r.headers.get('content-type') ?? '';
      const body = r.body as { code?: unknown; status?: unknown } | string;
      const lower = r.text.toLowerCase();
      const leak = LEAKS.find((l) => lower.includes(l));
      const ok =
        r.status >= 400 &&
        r.status < 500 &&
        ct.startsWith('application/problem+json') &&
        typeof body === 'object' &&
        typeof body.code === 'string' &&
        /^[a-z_]+$/.test(body.code) &&
        body.status === r.status &&
        leak === undefined;
      if (!ok) {
        const shown = typeof k.body === 'string' ? k.body.slice(0, 80) : k.body ? `<${k.body.length} bytes>` : '';
        broken.push(`${k.kind} ${k.route.method} ${k.url} [${k.headers['content-type'] ?? ''}] ${shown} → ${r.status} ${ct} ${r.text.slice(0, 200)}${leak ? ` (leaks "${leak}")` : ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return broken;
}

async function contractRoutes(server: TestServer): Promise<Route[]> {
  const doc = (await server.client().get<{ paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>> }>(
    '/openapi.json',
  )).body;
  const routes: Route[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const m = method.toUpperCase();
      if (m !== 'POST' && m !== 'PUT' && m !== 'PATCH' && m !== 'DELETE') continue;
      routes.push({
        method: m,
        path,
        params: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return routes;
}

// ---------------------------------------------------------------------------------------------

const METRICS_TOKEN = 'metrics-token-for-the-hygiene-tests-0123456789';

describe.each(databases)('HTTP hygiene ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name, env: { MAMORI_METRICS_TOKEN: METRICS_TOKEN } });
    await createTestUser(server, 'fuzz.target@example.com');
    await createTestUser(server, 'origin@example.com');
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('answers health, readiness, metrics and its OpenAPI document', async () => {
    const c = server.client();
    const health = await c.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    expect((await c.get('/readyz')).status).toBe(200);
    const metrics = await c.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('# TYPE mamori_sign_ins_total counter');
    // The latency histogram counts each answer under its route and status (the /healthz above).
    expect(metrics.text).toMatch(/mamori_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} [1-9]/);
    const doc = await c.get<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\.1\./);
    expect(doc.body.paths['/api/v1/sign-in']).toHaveProperty('post');
    expect(doc.body.paths['/api/v1/setup']).toHaveProperty('post');
    expect(doc.body.paths['/api/v1/me/sessions/{id}']).toHaveProperty('delete');
  });

  it.skipIf(skip)('serves /metrics only with the bearer token: 401 without it or with a wrong one', async () => {
    const c = server.client();
    const refusals = [
      await c.get('/metrics'),
      await c.get('/metrics', { authorization: 'Bearer wrong-token-of-the-same-kind-0123456789ab' }),
      await c.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}x` }),
      await c.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` }),
      await c.get('/metrics', { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` }),
      await c.get('/metrics', { authorization: METRICS_TOKEN }),
    ];
    for (const r of refusals) {
      expectProblem(r, 401, 'unauthenticated');
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="mamori-metrics"');
      expect(r.text).not.toContain('mamori_');
    }
    // The scheme is case-insensitive (RFC 9110), the token is not.
    expect((await c.get('/metrics', { authorization: `bearer ${METRICS_TOKEN}` })).status).toBe(200);
    expect((await c.get('/metrics', { authorization: `Bearer ${METRICS_TOKEN.toUpperCase()}` })).status).toBe(401);
  });

  it.skipIf(skip)('has no /metrics at all when MAMORI_METRICS_TOKEN is unset: the 404 of any unknown route', async () => {
    const app = await buildApp({ ...server.services, config: { ...server.services.config, metricsToken: undefined } });
    try {
      for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}`]) {
        const r = await app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
        const unknown = await app.inject({ method: 'GET', url: '/metricz' });
        expect(r.statusCode).toBe(404);
        expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(r.json()).toMatchObject({ status: 404, code: 'not_found' });
        expect(Object.keys(r.json() as object)).toEqual(Object.keys(unknown.json() as object));
        expect(r.body).not.toContain('mamori_');
      }
    } finally {
      await app.close();
    }
  });

  it.skipIf(skip)('sends security headers, also on errors', async () => {
    const c = server.client();
    // Answers that are not pages: a document there may load nothing and be framed nowhere.
    for (const r of [await c.get('/healthz'), await c.get('/no/such/page'), await c.post('/api/v1/sign-in', { email: 'x' }), await c.get('/api/v1/session')]) {
      expect(r.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(r.headers.get('x-powered-by')).toBeNull();
      expect(r.headers.get('server')).toBeNull();
    }
    // The console's pages: the policy that lets them load their own script and style, and nothing else.
    // (The pages may be a redirect to the public URL, which the test server's address is not.)
    for (const r of [await c.get('/console/'), await c.get('/console/sign-in'), await c.get('/console/app.js')]) {
      expect(r.status).toBeLessThan(400);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    }
    expect((await c.get('/api/v1/session')).headers.get('cache-control')).toBe('no-store');
  });

  it.skipIf(skip)('answers an unknown route with problem+json 404', async () => {
    const r = await server.client().get('/api/v1/nothing-here');
    expectProblem(r, 404, 'not_found');
    expect(r.body).toMatchObject({ type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
    expectProblem(await server.client().post('/api/v1/nothing-here', {}), 404, 'not_found');
  });

  it.skipIf(skip)('refuses state-changing requests from another origin', async () => {
    const c = server.client();
    const body = { email: 'origin@example.com', password: STRONG_PASSWORD };
    for (const origin of ['https://evil.example', 'null', `${server.config.publicUrl}.evil.example`, server.config.publicUrl.replace('http:', 'https:')]) {
      const r = await c.post('/api/v1/sign-in', body, { origin });
      expectProblem(r, 403, 'forbidden_origin');
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    expectProblem(await c.post('/api/v1/sign-in', body, { 'sec-fetch-site': 'cross-site' }), 403, 'forbidden_origin');
    expectProblem(await c.request('DELETE', '/api/v1/me/sessions/abc', undefined, { origin: 'https://evil.example' }), 403, 'forbidden_origin');
    expectProblem(await c.request('PUT', '/api/v1/me/password', { currentPassword: 'a', newPassword: 'b' }, { origin: 'https://evil.example' }), 403, 'forbidden_origin');

    const same = await c.post('/api/v1/sign-in', body, { origin: server.config.publicUrl, 'sec-fetch-site': 'same-origin' });
    expect(same.status, same.text).toBe(200);
    expect(same.body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number) });
    // A GET is not state-changing: no origin check.
    expect((await c.get('/healthz', { origin: 'https://evil.example' })).status).toBe(200);
  });

  it.skipIf(skip)('refuses an oversized body with 413', async () => {
    const r = await server.client().post('/api/v1/sign-in', { email: 'origin@example.com', password: 'p'.repeat(server.config.bodyLimitBytes) });
    expectProblem(r, 413, 'payload_too_large');
  });

  it.skipIf(skip)('answers 1000+ generated malformed requests with 4xx problem+json and changes nothing', async () => {
    const routes = await contractRoutes(server);
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    // The contract's state-changing routes that exist today must all be under test.
    for (const k of ['POST /api/v1/setup', 'POST /api/v1/sign-in', 'POST /api/v1/sign-in/email-code', 'POST /api/v1/sign-out', 'DELETE /api/v1/me/sessions/{id}', 'PUT /api/v1/me/password', 'POST /api/v1/admin/users', 'PATCH /api/v1/admin/users/{id}', 'POST /api/v1/admin/users/{id}/unlock']) {
      expect(keys).toContain(k);
    }
    const rng = seeded(0x6d616d6f);
    const someId = () => rng.pick(['AAAAAAAAAAAAAAAAAAAAAA', 'user_1', 'x', 'Zm9vYmFy-_']);

    const users = await server.services.users.count();
    const target = (await server.services.users.findByEmail('fuzz.target@example.com'))!;
    const signedIn = await signIn(server, 'fuzz.target@example.com');
    const mySessions = async () => (await signedIn.get<{ sessions: Array<{ id: string; current: boolean }> }>('/api/v1/me/sessions')).body.sessions;
    const before = await mySessions();
    const myId = before.find((x) => x.current)!.id;

    // Anonymous: every state-changing route; signed in: /api/v1/me and everything under it, aimed at real ids.
    const anonymous = routes.flatMap((route) => Array.from({ length: 40 }, () => makeCase(rng, route, someId)));
    const mine = routes
      .filter((r) => r.path === '/api/v1/me' || r.path.startsWith('/api/v1/me/'))
      .flatMap((route) => Array.from({ length: 40 }, () => makeCase(rng, route, () => rng.pick([myId, myId, someId()]))));
    expect(anonymous.length + mine.length).toBeGreaterThanOrEqual(1000);
    const kinds = new Set([...anonymous, ...mine].map((k) => k.kind));
    expect([...kinds].sort()).toEqual(['array', 'bad_id', 'bad_json', 'content_type', 'deep', 'huge', 'missing', 'null', 'number_string', 'proto', 'scalar', 'unknown', 'utf8', 'wrong_type']);

    const broken = [...(await fire(server.client(), anonymous)), ...(await fire(signedIn, mine))];
    expect(broken.slice(0, 15), `${broken.length} of ${anonymous.length + mine.length} answers broke the rules`).toEqual([]);

    // Still up, and nothing changed.
    const health = await server.client().get('/healthz');
    expect(health.status).toBe(200);
    expect(await server.services.users.count()).toBe(users);
    expect((await server.client().get('/api/v1/setup')).body).toEqual({ needed: false });
    expect((await signedIn.get('/api/v1/session')).status).toBe(200);
    expect((await mySessions()).map((x) => x.id).sort()).toEqual(before.map((x) => x.id).sort());
    const after = (await server.services.users.findByEmail('fuzz.target@example.com'))!;
    expect(after.password_hash).toBe(target.password_hash);
    expect(after.role).toBe('user');
    expect([after.name, after.locale, after.email]).toEqual([target.name, target.locale, target.email]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const fresh = await signIn(server, 'fuzz.target@example.com', STRONG_PASSWORD);
    expect((await fresh.get('/api/v1/session')).status).toBe(200);
  });
});

describe('errors raised before routing', () => {
  it('are problem+json with the same security headers', async () => {
    const server = await startServer();
    try {
      for (const path of ['/api/v1/me/sessions/%zz', `/api/v1/me/sessions/${'x'.repeat(300)}`]) {
        const r = await server.client().delete(path);
        expect(r.status).toBe(400);
        expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      }
    } finally {
      await server.close();
    }
  });
});
