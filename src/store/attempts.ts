import { sql, type Kysely, type Transaction } from 'kysely';
import { RESERVATION_LEASE_MS, type Rule, type WindowRule } from '../regulation/rules.js';
import type { UnflushedTransaction } from './db.js';
import type { AttemptBudget, Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** The failures counted before a granted reservation (the row came back), or null for a refusal. */
const reserved = (rows: Array<{ failures: number }>): number | null => (rows.length === 1 ? Number(rows[0]!.failures) : null);

/**
 * Attempt budgets in SQL. Each decision is one statement whose row count decides, so a burst
 * of concurrent attempts, on one instance or several, meets the same limit as a sequence:
 * `reserve` takes a place before the attempt is tried, `settle` turns it into a failure (or
 * gives it back). The rules live in src/regulation/rules.ts; `decide` there models `reserve`.
 */
export class AttemptRepository {
  /** `unflushed`: the store's (db.ts); without it every commit waits for the disk. */
  constructor(
    private readonly db: Db,
    private readonly unflushed?: UnflushedTransaction,
  ) {}

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): AttemptRepository {
    return new AttemptRepository(trx);
  }

  /**
   * Runs `work` in one transaction (one commit, where each statement alone would be one), or
   * inside the caller's transaction when this repository already is in one.
   *
   * `waitForDisk: false` commits without waiting for the disk (Store.unflushedTransaction), for
   * what a power cut may lose without letting anyone try more than the rules allow: a
   * reservation, lost only with its attempt, which was never answered (the answer follows a
   * settlement or another commit that waits, and both databases write their log in order); a
   * success or a place given back, whose loss leaves a budget stricter for a while, never looser.
   * A failure always waits. On a virtual disk each wait blocked the event loop for ~1.5 ms.
   */
  async atomically<T>(work: (repo: AttemptRepository) => Promise<T>, opts: { waitForDisk?: false } = {}): Promise<T> {
    if (this.db.isTransaction) return work(this);
    if (opts.waitForDisk === false && this.unflushed) return this.unflushed((trx) => work(this.within(trx)));
    return (this.db as Kysely<Database>).transaction().execute((trx) => work(this.within(trx)));
  }

  /**
   * Reserves one attempt and returns the failures counted so far, or null: refused. With `count`, the attempt counts as a failure at once
   * (a code sent) instead of waiting to be settled; only window budgets use that.
   */
  async reserve(key: string, rule: Rule, now: number, opts: { count?: boolean } = {}): Promise<number | null> {
    const leaseUntil = now + RESERVATION_LEASE_MS;
    const live = sql<number>`(case when attempt_budgets.lease_until <= ${now} then 0 else attempt_budgets.pending end)`;
    if (rule.kind === 'consecutive') {
      const r = await sql<{ failures: number }>`
        insert into attempt_budgets (key, failures, pending, lease_until, window_start, updated_at)
        values (${key}, 0, 1, ${leaseUntil}, ${now}, ${now})
        on conflict (key) do update set
          pending = ${live} + 1,
          lease_until = ${leaseUntil},
          updated_at = ${now}
        where attempt_budgets.locked_at is null
          and (attempt_budgets.blocked_until is null or attempt_budgets.blocked_until <= ${now})
          and (attempt_budgets.failures + ${live} < ${rule.free} or ${live} = 0)
          and attempt_budgets.failures + ${live} < ${rule.hardLock}
        returning failures`.execute(this.db);
      return reserved(r.rows);
    }
    const floor = now - rule.windowMs;
    const counted = sql<number>`(case when attempt_budgets.window_start <= ${floor} then 0 else attempt_budgets.failures end)`;
    const add = opts.count ? 1 : 0;
    const r = await sql<{ failures: number }>`
      insert into attempt_budgets (key, failures, pending, lease_until, window_start, updated_at)
      values (${key}, ${add}, ${1 - add}, ${leaseUntil}, ${now}, ${now})
      on conflict (key) do update set
        failures = ${counted} + ${add},
        window_start = (case when attempt_budgets.window_start <= ${floor} then ${now} else attempt_budgets.window_start end),
        pending = ${live} + ${1 - add},
        lease_until = ${leaseUntil},
        updated_at = ${now}
      where ${counted} + ${live} < ${rule.limit}
      returning failures`.execute(this.db);
    return reserved(r.rows);
  }

  /** A reserved attempt failed: the new count of a consecutive budget, and whether this failure locked it. */
  async failConsecutive(key: string, now: number, after: (failures: number) => { blockedUntil: number | null; lock: boolean }): Promise<{ failures: number; lockedNow: boolean }> {
    const r = await sql<{ failures: number }>`
      insert into attempt_budgets (key, failures, pending, lease_until, window_start, last_failure_at, updated_at)
      values (${key}, 1, 0, 0, ${now}, ${now}, ${now})
      on conflict (key) do update set
        failures = attempt_budgets.failures + 1,
        pending = (case when attempt_budgets.pending > 0 then attempt_budgets.pending - 1 else 0 end),
        last_failure_at = ${now},
        updated_at = ${now}
      returning failures`.execute(this.db);
    const failures = Number(r.rows[0]!.failures);
    const next = after(failures);
    if (next.lock) {
      // Only the request whose failure locked it sees true, so the owner is told once.
      const locked = await this.db.updateTable('attempt_budgets').set({ locked_at: now }).where('key', '=', key).where('locked_at', 'is', null).executeTakeFirst();
      return { failures, lockedNow: Number(locked.numUpdatedRows) === 1 };
    }
    if (next.blockedUntil !== null) await this.db.updateTable('attempt_budgets').set({ blocked_until: next.blockedUntil }).where('key', '=', key).execute();
    return { failures, lockedNow: false };
  }

  /** A reserved attempt failed in a window budget; returns the window's count. */
  async failWindow(key: string, rule: WindowRule, now: number): Promise<number> {
    const floor = now - rule.windowMs;
    const r = await sql<{ failures: number }>`
      insert into attempt_budgets (key, failures, pending, lease_until, window_start, last_failure_at, updated_at)
      values (${key}, 1, 0, 0, ${now}, ${now}, ${now})
      on conflict (key) do update set
        failures = (case when attempt_budgets.window_start <= ${floor} then 1 else attempt_budgets.failures + 1 end),
        window_start = (case when attempt_budgets.window_start <= ${floor} then ${now} else attempt_budgets.window_start end),
        pending = (case when attempt_budgets.pending > 0 then attempt_budgets.pending - 1 else 0 end),
        last_failure_at = ${now},
        updated_at = ${now}
      returning failures`.execute(this.db);
    return Number(r.rows[0]!.failures);
  }

  /** A reserved attempt succeeded: a consecutive budget starts again from zero. */
  async succeed(key: string, rule: Rule, now: number): Promise<void> {
    const reset = rule.kind === 'consecutive' ? { failures: 0, blocked_until: null } : {};
    await this.db
      .updateTable('attempt_budgets')
      .set((eb) => ({ ...reset, pending: eb.case().when('pending', '>', 0).then(eb('pending', '-', 1)).else(0).end(), updated_at: now }))
      .where('key', '=', key)
      .execute();
  }

  /** A reserved attempt was not tried after all (malformed, or refused by another budget). */
  async release(key: string, now: number): Promise<void> {
    await this.db
      .updateTable('attempt_budgets')
      .set((eb) => ({ pending: eb.case().when('pending', '>', 0).then(eb('pending', '-', 1)).else(0).end(), updated_at: now }))
      .where('key', '=', key)
      .execute();
  }

  /** Takes back one counted failure of the current window (a code sent and then used). */
  async refund(key: string, rule: WindowRule, now: number): Promise<void> {
    await this.db
      .updateTable('attempt_budgets')
      .set((eb) => ({ failures: eb('failures', '-', 1), updated_at: now }))
      .where('key', '=', key)
      .where('failures', '>', 0)
      .where('window_start', '>', now - rule.windowMs)
      .execute();
  }

  /**
   * True for the first refusal of a window budget in its current window: refusals are audited
   * once per window, so an attacker hammering a closed door cannot flood the log. (A refusal
   * happens only while the window is live, so `window_start` is the current one.)
   */
  async firstRefusalInWindow(key: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('attempt_budgets')
      .set({ refusal_audited_at: now })
      .where('key', '=', key)
      .where((eb) => eb.or([eb('refusal_audited_at', 'is', null), eb('refusal_audited_at', '<', eb.ref('window_start'))]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  find(key: string): Promise<AttemptBudget | undefined> {
    return this.db.selectFrom('attempt_budgets').selectAll().where('key', '=', key).executeTakeFirst();
  }

  /**
   * Keys under `prefix` that refuse attempts now: locked, or (with `blocked`) waiting out a timed
   * lock. For lists and reports.
   */
  async closedKeys(prefix: string, now: number, opts: { blocked: boolean }): Promise<string[]> {
    const rows = await this.db
      .selectFrom('attempt_budgets')
      .select('key')
      .where('key', 'like', `${prefix}%`)
      .where((eb) => (opts.blocked ? eb.or([eb('locked_at', 'is not', null), eb('blocked_until', '>', now)]) : eb('locked_at', 'is not', null)))
      .execute();
    return rows.map((r) => r.key);
  }

  /** Forgets budgets (an administrator's unlock). */
  async clear(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const r = await this.db.deleteFrom('attempt_budgets').where('key', 'in', keys).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Housekeeping: budgets that no longer bound anyone. Window budgets whose window ended, and
   * consecutive ones below their first wait that stayed quiet for `quietMs` (accounts and unknown
   * emails alike, so the two age identically); locks, back-offs and larger counts stay, unless
   * `dropLocked` says the subject itself is gone (a sign-in long over).
   */
  async purge(now: number, opts: { windowPrefixes: Array<{ prefix: string; windowMs: number }>; consecutive: Array<{ prefix: string; free: number; quietMs: number; dropLocked?: boolean }> }): Promise<number> {
    let n = 0;
    for (const w of opts.windowPrefixes) {
      const r = await this.db
        .deleteFrom('attempt_budgets')
        .where('key', 'like', `${w.prefix}%`)
        .where('window_start', '<=', now - w.windowMs)
        .where('lease_until', '<=', now)
        .executeTakeFirst();
      n += Number(r.numDeletedRows);
    }
    for (const c of opts.consecutive) {
      let q = this.db
        .deleteFrom('attempt_budgets')
        .where('key', 'like', `${c.prefix}%`)
        .where('lease_until', '<=', now)
        .where('updated_at', '<', now - c.quietMs);
      if (!c.dropLocked) q = q.where('failures', '<', c.free).where('locked_at', 'is', null);
      const r = await q.executeTakeFirst();
      n += Number(r.numDeletedRows);
    }
    return n;
  }
}
