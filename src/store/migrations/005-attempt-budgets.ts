import { sql, type Kysely } from 'kysely';

/**
 * One table for every attempt budget (passwords per account and per unknown email, second
 * factors per account and per half-finished sign-in, client addresses, emailed codes), so an
 * attempt can be reserved by one conditional statement before it is tried.
 *
 * The counters that lived on `users`, `sign_in_transactions.failures` and `ip_failures` move here
 * with their state. This migration's numbers are frozen copies of the rules of its day (5 free
 * password failures, 30 s doubling to 1 h, a lock at 100), not imports, so it never changes.
 * An MFA lock moves as a lock an administrator lifts: the timed-lift setting is not known here,
 * and failing closed is the safe side.
 */
export const attemptBudgets = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('attempt_budgets')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('window_start', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('blocked_until', 'bigint')
      .addColumn('locked_at', 'bigint')
      .addColumn('last_failure_at', 'bigint')
      .addColumn('refusal_audited_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    const now = Date.now();
    const backoff = (failures: number) => (failures < 5 ? 0 : Math.min(30_000 * 2 ** Math.min(failures - 5, 20), 3_600_000));
    type Row = { key: string; failures: number; window_start: number; blocked_until: number | null; locked_at: number | null; last_failure_at: number | null };
    const rows: Row[] = [];

    const users = await sql<{ id: string; password_failures: number; password_blocked_until: number | null; password_locked: number; mfa_failures: number; mfa_locked_at: number | null }>`
      select id, password_failures, password_blocked_until, password_locked, mfa_failures, mfa_locked_at from users
      where password_failures > 0 or password_locked = 1 or mfa_failures > 0 or mfa_locked_at is not null`.execute(db);
    for (const u of users.rows) {
      if (Number(u.password_failures) > 0 || Number(u.password_locked) === 1) {
        rows.push({
          key: `password:user:${u.id}`,
          failures: Number(u.password_failures),
          window_start: 0,
          blocked_until: u.password_blocked_until === null ? null : Number(u.password_blocked_until),
          locked_at: Number(u.password_locked) === 1 ? now : null,
          last_failure_at: null,
        });
      }
      if (Number(u.mfa_failures) > 0 || u.mfa_locked_at !== null) {
        rows.push({
          key: `mfa:user:${u.id}`,
          failures: Number(u.mfa_failures),
          window_start: 0,
          blocked_until: null,
          locked_at: u.mfa_locked_at === null ? null : Number(u.mfa_locked_at),
          last_failure_at: null,
        });
      }
    }

    const counters = await sql<{ ip: string; window_start: number; failures: number }>`select ip, window_start, failures from ip_failures`.execute(db);
    for (const r of counters.rows) {
      const failures = Number(r.failures);
      const at = Number(r.window_start);
      if (r.ip.startsWith('acct:')) {
        // An unknown email's counter: its back-off ran from its latest failure.
        rows.push({
          key: `password:email:${r.ip.slice('acct:'.length)}`,
          failures,
          window_start: 0,
          blocked_until: failures >= 5 && failures < 100 ? at + backoff(failures) : null,
          locked_at: failures >= 100 ? at : null,
          last_failure_at: at,
        });
      } else {
        rows.push({ key: `address:${r.ip}`, failures, window_start: at, blocked_until: null, locked_at: null, last_failure_at: at });
      }
    }

    const signIns = await sql<{ id: string; failures: number }>`
      select id, failures from sign_in_transactions where failures > 0 and completed_at is null and expires_at > ${now}`.execute(db);
    for (const t of signIns.rows) {
      const failures = Number(t.failures);
      rows.push({ key: `sign_in:${t.id}`, failures, window_start: 0, blocked_until: null, locked_at: failures >= 5 ? now : null, last_failure_at: null });
    }

    for (const r of rows) {
      await sql`insert into attempt_budgets (key, failures, pending, lease_until, window_start, blocked_until, locked_at, last_failure_at, updated_at)
        values (${r.key}, ${r.failures}, 0, 0, ${r.window_start}, ${r.blocked_until}, ${r.locked_at}, ${r.last_failure_at}, ${now})`.execute(db);
    }

    for (const column of ['password_failures', 'password_blocked_until', 'password_locked', 'mfa_failures', 'mfa_locked_at']) {
      await db.schema.alterTable('users').dropColumn(column).execute();
    }
    await db.schema.alterTable('sign_in_transactions').dropColumn('failures').execute();
    // After a forced password change (SEC-05) a session may only set a new password.
    await db.schema.alterTable('sessions').addColumn('password_change_only', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.dropTable('ip_failures').execute();
  },
};
