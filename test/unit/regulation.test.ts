import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClock } from '../../src/clock.js';
import { Attempt, Regulator, isRefusal, type Budget } from '../../src/regulation/index.js';
import {
  EMPTY_BUDGET,
  MFA_HARD_STOP,
  MFA_LOCK_AFTER,
  PASSWORD_BACKOFF_BASE_MS,
  PASSWORD_BACKOFF_MAX_MS,
  PASSWORD_FREE_FAILURES,
  PASSWORD_HARD_LOCK,
  RESERVATION_LEASE_MS,
  addressRule,
  afterFailure,
  countedFailures,
  decide,
  livePending,
  mfaRule,
  passwordBackoffMs,
  passwordRule,
  signInRule,
  type BudgetState,
  type Rule,
} from '../../src/regulation/rules.js';
import { AttemptRepository } from '../../src/store/attempts.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import { databases, freshDatabase } from '../helpers/db.js';

const MIN = 60_000;

describe('password back-off', () => {
  it.each([
    [0, 0],
    [4, 0],
    [5, 30_000],
    [6, 60_000],
    [7, 120_000],
    [11, 1_920_000],
    [12, PASSWORD_BACKOFF_MAX_MS],
    [99, PASSWORD_BACKOFF_MAX_MS],
  ])('after %i consecutive failures: wait %i ms', (failures, wait) => {
    expect(passwordBackoffMs(failures)).toBe(wait);
  });

  it('the rule: free failures, then the back-off, then the lock at the hard limit', () => {
    for (let f = 1; f < PASSWORD_FREE_FAILURES; f++) expect(passwordRule.after(f)).toBe(0);
    expect(passwordRule.after(PASSWORD_FREE_FAILURES)).toBe(PASSWORD_BACKOFF_BASE_MS);
    expect(passwordRule.after(PASSWORD_HARD_LOCK - 1)).toBe(PASSWORD_BACKOFF_MAX_MS);
    expect(passwordRule.after(PASSWORD_HARD_LOCK)).toBe('lock');
  });

  it('the README arithmetic: 100 guesses spread over at least ~89 hours', () => {
    let total = 0;
    for (let f = 1; f < PASSWORD_HARD_LOCK; f++) total += passwordBackoffMs(f);
    expect(total / 3_600_000).toBeGreaterThan(88);
    expect(total / 3_600_000).toBeLessThan(90);
  });
});

describe('second-factor rule', () => {
  it.each([
    [0, 9, 0],
    [0, 10, 'lock'],
    [15, 9, 0],
    [15, 10, 15 * MIN],
    [15, 57, 15 * MIN],
    [15, MFA_HARD_STOP, 'lock'],
  ] as const)('lock minutes %i, %i failures → %s', (minutes, failures, next) => {
    expect(mfaRule(minutes).after(failures)).toBe(next);
  });
  it('a half-finished sign-in dies at its fifth failure', () => {
    expect(afterFailure(signInRule, 4, 0)).toEqual({ blockedUntil: null, lock: false });
    expect(afterFailure(signInRule, 5, 0)).toEqual({ blockedUntil: null, lock: true });
  });
});

const at = (b: Partial<BudgetState>): BudgetState => ({ ...EMPTY_BUDGET, ...b });

describe('decide: whether one more attempt may be reserved', () => {
  const now = 1_000_000;
  it.each<[string, Rule, BudgetState, ReturnType<typeof decide>]>([
    ['fresh', passwordRule, EMPTY_BUDGET, { allowed: true }],
    ['4 in flight, none failed', passwordRule, at({ pending: 4, leaseUntil: now + 1 }), { allowed: true }],
    ['5 in flight: the free ones are all taken', passwordRule, at({ pending: 5, leaseUntil: now + 1 }), { allowed: false, reason: 'busy', retryAfterMs: 1000 }],
    ['3 failed, 2 in flight', passwordRule, at({ failures: 3, pending: 2, leaseUntil: now + 1 }), { allowed: false, reason: 'busy', retryAfterMs: 1000 }],
    ['in flight but the lease ran out (a crashed request)', passwordRule, at({ pending: 5, leaseUntil: now }), { allowed: true }],
    ['backing off', passwordRule, at({ failures: 6, blockedUntil: now + 5000 }), { allowed: false, reason: 'blocked', retryAfterMs: 5000 }],
    ['back-off over: one at a time', passwordRule, at({ failures: 6, blockedUntil: now }), { allowed: true }],
    ['back-off over, one already in flight', passwordRule, at({ failures: 6, blockedUntil: now, pending: 1, leaseUntil: now + 1 }), { allowed: false, reason: 'busy', retryAfterMs: 1000 }],
    ['locked', passwordRule, at({ failures: 100, lockedAt: 1 }), { allowed: false, reason: 'locked' }],
    ['99 failures, 1 in flight: the 100th is being tried', passwordRule, at({ failures: 99, pending: 1, leaseUntil: now + 1 }), { allowed: false, reason: 'busy', retryAfterMs: 1000 }],
    ['mfa: 9 failed, 1 free place left', mfaRule(0), at({ failures: 9 }), { allowed: true }],
    ['sign-in: 4 failed, 1 in flight', signInRule, at({ failures: 4, pending: 1, leaseUntil: now + 1 }), { allowed: false, reason: 'busy', retryAfterMs: 1000 }],
    ['window: under the limit', addressRule(3, 10), at({ failures: 2, windowStart: now - MIN }), { allowed: true }],
    ['window: full', addressRule(3, 10), at({ failures: 3, windowStart: now - MIN }), { allowed: false, reason: 'blocked', retryAfterMs: 9 * MIN }],
    ['window: full, but it ended', addressRule(3, 10), at({ failures: 3, windowStart: now - 10 * MIN }), { allowed: true }],
    ['window: the rest in flight', addressRule(3, 10), at({ failures: 1, pending: 2, leaseUntil: now + 5000, windowStart: now - MIN }), { allowed: false, reason: 'busy', retryAfterMs: 5000 }],
  ])('%s', (_name, rule, state, expected) => {
    expect(decide(rule, state, now)).toEqual(expected);
  });
});

/** The model the SQL must follow: the same operations on a BudgetState in memory. */
class ModelBudget {
  state: BudgetState = { ...EMPTY_BUDGET };
  constructor(readonly rule: Rule) {}
  reserve(now: number): boolean {
    const d = decide(this.rule, this.state, now);
    if (!d.allowed) return false;
    const b = this.state;
    if (this.rule.kind === 'window') {
      b.failures = countedFailures(this.rule, b, now);
      if (b.windowStart <= now - this.rule.windowMs) b.windowStart = now;
    }
    b.pending = livePending(b, now) + 1;
    b.leaseUntil = now + RESERVATION_LEASE_MS;
    return true;
  }
  fail(now: number): void {
    const b = this.state;
    b.pending = Math.max(0, b.pending - 1);
    if (this.rule.kind === 'window') {
      if (b.windowStart <= now - this.rule.windowMs) {
        b.failures = 1;
        b.windowStart = now;
      } else b.failures += 1;
      return;
    }
    b.failures += 1;
    const next = afterFailure(this.rule, b.failures, now);
    if (next.lock) b.lockedAt ??= now;
    else if (next.blockedUntil !== null) b.blockedUntil = next.blockedUntil;
  }
  succeed(): void {
    this.state.pending = Math.max(0, this.state.pending - 1);
    if (this.rule.kind === 'consecutive') {
      this.state.failures = 0;
      this.state.blockedUntil = null;
    }
  }
  release(): void {
    this.state.pending = Math.max(0, this.state.pending - 1);
  }
}

/** A small deterministic PRNG, so a failing sequence can be replayed. */
function prng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe.each(databases)('the SQL follows the model ($name)', ({ name, skip }) => {
  let store: Store;
  let dir: string;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(path.join(tmpdir(), 'mamori-regulation-'));
    let databaseUrl: string | undefined;
    ({ url: databaseUrl, drop } = await freshDatabase(name));
    store = openStore({ databaseUrl, dataDir: dir });
    await migrate(store);
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rules: Array<[string, Rule]> = [
    ['password', passwordRule],
    ['mfa, admin unlock', mfaRule(0)],
    ['mfa, timed lock of 15 minutes', mfaRule(15)],
    ['sign-in', signInRule],
    ['address window of 3 per 10 minutes', addressRule(3, 10)],
  ];

  it.skipIf(skip).each(rules)('%s: 400 random operations, every decision equal', async (label, rule) => {
    const clock = new TestClock({ now: () => 1_800_000_000_000 });
    const regulator = new Regulator(new AttemptRepository(store.db), clock, { ipFailureLimit: 3, ipFailureWindowMinutes: 10, mfaLockMinutes: 15 });
    const budget: Budget = { name: 'password', key: `model:${label}`, rule };
    const model = new ModelBudget(rule);
    const inFlight: Attempt[] = [];
    const random = prng(label.length * 7919);
    for (let step = 0; step < 400; step++) {
      const r = random();
      if (r < 0.45) {
        const real = await regulator.reserve([budget]);
        const expected = model.reserve(clock.now());
        expect(!isRefusal(real), `step ${step}: reserve`).toBe(expected);
        if (!isRefusal(real)) inFlight.push(real);
      } else if (r < 0.85 && inFlight.length > 0) {
        const a = inFlight.shift()!;
        const outcome = random();
        if (outcome < 0.7) {
          await a.fail();
          model.fail(clock.now());
        } else if (outcome < 0.85) {
          await a.succeed();
          model.succeed();
        } else {
          await a.release();
          model.release();
        }
      } else {
        // Time passes: seconds, minutes, and now and then past a lease or a window.
        const jump = [1000, 30_000, 5 * MIN, 16 * MIN, RESERVATION_LEASE_MS + 1][Math.floor(random() * 5)]!;
        clock.advance(jump);
        // Attempts still held when their lease runs out count as crashed: the model forgets them too.
        if (jump > RESERVATION_LEASE_MS) inFlight.length = 0;
      }
      const row = await store.db.selectFrom('attempt_budgets').selectAll().where('key', '=', budget.key).executeTakeFirst();
      if (row) {
        expect({ failures: Number(row.failures), locked: row.locked_at !== null }, `step ${step}`).toEqual({ failures: model.state.failures, locked: model.state.lockedAt !== null });
      }
    }
  });

  it.skipIf(skip)('MFA_LOCK_AFTER concurrent reservations of a fresh MFA budget pass, the next one does not', async () => {
    const clock = new TestClock();
    const regulator = new Regulator(new AttemptRepository(store.db), clock, { ipFailureLimit: 0, ipFailureWindowMinutes: 10, mfaLockMinutes: 0 });
    const budget = regulator.mfa('concurrent-user');
    const results = await Promise.all(Array.from({ length: 50 }, () => regulator.reserve([budget])));
    expect(results.filter((r) => !isRefusal(r))).toHaveLength(MFA_LOCK_AFTER);
  });
});
