/**
 * Issue 7, "Done when": the lockouts the README promises in numbers hold under a burst, across
 * instances, over long sequences, and when a request dies holding a reservation.
 *
 * Every expected number below is derived from the constants of src/regulation/rules.ts (and the
 * README is checked to quote the same numbers), so the README, the rules and the SQL stay tied.
 */
import { readFileSync } from 'node:fs';
import { TestClock } from '../../src/clock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MFA_LOCK_AFTER,
  MFA_TRIES_PER_SIGN_IN,
  PASSWORD_BACKOFF_BASE_MS,
  PASSWORD_BACKOFF_MAX_MS,
  PASSWORD_FREE_FAILURES,
  PASSWORD_HARD_LOCK,
  RESERVATION_LEASE_MS,
  addressRule,
  passwordBackoffMs,
} from '../../src/regulation/rules.js';
import type { Budget } from '../../src/regulation/index.js';
import { isRefusal } from '../../src/regulation/index.js';
import { loadConfig } from '../../src/config.js';
import { Client, type Answer } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp, type AssignedApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, budgetOf, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const WRONG = 'not the password, not even close';
const PROBLEM = 'application/problem+json; charset=utf-8';
/** The promise of issue 7: a burst evaluates at most this many attempts. */
const BURST_PROMISE = 10;

function expectProblem(r: Answer, status: number, code: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe(PROBLEM);
  expect(r.body).toMatchObject({ status, code });
}

/** A 429 as the README promises it: problem+json, `too_many_attempts`, a Retry-After in whole seconds (≥ 1) that the body repeats. */
function expect429(r: Answer) {
  expectProblem(r, 429, 'too_many_attempts');
  const ra = r.headers.get('retry-after');
  expect(ra, r.text).toMatch(/^[1-9]\d*$/);
  expect((r.body as { retryAfter?: number }).retryAfter).toBe(Number(ra));
  return Number(ra);
}

const sortedStatuses = (answers: Answer[]) => answers.map((a) => a.status).sort((x, y) => x - y);
const tally = (answers: Answer[]) => answers.reduce<Record<number, number>>((t, a) => ({ ...t, [a.status]: (t[a.status] ?? 0) + 1 }), {});

interface AuditRow {
  type: string;
  user_id: string | null;
  detail: Record<string, unknown>;
}
async function auditRows(server: TestServer, type: string): Promise<AuditRow[]> {
  const rows = await server.services.store.db.selectFrom('audit_events').select(['type', 'user_id', 'detail']).where('type', '=', type).orderBy('id').execute();
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}

/** The README's back-off, re-derived from the constants: free failures, then the base wait doubling up to the cap. */
const readmeWaitMs = (failures: number) =>
  failures < PASSWORD_FREE_FAILURES ? 0 : Math.min(PASSWORD_BACKOFF_BASE_MS * 2 ** (failures - PASSWORD_FREE_FAILURES), PASSWORD_BACKOFF_MAX_MS);

describe('the README quotes the numbers of src/regulation/rules.ts', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
  // Waits before each of the guesses after the free ones, up to the lock: the "at least ~N hours".
  const totalWaitMs = Array.from({ length: PASSWORD_HARD_LOCK - PASSWORD_FREE_FAILURES }, (_, i) => readmeWaitMs(PASSWORD_FREE_FAILURES + i)).reduce((a, b) => a + b, 0);
  const defaults = loadConfig({ MAMORI_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), MAMORI_DATA_DIR: '/nonexistent-mamori-burst' });

  // Phrases of the README's security model (wording may move; the numbers must be these).
  it.each([
    ['free failures', `first ${PASSWORD_FREE_FAILURES} (failures )?are free`],
    ['first wait and cap', `${PASSWORD_BACKOFF_BASE_MS / 1000} s, doubling up to ${PASSWORD_BACKOFF_MAX_MS / 3_600_000} h`],
    ['hard lock', `The ${PASSWORD_HARD_LOCK}th consecutive failure locks the account \\(\`423 account_locked\`\\)`],
    ['guesses ever', `at most ${PASSWORD_HARD_LOCK} guesses per account, ever`],
    ['spread over', `spread over at least ~${Math.floor(totalWaitMs / 3_600_000)} hours`],
    ['password burst', `120 concurrent wrong passwords for one account get at most ${PASSWORD_FREE_FAILURES} evaluated`],
    ['code burst', `100 concurrent wrong codes over 20 sign-ins and two instances at most ${MFA_LOCK_AFTER}`],
    ['reservation lease', `stops holding its place after ${RESERVATION_LEASE_MS / 1000} s`],
    ['second factor per sign-in', `A half-finished sign-in dies after ${MFA_TRIES_PER_SIGN_IN} wrong (codes|answers)`],
    ['second factor lock', `${MFA_LOCK_AFTER} consecutive wrong codes on the account`],
    ['address window', `\\(${defaults.ipFailureLimit} per ${defaults.ipFailureWindowMinutes} minutes by default`],
  ])('%s', (_, pattern) => {
    expect(new RegExp(pattern).test(readme), `README.md should say /${pattern}/`).toBe(true);
  });

  it('passwordBackoffMs is the README arithmetic for every count up to the lock', () => {
    for (let f = 0; f < PASSWORD_HARD_LOCK; f++) expect(passwordBackoffMs(f), `after ${f} failures`).toBe(readmeWaitMs(f));
    expect(totalWaitMs / 3_600_000).toBeGreaterThanOrEqual(89);
  });
});

describe.each(databases)('attempt budgets under bursts and long sequences ($name)', ({ name, skip }) => {
  /** The per-address budget off (MAMORI_IP_FAILURE_LIMIT=0): every request here comes from 127.0.0.1. */
  const env = { MAMORI_IP_FAILURE_LIMIT: '0' };
  let server: TestServer;
  /** On PostgreSQL, a second instance on the same database. */
  let second: TestServer | undefined;
  const instances = () => (second ? [server, second] : [server]);
  /** Counts the calls of one method on each instance's services while a burst runs. */
  const counting = (pick: (s: TestServer) => { verify: (...a: never[]) => Promise<unknown> }) => {
    let calls = 0;
    const restore = instances().map((inst) => {
      const target = pick(inst) as unknown as { verify: (...a: unknown[]) => Promise<unknown> };
      const original = target.verify;
      target.verify = function (this: unknown, ...args: unknown[]) {
        calls++;
        return original.apply(this, args);
      };
      return () => {
        target.verify = original;
      };
    });
    return {
      get calls() {
        return calls;
      },
      restore: () => restore.forEach((r) => r()),
    };
  };
  beforeAll(async () => {
    if (skip) return;
    // Production hashing: a burst's requests stay in flight while their hashes run, as they would.
    server = await startServer({ database: name, env, hashing: 'production' });
    if (name === 'postgres') second = await startServer({ shareWith: server, env });
  });
  afterAll(async () => {
    await second?.close();
    await server?.close();
  });

  describe('120 concurrent wrong passwords for one email', () => {
    const BURST = 120;
    type Outcome = { burst: Answer[]; after: Answer; evaluated: number; verified: number; elapsedS: number };
    const outcomes: Record<string, Outcome> = {};
    const rows = [
      { subject: 'a real account', email: 'burst.real@example.com', real: true, spread: false },
      { subject: 'an unknown email', email: 'burst.ghost@example.com', real: false, spread: false },
      ...(name === 'postgres'
        ? [
            { subject: 'a real account over two instances', email: 'burst.real2@example.com', real: true, spread: true },
            { subject: 'an unknown email over two instances', email: 'burst.ghost2@example.com', real: false, spread: true },
          ]
        : []),
    ];

    it.skipIf(skip).each(rows)('$subject: at most 10 evaluated, every other answer 429, the right password right after refused', async ({ subject, email, real, spread }) => {
      const user = real ? await createTestUser(server, email) : undefined;
      const targets = spread ? instances() : [server];
      const argon = counting((inst) => inst.services.hasher);
      const started = performance.now();
      const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => targets[i % targets.length]!.client().post('/api/v1/sign-in', { email, password: WRONG })));
      const verified = argon.calls;
      const after = await targets.at(-1)!.client().post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
      const elapsedS = (performance.now() - started) / 1000;
      argon.restore();

      const evaluated = burst.filter((r) => r.status === 401);
      for (const r of evaluated) expectProblem(r, 401, 'invalid_credentials');
      for (const r of burst.filter((x) => x.status !== 401)) expect429(r);
      expect(evaluated.length + burst.filter((r) => r.status === 429).length).toBe(BURST);
      expect(evaluated.length).toBeLessThanOrEqual(BURST_PROMISE);
      // The model: the free failures may be tried side by side, then one at a time after a wait.
      expect(evaluated.length).toBe(PASSWORD_FREE_FAILURES);
      // argon2id ran exactly once per evaluated guess (the dummy hash for an unknown email), never for a refusal.
      expect(verified).toBe(evaluated.length);
      // The back-off began when the last evaluated failure settled, within the burst: what is left
      // of it is at least the base less the burst's own time (115 refusals, each audited with a
      // commit, took over 4 s once on a loaded machine: the type checks and a browser test beside it).
      const retryAfter = expect429(after);
      expect(retryAfter).toBeLessThanOrEqual(PASSWORD_BACKOFF_BASE_MS / 1000);
      expect(retryAfter, `the burst took ${elapsedS.toFixed(1)} s`).toBeGreaterThanOrEqual(Math.floor(PASSWORD_BACKOFF_BASE_MS / 1000 - elapsedS));
      expect(argon.calls).toBe(verified);

      // Every evaluated guess is in the audit log, and nothing else is.
      const failed = await auditRows(server, 'sign_in_failed');
      const mine = real
        ? failed.filter((e) => e.user_id === user!.id && e.detail.reason === 'wrong_password')
        : failed.filter((e) => e.user_id === null && e.detail.reason === 'unknown_user' && e.detail.email === email);
      expect(mine).toHaveLength(evaluated.length);
      if (real) {
        const row = await budgetOf(server, 'password', user!.id);
        expect({ failures: Number(row!.failures), pending: Number(row!.pending), locked: row!.locked_at !== null }).toEqual({ failures: evaluated.length, pending: 0, locked: false });
      }
      outcomes[subject] = { burst, after, evaluated: evaluated.length, verified, elapsedS };
      console.log(`[burst ${name}] passwords, ${subject}: ${JSON.stringify(tally(burst))} audited=${mine.length} argon2=${verified} after=${after.status}/${after.headers.get('retry-after')}`);
    });

    it.skipIf(skip).each(rows.filter((r) => r.real))('the unknown email answered exactly like $subject at each step', ({ subject }) => {
      const real = outcomes[subject]!;
      const ghost = outcomes[subject.replace('a real account', 'an unknown email')]!;
      expect(ghost.evaluated).toBe(real.evaluated);
      expect(ghost.verified).toBe(real.verified);
      expect(sortedStatuses(ghost.burst)).toEqual(sortedStatuses(real.burst));
      // Which 429s say "busy, 1 s" and which "wait ~30 s" depends on arrival order; but given status and
      // Retry-After, the body is the very same bytes for both (and every 401 is one body).
      const bodies = new Map<string, Set<string>>();
      for (const r of [...real.burst, ...ghost.burst, real.after, ghost.after]) {
        const k = `${r.status} ${r.headers.get('retry-after')} ${r.headers.get('content-type')}`;
        bodies.set(k, (bodies.get(k) ?? new Set()).add(r.text));
      }
      for (const [k, texts] of bodies) expect(texts.size, k).toBe(1);
      // The right password right after: the very same answer.
      expect(ghost.after.status).toBe(real.after.status);
      // The wait counts down from the burst's last failure, so the two runs' waits differ by as much
      // as their bursts' own times do (a loaded machine took 4 s longer over one), plus rounding;
      // a gap beyond that would tell the two apart. Apart from that count the answer is the very same bytes.
      const withoutWait = (text: string) => text.replace(/"retryAfter":\d+/, '"retryAfter":N');
      expect(withoutWait(ghost.after.text)).toBe(withoutWait(real.after.text));
      const waitGap = Math.abs(Number(ghost.after.headers.get('retry-after')) - Number(real.after.headers.get('retry-after')));
      expect(waitGap, `bursts took ${real.elapsedS.toFixed(1)} and ${ghost.elapsedS.toFixed(1)} s`).toBeLessThanOrEqual(2 + Math.abs(ghost.elapsedS - real.elapsedS));
    });
  });

  describe('100 concurrent wrong TOTP codes over 20 half-finished sign-ins', () => {
    const SIGN_INS = 20;
    const CODES = 100;

    it.skipIf(skip)(`${name === 'postgres' ? 'two instances on one database' : 'one instance'}: at most 10 evaluated, then 423 mfa_locked for the right code`, async () => {
      const both = instances();
      const email = 'burst.mfa@example.com';
      const user = await createTestUser(server, email);
      const app: AssignedApp = await assignApp(server.clock, await signIn(server, email));
      server.clock.advance(60_000); // past the steps the activation used

      // Sequentially: concurrent password sign-ins would meet the password budget's in-flight cap.
      const signIns: Client[] = [];
      for (let i = 0; i < SIGN_INS; i++) {
        const x = both[i % both.length]!.client();
        const r = await x.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
        expect(r.body, r.text).toMatchObject({ status: 'mfa_required' });
        signIns.push(x);
      }
      const now = server.clock.now();
      const live = new Set([-2, -1, 0, 1, 2].map((k) => appCode(app.secret, now, k)));
      const wrong: string[] = [];
      for (let n = 0; wrong.length < CODES; n++) {
        const code = String((100_003 + n * 7_919) % 1_000_000).padStart(6, '0');
        if (!live.has(code)) wrong.push(code);
      }
      const totp = counting((inst) => inst.services.methods.factors.get('totp')!);
      // Request i: sign-in i mod 20, on instance ⌊i / 20⌋ mod 2, so each sign-in is tried on both.
      const answers = await Promise.all(
        wrong.map((code, i) => {
          const from = signIns[i % SIGN_INS]!;
          const x = new Client(both[Math.floor(i / SIGN_INS) % both.length]!.url);
          for (const [k, v] of from.cookies) x.cookies.set(k, v);
          return x.post('/api/v1/sign-in/mfa', { method: 'totp', code });
        }),
      );
      const checked = totp.calls;
      totp.restore();
      const failed = (await auditRows(server, 'mfa_failed')).filter((e) => e.user_id === user.id);
      expect(failed.length).toBeLessThanOrEqual(BURST_PROMISE);
      expect(failed.length).toBe(MFA_LOCK_AFTER);
      // The code was checked against the device exactly once per counted failure, on both instances together.
      expect(checked).toBe(failed.length);
      // The failures fell on the sign-ins' own budgets too, none over its five tries, none left pending.
      const perSignIn = await server.services.store.db.selectFrom('attempt_budgets').select(['failures', 'pending']).where('key', 'like', 'sign_in:%').execute();
      expect(perSignIn.reduce((n, r) => n + Number(r.failures), 0)).toBe(failed.length);
      for (const r of perSignIn) expect({ pending: Number(r.pending), over: Number(r.failures) > MFA_TRIES_PER_SIGN_IN }).toEqual({ pending: 0, over: false });
      for (const r of answers) {
        if (r.status === 401) expectProblem(r, 401, 'invalid_code');
        else if (r.status === 423) expectProblem(r, 423, 'mfa_locked');
        else expect429(r);
      }
      // The evaluated ones answered 401, except the one whose failure locked the account (423).
      expect(answers.filter((r) => r.status === 401)).toHaveLength(MFA_LOCK_AFTER - 1);
      const row = await budgetOf(server, 'mfa', user.id);
      expect({ failures: Number(row!.failures), pending: Number(row!.pending), locked: row!.locked_at !== null }).toEqual({ failures: MFA_LOCK_AFTER, pending: 0, locked: true });
      expect((await auditRows(server, 'account_locked')).filter((e) => e.user_id === user.id && e.detail.reason === 'mfa')).toHaveLength(1);

      // The right code in a fresh sign-in, on the other instance: 423, and not evaluated.
      const last = both.at(-1)!.client();
      expect((await last.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'mfa_required' });
      expectProblem(await last.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) }), 423, 'mfa_locked');
      expect((await auditRows(server, 'mfa_failed')).filter((e) => e.user_id === user.id)).toHaveLength(MFA_LOCK_AFTER);
      console.log(`[burst ${name}] totp over ${both.length} instance(s): ${JSON.stringify(tally(answers))} mfa_failed=${failed.length} totp.verify=${checked}`);
    });
  });

  it.skipIf(skip)('1 000 sequential attempts on one account follow the back-off exactly, then the lock', async () => {
    const TOTAL = 1000;
    const email = 'long.haul@example.com';
    const user = await createTestUser(server, email);
    const c = server.client();
    let failures = 0;
    let waitedMs = 0;
    let probedAt = -1;
    const counts = { 401: 0, 429: 0, 423: 0 };
    const retryAfters: number[] = [];
    for (let i = 0; i < TOTAL; i++) {
      if (failures >= PASSWORD_HARD_LOCK) {
        // Locked for good: both passwords get 423 account_locked, with no Retry-After.
        const r = await c.post('/api/v1/sign-in', { email, password: i % 2 ? STRONG_PASSWORD : WRONG });
        expectProblem(r, 423, 'account_locked');
        expect(r.headers.get('retry-after')).toBeNull();
        counts[423]++;
        continue;
      }
      const wait = readmeWaitMs(failures);
      if (wait > 0 && probedAt !== failures) {
        // Waiting: even the right password is refused, and Retry-After is the README's wait.
        const r = await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
        const ra = expect429(r);
        expect(ra, `after ${failures} failures`).toBe(wait / 1000);
        retryAfters.push(ra);
        server.clock.advance(ra * 1000);
        waitedMs += ra * 1000;
        probedAt = failures;
        counts[429]++;
        continue;
      }
      const r = await c.post('/api/v1/sign-in', { email, password: WRONG });
      failures++;
      // The 100th is still just a wrong password (401); the lock shows from the next attempt on.
      expectProblem(r, 401, 'invalid_credentials');
      counts[401]++;
    }
    expect(counts).toEqual({
      401: PASSWORD_HARD_LOCK,
      429: PASSWORD_HARD_LOCK - PASSWORD_FREE_FAILURES,
      423: TOTAL - PASSWORD_HARD_LOCK - (PASSWORD_HARD_LOCK - PASSWORD_FREE_FAILURES),
    });
    expect(retryAfters).toEqual(Array.from({ length: PASSWORD_HARD_LOCK - PASSWORD_FREE_FAILURES }, (_, k) => readmeWaitMs(PASSWORD_FREE_FAILURES + k) / 1000));
    expect(waitedMs / 3_600_000).toBeGreaterThanOrEqual(89);

    const row = await budgetOf(server, 'password', user.id);
    expect({ failures: Number(row!.failures), pending: Number(row!.pending), locked: row!.locked_at !== null }).toEqual({ failures: PASSWORD_HARD_LOCK, pending: 0, locked: true });
    const mine = (type: string) => auditRows(server, type).then((rows) => rows.filter((e) => e.user_id === user.id));
    expect((await mine('sign_in_failed')).filter((e) => e.detail.reason === 'wrong_password')).toHaveLength(PASSWORD_HARD_LOCK);
    expect(await mine('sign_in_throttled')).toHaveLength(1);
    expect((await mine('account_locked')).map((e) => e.detail)).toEqual([{ reason: 'password', consecutiveFailures: PASSWORD_HARD_LOCK }]);
    expect((await server.outbox()).filter((m) => m.to === email && m.kind === 'account_locked')).toHaveLength(1);
    console.log(`[burst ${name}] 1000 sequential: ${JSON.stringify(counts)} waited ${waitedMs / 1000} s (${(waitedMs / 3_600_000).toFixed(2)} h)`);
  });

  describe('the per-address window over many windows', () => {
    const LIMIT = 2;
    const TOTAL = 1000;
    /** Attempts per window: the clock moves by windowMs / PER_WINDOW before each. */
    const PER_WINDOW = 50;
    const ACCOUNTS = 4;
    let limited: TestServer;
    beforeAll(async () => {
      if (skip) return;
      // Time moves only by `advance`: the expected waits are exact, however long the 1000 requests take.
      const still = Date.now();
      limited = await startServer({ database: name, env: { MAMORI_IP_FAILURE_LIMIT: String(LIMIT), MAMORI_EMAIL_CODE: 'off' }, clock: new TestClock({ now: () => still }) });
      for (let a = 0; a < ACCOUNTS; a++) await createTestUser(limited, `window${a}@example.com`);
    });
    afterAll(async () => limited?.close());

    type Kind = 'wrong-account' | 'wrong-unknown' | 'right' | 'malformed';
    /** A pattern whose length (11) is prime to PER_WINDOW, so windows see different mixes and starts. */
    const PATTERN: Kind[] = ['wrong-account', 'wrong-unknown', 'malformed', 'right', 'wrong-unknown', 'wrong-account', 'wrong-unknown', 'malformed', 'wrong-account', 'right', 'wrong-unknown'];

    it.skipIf(skip)(`${TOTAL} attempts from one address across accounts: exactly MAMORI_IP_FAILURE_LIMIT failures per window, then 429 until it ends`, async () => {
      const rule = addressRule(LIMIT, limited.config.ipFailureWindowMinutes);
      expect(rule).toEqual({ kind: 'window', limit: LIMIT, windowMs: 10 * 60_000 });
      const step = rule.windowMs / PER_WINDOW;
      const c = limited.client();

      // The model, in logical time (attempt i at i × step): a fixed window that starts at the first
      // attempt reserving on an ended one, LIMIT failures, then every sign-in step waits for its end.
      let windowStart = -Infinity;
      let windowFailures = 0;
      let lastRefusalAudit = -Infinity;
      const accountFailures = new Array<number>(ACCOUNTS).fill(0);
      let nextWrongAccount = 0;
      let nextRight = 0;
      const perWindow: number[] = [];
      const counts = { 200: 0, 400: 0, 401: 0, 429: 0 };
      let expectedAudits = 0;

      for (let i = 0; i < TOTAL; i++) {
        if (i > 0) limited.clock.advance(step);
        const t = i * step;
        const kind = PATTERN[i % PATTERN.length]!;
        const account = kind === 'wrong-account' ? nextWrongAccount++ % ACCOUNTS : kind === 'right' ? nextRight++ % ACCOUNTS : -1;
        const body =
          kind === 'malformed'
            ? { email: `window${i % ACCOUNTS}@example.com` }
            : { email: account >= 0 ? `window${account}@example.com` : `unknown.${i}@example.com`, password: kind === 'right' ? STRONG_PASSWORD : WRONG };
        const r = await c.post('/api/v1/sign-in', body);
        const where = `attempt ${i} (${kind}, ${((t - windowStart) / 1000).toFixed(0)} s into the window)`;

        if (kind === 'malformed') {
          expectProblem(r, 400, 'validation_failed');
          counts[400]++;
          continue;
        }
        if (t - windowStart >= rule.windowMs) {
          if (windowStart > -Infinity) perWindow.push(windowFailures);
          windowStart = t;
          windowFailures = 0;
        }
        if (windowFailures >= rule.limit) {
          const ra = expect429(r);
          expect(ra, where).toBe((windowStart + rule.windowMs - t) / 1000);
          expect(r.body, where).toMatchObject({ detail: 'Too many failed attempts from this address; try again later' });
          if (t - lastRefusalAudit >= rule.windowMs) {
            lastRefusalAudit = t;
            expectedAudits++;
          }
          counts[429]++;
        } else if (kind === 'right') {
          expect(r.status, `${where}: ${r.text}`).toBe(200);
          expect(r.body).toMatchObject({ status: 'signed_in' });
          accountFailures[account] = 0;
          counts[200]++;
        } else {
          expectProblem(r, 401, 'invalid_credentials');
          windowFailures++;
          if (account >= 0) {
            accountFailures[account]!++;
            // The model's own premise: no account reaches its password back-off, so only the address decides.
            expect(accountFailures[account]).toBeLessThan(PASSWORD_FREE_FAILURES);
          }
          counts[401]++;
        }
      }
      perWindow.push(windowFailures);

      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(TOTAL);
      // Every window, the last one included, accepted exactly LIMIT failures.
      expect(perWindow.length).toBeGreaterThanOrEqual(Math.floor(TOTAL / PER_WINDOW));
      expect(perWindow.every((n) => n === LIMIT), JSON.stringify(perWindow)).toBe(true);
      expect(counts[401]).toBe(LIMIT * perWindow.length);
      expect((await auditRows(limited, 'sign_in_failed')).length).toBe(counts[401]);
      // Refusals are audited once per address and window, not once per request.
      const throttled = await auditRows(limited, 'address_throttled');
      expect(throttled).toHaveLength(expectedAudits);
      for (const e of throttled) expect(e.detail).toEqual({ budget: 'address', limit: LIMIT, windowMinutes: rule.windowMs / 60_000 });
      console.log(`[burst ${name}] address window: ${JSON.stringify(counts)} over ${perWindow.length} windows, address_throttled=${throttled.length}`);
    });
  });

  describe('a reservation nobody settles', () => {
    let n = 0;
    const fresh = async () => {
      const email = `lease${n++}@example.com`;
      return { email, user: await createTestUser(server, email) };
    };
    const failPasswords = async (email: string, k: number) => {
      const c = server.client();
      for (let i = 0; i < k; i++) expectProblem(await c.post('/api/v1/sign-in', { email, password: WRONG }), 401, 'invalid_credentials');
    };
    const rightPassword = (email: string) => server.client().post('/api/v1/sign-in', { email, password: STRONG_PASSWORD });

    it.skipIf(skip).each([
      {
        phase: 'password, back-off phase (one attempt in flight at a time)',
        failuresFirst: PASSWORD_FREE_FAILURES,
        leaked: 1,
      },
      {
        phase: 'password, free phase (all free places held)',
        failuresFirst: 0,
        leaked: PASSWORD_FREE_FAILURES,
      },
      {
        phase: 'password, free phase (one free place left)',
        failuresFirst: 0,
        leaked: PASSWORD_FREE_FAILURES - 1,
      },
      {
        phase: 'password, after some free failures (the rest of the free places held)',
        failuresFirst: 2,
        leaked: PASSWORD_FREE_FAILURES - 2,
      },
    ])('$phase: $leaked leaked after $failuresFirst failures', async ({ failuresFirst, leaked }) => {
      const { email, user } = await fresh();
      await failPasswords(email, failuresFirst);
      server.clock.advance(readmeWaitMs(failuresFirst)); // past the back-off, if any
      const s = server.services;
      const budgets: Budget[] = [s.regulator.password({ userId: user.id })];
      for (let k = 0; k < leaked; k++) expect(isRefusal(await s.regulator.reserve(budgets)), `reservation ${k + 1}`).toBe(false);

      const holds = failuresFirst + leaked >= PASSWORD_FREE_FAILURES;
      const first = await rightPassword(email);
      if (!holds) {
        expect(first.status, first.text).toBe(200);
        return;
      }
      // While the lease holds: refused, "busy", try again in a second; nothing is evaluated.
      expect(expect429(first)).toBe(1);
      server.clock.advance(RESERVATION_LEASE_MS - 1000);
      expect(expect429(await rightPassword(email))).toBe(1);
      // Past the lease, the dead reservations no longer hold a place.
      server.clock.advance(1000);
      const ok = await rightPassword(email);
      expect(ok.status, ok.text).toBe(200);
      const row = await budgetOf(server, 'password', user.id);
      expect(Number(row!.failures)).toBe(0);
      expect((await auditRows(server, 'sign_in_failed')).filter((e) => e.user_id === user.id)).toHaveLength(failuresFirst);
    });

    /**
     * An attempt that outlived its lease (argon2id waits in PasswordHasher's queue, two at a time;
     * a queue longer than RESERVATION_LEASE_MS lets the lease lapse while the attempt is alive) may
     * have lost its place to a newer one: its outcome is then never used (503, nothing counted).
     * Simulated here by holding every verify, as a long queue does, while the clock moves past the lease.
     */
    it.skipIf(skip)('attempts still queued for argon2id past their lease are not evaluated (4 bursts a lease apart)', async () => {
      const { email, user } = await fresh();
      const hasher = server.services.hasher as unknown as { verify: (...a: unknown[]) => Promise<boolean> };
      const original = hasher.verify;
      let open!: () => void;
      const queue = new Promise<void>((r) => (open = r));
      let entered = 0;
      hasher.verify = async function (this: unknown, ...args: unknown[]) {
        entered++;
        await queue;
        return original.apply(this, args);
      };
      const all: Array<Promise<Answer>> = [];
      try {
        for (let round = 0; round < 4; round++) {
          let answered = 0;
          const before = entered;
          const burst = Array.from({ length: 30 }, () => server.client().post('/api/v1/sign-in', { email, password: WRONG }).finally(() => answered++));
          all.push(...burst);
          // Until every request of the round is either answered (refused) or waiting in the queue.
          for (let t = 0; answered + entered - before < burst.length && t < 500; t++) await new Promise((r) => setTimeout(r, 10));
          server.clock.advance(RESERVATION_LEASE_MS);
        }
      } finally {
        open();
        hasher.verify = original;
      }
      const answers = await Promise.all(all);
      const evaluated = answers.filter((r) => r.status === 401).length;
      const row = await budgetOf(server, 'password', user.id);
      console.log(`[burst ${name}] stalled verify past the lease: ${JSON.stringify(tally(answers))}, counted failures ${Number(row!.failures)}`);
      expect(evaluated).toBeLessThanOrEqual(BURST_PROMISE);
      // The lapsed ones answer 503 (nothing revealed), the rest 429; nothing else.
      expect(answers.every((r) => r.status === 401 || r.status === 429 || r.status === 503)).toBe(true);
      expect(Number(row?.failures ?? 0)).toBe(evaluated);
    });

    it.skipIf(skip)('the MFA budget: 10 leaked reservations refuse the right code until the lease ends', async () => {
      const { email, user } = await fresh();
      const app = await assignApp(server.clock, await signIn(server, email));
      server.clock.advance(60_000);
      const s = server.services;
      for (let k = 0; k < MFA_LOCK_AFTER; k++) expect(isRefusal(await s.regulator.reserve([s.regulator.mfa(user.id)]))).toBe(false);
      const x = server.client();
      expect((await x.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'mfa_required' });
      expect(expect429(await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) }))).toBe(1);
      server.clock.advance(RESERVATION_LEASE_MS);
      const ok = await x.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toMatchObject({ status: 'signed_in' });
      expect((await auditRows(server, 'mfa_failed')).filter((e) => e.user_id === user.id)).toHaveLength(0);
    });
  });
});
