import { newId, newToken, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Transaction } from 'kysely';
import type { Database, SignInTransaction } from './schema.js';

/** Half-finished sign-ins: password accepted, a second step pending. Server-side, single use. */
export class SignInRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): SignInRepository {
    return new SignInRepository({ ...this.store, db: trx });
  }

  async start(t: {
    userId: string;
    step: SignInTransaction['step'];
    amr: string[];
    now: number;
    ttlMs: number;
    ip: string | null;
    userAgent: string | null;
  }): Promise<{ token: string; transaction: SignInTransaction }> {
    const token = newToken();
    const transaction: SignInTransaction = {
      id: newId(),
      token_hash: sha256Hex(token),
      user_id: t.userId,
      step: t.step,
      amr: JSON.stringify(t.amr),
      failures: 0,
      created_at: t.now,
      expires_at: t.now + t.ttlMs,
      completed_at: null,
      ip: t.ip,
      user_agent: t.userAgent,
    };
    await this.db.insertInto('sign_in_transactions').values(transaction).execute();
    return { token, transaction };
  }

  findOpen(token: string, now: number): Promise<SignInTransaction | undefined> {
    return this.db
      .selectFrom('sign_in_transactions')
      .selectAll()
      .where('token_hash', '=', sha256Hex(token))
      .where('completed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Marks the transaction done; true only for the one request that did it. */
  async complete(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('sign_in_transactions')
      .set({ completed_at: now })
      .where('id', '=', id)
      .where('completed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Ends every open sign-in of the user (e.g. one that got past a password that is no longer valid). */
  async cancelOpen(userId: string, now: number): Promise<number> {
    const r = await this.db
      .updateTable('sign_in_transactions')
      .set({ expires_at: now })
      .where('user_id', '=', userId)
      .where('completed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Counts a wrong code; at `max` the transaction dies. Returns the new count. */
  async recordFailure(id: string, max: number, now: number): Promise<number> {
    const r = await this.db
      .updateTable('sign_in_transactions')
      .set((eb) => ({ failures: eb('failures', '+', 1) }))
      .where('id', '=', id)
      .returning('failures')
      .executeTakeFirst();
    const failures = r?.failures ?? max;
    if (failures >= max) {
      await this.db.updateTable('sign_in_transactions').set({ expires_at: now }).where('id', '=', id).execute();
    }
    return failures;
  }
}

export class EmailCodeRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** Stores a new code for the transaction and voids the codes sent before it. */
  async issue(c: { transactionId: string; userId: string; codeHmac: string; now: number; ttlMs: number }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('email_codes')
        .set({ voided_at: c.now })
        .where('user_id', '=', c.userId)
        .where('consumed_at', 'is', null)
        .where('voided_at', 'is', null)
        .execute();
      await trx
        .insertInto('email_codes')
        .values({
          id: newId(),
          transaction_id: c.transactionId,
          user_id: c.userId,
          code_hmac: c.codeHmac,
          attempts: 0,
          created_at: c.now,
          expires_at: c.now + c.ttlMs,
          consumed_at: null,
          voided_at: null,
        })
        .execute();
    });
  }

  /** The live code of a transaction, if any. */
  current(transactionId: string, now: number) {
    return this.db
      .selectFrom('email_codes')
      .selectAll()
      .where('transaction_id', '=', transactionId)
      .where('consumed_at', 'is', null)
      .where('voided_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
  }

  /**
   * Takes one try from the code's budget. False when the budget is spent or the code is gone —
   * the row count decides, so concurrent guesses cannot exceed `maxAttempts`.
   */
  async takeAttempt(id: string, maxAttempts: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('email_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('attempts', '<', maxAttempts)
      .where('consumed_at', 'is', null)
      .where('voided_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Consumes the code; true for exactly one caller. */
  async consume(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('email_codes')
      .set({ consumed_at: now })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('voided_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Codes sent and wrong tries spent in the last hour for the account: the hourly cap. */
  async hourlyUsage(userId: string, now: number): Promise<{ sent: number; tries: number }> {
    const r = await this.db
      .selectFrom('email_codes')
      .select((eb) => [eb.fn.countAll<number>().as('sent'), eb.fn.sum<number>('attempts').as('tries')])
      .where('user_id', '=', userId)
      .where('created_at', '>', now - 3_600_000)
      .executeTakeFirstOrThrow();
    return { sent: Number(r.sent), tries: Number(r.tries ?? 0) };
  }
}

export class IpFailureRepository {
  constructor(private readonly store: Store) {}

  /** Adds one failure for the address in its fixed window and returns the window's count. */
  async record(ip: string, now: number, windowMs: number): Promise<number> {
    const r = await this.store.db
      .insertInto('ip_failures')
      .values({ ip, window_start: now, failures: 1 })
      .onConflict((oc) =>
        oc.column('ip').doUpdateSet((eb) => ({
          failures: eb
            .case()
            .when('ip_failures.window_start', '<=', now - windowMs)
            .then(1)
            .else(eb('ip_failures.failures', '+', 1))
            .end(),
          window_start: eb
            .case()
            .when('ip_failures.window_start', '<=', now - windowMs)
            .then(now)
            .else(eb.ref('ip_failures.window_start'))
            .end(),
        })),
      )
      .returning(['failures', 'window_start'])
      .executeTakeFirstOrThrow();
    return r.failures;
  }

  /**
   * Counts one more consecutive failure under `key` with no window, and remembers its time in
   * `window_start` (here: the latest failure). Unknown emails use it to mirror an account's counter.
   */
  async recordConsecutive(key: string, now: number): Promise<number> {
    const r = await this.store.db
      .insertInto('ip_failures')
      .values({ ip: key, window_start: now, failures: 1 })
      .onConflict((oc) => oc.column('ip').doUpdateSet((eb) => ({ failures: eb('ip_failures.failures', '+', 1), window_start: now })))
      .returning('failures')
      .executeTakeFirstOrThrow();
    return r.failures;
  }

  /** Seconds until the address may try again, or 0. */
  async blockedFor(ip: string, limit: number, now: number, windowMs: number): Promise<number> {
    const r = await this.store.db.selectFrom('ip_failures').selectAll().where('ip', '=', ip).executeTakeFirst();
    if (!r || r.failures < limit || r.window_start <= now - windowMs) return 0;
    return Math.max(1, Math.ceil((r.window_start + windowMs - now) / 1000));
  }
}
