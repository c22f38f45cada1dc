/**
 * `npm run bench`: drives the real server (`node bin/mamori.js serve`, child processes) over
 * loopback and prints one table. A plain node:http server, measured in the same run, is the ceiling.
 *
 * Throughput rows: autocannon, fixed duration and connection count, after a short warm-up.
 * TOTP rows: closed-loop latency on a second server started with MAMORI_TEST_CLOCK=true, because a
 * TOTP step is accepted once per device, so the bench has to move server time 30 s per iteration.
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HOST, call, cleanup, cookieOf, expectStatus, field, interrupted, startHello, startMamori, stopChild, stringField, type Mamori } from './harness.js';
import { PasswordHasher } from '../src/methods/password/hasher.js';
import { hotp, timeStep } from '../src/methods/totp/otp.js';
import { base32Decode } from '../src/methods/totp/otpauth.js';

const CONNECTIONS = 20;
const DURATION_S = 5;
const WARMUP_S = 1;
/** Users without MFA for the right-password row: each may be mailed 10 codes an hour. */
const USERS = 200;
const TOTP_ITERATIONS = 200;
const OTP = { algorithm: 'SHA1', digits: 6 } as const;
const randomPassword = () => `bench ${randomBytes(12).toString('base64url')} pass phrase`;

// ---------------------------------------------------------------------------------------------
// Getting users and sessions through the public API

function latestSignInCode(dataDir: string, email: string): string {
  const dir = path.join(dataDir, 'outbox');
  const names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort().reverse();
  for (const name of names) {
    const mail = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as unknown;
    if (field(mail, 'kind') !== 'email_code' || field(mail, 'to') !== email) continue;
    const m = /\b(\d{6})\b/.exec(stringField(mail, 'text'));
    if (m) return m[1]!;
  }
  throw new Error(`no sign-in code for ${email} in ${dir}`);
}

/** First administrator with the setup token, then password + emailed code: an aal-1 session cookie. */
async function setupAdmin(m: Mamori, email: string, password: string): Promise<string> {
  const setupToken = readFileSync(path.join(m.dataDir, 'setup-token'), 'utf8').trim();
  expectStatus(await call(m.url, 'POST', '/api/v1/setup', { json: { email, password, setupToken } }), 201, 'POST /api/v1/setup');
  const first = expectStatus(await call(m.url, 'POST', '/api/v1/sign-in', { json: { email, password } }), 200, 'POST /api/v1/sign-in');
  if (field(first.body, 'status') !== 'email_code_sent') throw new Error(`sign-in: ${JSON.stringify(first.body)}`);
  const code = latestSignInCode(m.dataDir, email);
  const second = expectStatus(
    await call(m.url, 'POST', '/api/v1/sign-in/email-code', { json: { code }, cookie: `mamori_signin=${cookieOf(first, 'mamori_signin')}` }),
    200,
    'POST /api/v1/sign-in/email-code',
  );
  return cookieOf(second, 'mamori_session');
}

/** Assigns an authenticator app (codes of steps S and S+1); returns its key and the raised (aal 2) session. */
async function enrollTotp(m: Mamori, session: string, serverNowMs: () => number): Promise<{ key: Buffer; session: string }> {
  const started = expectStatus(
    await call(m.url, 'POST', '/api/v1/me/mfa-devices/totp', { json: { name: 'bench' }, cookie: `mamori_session=${session}` }),
    201,
    'POST /api/v1/me/mfa-devices/totp',
  );
  const key = base32Decode(stringField(started.body, 'secret'));
  const step = timeStep(serverNowMs(), 30);
  const activated = expectStatus(
    await call(m.url, 'POST', `/api/v1/me/mfa-devices/${stringField(started.body, 'id')}/activate`, {
      json: { code1: hotp(key, step, OTP), code2: hotp(key, step + 1n, OTP) },
      cookie: `mamori_session=${session}`,
    }),
    200,
    'POST /api/v1/me/mfa-devices/{id}/activate',
  );
  return { key, session: cookieOf(activated, 'mamori_session') };
}

async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Row {
  name: string;
  mode: string;
  rps: number;
  p50: number;
  p99: number;
  count: number;
  errors: number;
  note: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A new body for every request (autocannon's setupRequest). */
  body?: () => string;
  expected: number;
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  count: number;
  errors: number;
  statuses: Record<string, number>;
}

/** One autocannon run; latencies are kept here as floats (autocannon's histogram is whole ms). */
function load(spec: LoadSpec, durationS: number): Promise<LoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const body = spec.body;
    const instance = autocannon(
      {
        url: spec.url,
        connections: CONNECTIONS,
        duration: durationS,
        method: spec.method ?? 'GET',
        ...(spec.headers ? { headers: spec.headers } : {}),
        ...(body ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) }] } : {}),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const statuses: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
        const unexpected = Object.entries(statuses).reduce((n, [code, c]) => (Number(code) === spec.expected ? n : n + c), 0);
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          rps: result.requests.total / result.duration,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          count: result.requests.total,
          errors: result.errors + unexpected,
          statuses,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
}

async function throughputRow(name: string, note: string, spec: LoadSpec): Promise<Row> {
  process.stderr.write(`bench: ${name}…\n`);
  await load(spec, WARMUP_S);
  const r = await load(spec, DURATION_S);
  const odd = Object.entries(r.statuses).filter(([code]) => Number(code) !== spec.expected);
  const extra = odd.length ? `; got ${odd.map(([code, n]) => `${n}×${code}`).join(', ')}` : '';
  return { name, mode: `${CONNECTIONS} conn`, rps: r.rps, p50: r.p50, p99: r.p99, count: r.count, errors: r.errors, note: note + extra };
}

function closedLoopRow(name: string, note: string, samples: number[], errors: number): Row {
  const sorted = Float64Array.from(samples).sort();
  const mean = samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length);
  return { name, mode: '1 conn, seq.', rps: samples.length ? 1000 / mean : NaN, p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: samples.length, errors, note };
}

async function argon2Row(): Promise<Row> {
  const hasher = new PasswordHasher();
  const stored = await hasher.hash(randomPassword());
  await hasher.verify(stored, 'warm-up guess, not the password');
  const samples: number[] = [];
  const until = performance.now() + 3_000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await hasher.verify(stored, 'a wrong guess of some length');
        samples.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(samples).sort();
  return {
    name: 'argon2id verify alone (ceiling of 4–5)',
    mode: `${CONNECTIONS} callers`,
    rps: samples.length / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    count: samples.length,
    errors: 0,
    note: "the server's PasswordHasher in the bench process (2 at a time), no HTTP, no database",
  };
}

// ---------------------------------------------------------------------------------------------
// The run

const jsonHeaders = { 'content-type': 'application/json' };

const loadAtStart = os.loadavg();

async function main(): Promise<Row[]> {
  const rows: Row[] = [];

  // 1. The ceiling: plain node:http in its own process, same loopback, same client.
  const hello = await startHello();
  rows.push(await throughputRow('node:http hello (ceiling)', 'plain http.createServer, own process', { url: `${hello.url}/`, expected: 200 }));
  await stopChild(hello.child);

  // The argon2id ceiling for the password rows: the server's own hasher (same parameters, same
  // gate of two at a time), no HTTP, no database.
  process.stderr.write('bench: argon2id verify alone…\n');
  rows.push(await argon2Row());

  // Server A: production settings (apart from logs at warn and the per-address limit off).
  process.stderr.write('bench: starting mamori (A) and creating users…\n');
  const a = await startMamori('a');
  const adminEmail = 'bench-admin@example.com';
  const adminPassword = randomPassword();
  const adminSession = await setupAdmin(a, adminEmail, adminPassword);
  const raised = await enrollTotp(a, adminSession, () => Date.now());
  const userPassword = randomPassword();
  const emails = Array.from({ length: USERS }, (_, i) => `bench-user-${String(i).padStart(4, '0')}@example.com`);
  await inPool(emails, 4, async (email) => {
    expectStatus(
      await call(a.url, 'POST', '/api/v1/admin/users', { json: { email, password: userPassword }, cookie: `mamori_session=${raised.session}` }),
      201,
      'POST /api/v1/admin/users',
    );
  });

  rows.push(await throughputRow('GET /healthz', 'Fastify + hooks, no I/O', { url: `${a.url}/healthz`, expected: 200 }));
  rows.push(
    await throughputRow('GET /api/v1/session', 'cookie → SHA-256 → one SELECT (session joined with its user)', {
      url: `${a.url}/api/v1/session`,
      headers: { cookie: `mamori_session=${raised.session}` },
      expected: 200,
    }),
  );
  rows.push(
    await throughputRow('password check (argon2id, unknown email)', '401 expected; fresh random email per request', {
      url: `${a.url}/api/v1/sign-in`,
      method: 'POST',
      headers: jsonHeaders,
      body: () => JSON.stringify({ email: `ghost-${randomBytes(8).toString('hex')}@example.com`, password: 'not the password at all' }),
      expected: 401,
    }),
  );
  let turn = 0;
  rows.push(
    await throughputRow('sign-in, right password → email code', `argon2id + code mailed to outbox; ${USERS} users round-robin`, {
      url: `${a.url}/api/v1/sign-in`,
      method: 'POST',
      headers: jsonHeaders,
      body: () => JSON.stringify({ email: emails[turn++ % emails.length], password: userPassword }),
      expected: 200,
    }),
  );
  await stopChild(a.child);

  // Server B: the same plus MAMORI_TEST_CLOCK=true, so each iteration can use a fresh TOTP step.
  process.stderr.write(`bench: starting mamori (B, test clock) and running ${TOTP_ITERATIONS} TOTP sign-ins…\n`);
  const b = await startMamori('b', { MAMORI_TEST_CLOCK: 'true' });
  let offsetMs = 0; // server time minus ours, as the clock endpoint reports it
  const moveClock = async (seconds: number) => {
    const r = expectStatus(await call(b.url, 'POST', '/api/v1/test/clock', { json: { advanceSeconds: seconds } }), 200, 'POST /api/v1/test/clock');
    offsetMs = Date.parse(stringField(r.body, 'now')) - Date.now();
  };
  const serverNow = () => Date.now() + offsetMs;
  const totpEmail = 'bench-totp@example.com';
  const totpPassword = randomPassword();
  await moveClock(0);
  const enrolled = await enrollTotp(b, await setupAdmin(b, totpEmail, totpPassword), serverNow);
  // Activation spent steps S and S+1; start the loop two steps later.
  await moveClock(60);

  const passwordMs: number[] = [];
  const rightMs: number[] = [];
  const wrongMs: number[] = [];
  let passwordErrors = 0;
  let rightErrors = 0;
  let wrongErrors = 0;
  // The browser comes back each time with its mamori_browser cookie, as a person's does: a browser
  // new to the user costs one more transaction and a mail, the exception rather than the rule.
  let browser = '';
  for (let i = 0; i < TOTP_ITERATIONS; i++) {
    await moveClock(30);
    let t = performance.now();
    const first = await call(b.url, 'POST', '/api/v1/sign-in', { json: { email: totpEmail, password: totpPassword } });
    passwordMs.push(performance.now() - t);
    if (first.status !== 200 || field(first.body, 'status') !== 'mfa_required' || !first.cookies.mamori_signin) {
      passwordErrors++;
      continue;
    }
    const cookie = `mamori_signin=${first.cookies.mamori_signin}${browser}`;
    const step = timeStep(serverNow(), 30);
    const live = new Set([-1n, 0n, 1n].map((d) => hotp(enrolled.key, step + d, OTP)));
    let wrong = hotp(enrolled.key, step, OTP);
    while (live.has(wrong)) wrong = String((Number(wrong) + 1) % 1_000_000).padStart(6, '0');

    t = performance.now();
    const refused = await call(b.url, 'POST', '/api/v1/sign-in/mfa', { json: { method: 'totp', code: wrong }, cookie });
    wrongMs.push(performance.now() - t);
    if (refused.status !== 401) wrongErrors++;

    t = performance.now();
    const accepted = await call(b.url, 'POST', '/api/v1/sign-in/mfa', { json: { method: 'totp', code: hotp(enrolled.key, step, OTP) }, cookie });
    rightMs.push(performance.now() - t);
    if (accepted.status !== 200 || field(accepted.body, 'status') !== 'signed_in') rightErrors++;
    if (accepted.cookies.mamori_browser) browser = `; mamori_browser=${accepted.cookies.mamori_browser}`;
  }
  await stopChild(b.child);

  rows.push(closedLoopRow('TOTP second step, right code †', 'POST /sign-in/mfa → signed_in: 3 HMAC-SHA1, UPDATE, new session; a returning browser', rightMs, rightErrors));
  rows.push(closedLoopRow('TOTP second step, wrong code †', '401 expected: 3 HMAC-SHA1, failure counters, audit', wrongMs, wrongErrors));
  rows.push(closedLoopRow('password step, MFA user, no queue †', 'POST /sign-in → mfa_required: one argon2id verify', passwordMs, passwordErrors));
  return rows;
}

function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return '–';
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

function printTable(rows: Row[]): void {
  const cpus = os.cpus();
  const cpuModel = cpus[0]?.model.trim() ?? 'unknown CPU';
  const lines = [
    `Mamori bench — ${new Date().toISOString()} — Node ${process.version} — ${cpuModel}, ${cpus.length} cores — ${os.platform()} ${os.release()}`,
    `load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (the client shares the machine with the servers; other work skews the numbers)`,
    `loopback ${HOST}; ${CONNECTIONS} connections × ${DURATION_S} s per throughput row (after ${WARMUP_S} s warm-up); SQLite; MAMORI_LOG_LEVEL=warn, MAMORI_IP_FAILURE_LIMIT=0`,
    `† closed loop, ${TOTP_ITERATIONS} sequential iterations on a second server started with MAMORI_TEST_CLOCK=true (time moved +30 s per iteration; changes nothing else); req/s = 1000 / mean latency`,
    '',
  ];
  const header = ['scenario', 'mode', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'note'];
  const cells = rows.map((r) => [r.name, r.mode, Number.isFinite(r.rps) ? r.rps.toFixed(r.rps < 100 ? 1 : 0) : '–', fmtMs(r.p50), fmtMs(r.p99), String(r.count), String(r.errors), r.note]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6]);
  const fmt = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) lines.push(fmt(c));
  lines.push('', 'errors = connection errors + answers other than the expected status (200, or 401 where the note says so)');
  process.stdout.write(lines.join('\n') + '\n');
}

try {
  const started = performance.now();
  const rows = await main();
  printTable(rows);
  process.stderr.write(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  await cleanup();
  process.exit(0);
} catch (err) {
  // After Ctrl-C the signal handler cleans up and exits; the aborted run's errors are noise.
  if (interrupted) await new Promise(() => {});
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await cleanup();
  process.exit(1);
}
