import { newId, newToken, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Kysely, Transaction } from 'kysely';
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

  /**
   * A new half-finished sign-in. `waitForDisk: false` (outside a transaction) commits it without
   * waiting for the disk: for a sign-in that waits for a second factor and that no audit event
   * records, a power cut that loses it fails closed (the browser's cookie finds nothing, the user
   * signs in again), and a killed process loses nothing (the log is written before the answer).
   * On SQLite the wait blocked the event loop, and so the next hash's start, for ~1.5 ms of each
   * password step on a virtual disk. PostgreSQL's wait for its WAL flush holds no thread here,
   * and turning it off would cost three more round trips (BEGIN, SET LOCAL, COMMIT) than the one
   * autocommitted statement: there the option changes nothing.
   */
  async start(
    t: {
      userId: string;
      step: SignInTransaction['step'];
      amr: string[];
      now: number;
      ttlMs: number;
      ip: string | null;
      userAgent: string | null;
    },
    opts: { waitForDisk?: false } = {},
  ): Promise<{ token: string; transaction: SignInTransaction }> {
    const token = newToken();
    const transaction: SignInTransaction = {
      id: newId(),
      token_hash: sha256Hex(token),
      user_id: t.userId,
      step: t.step,
      amr: JSON.stringify(t.amr),
      created_at: t.now,
      expires_at: t.now + t.ttlMs,
      completed_at: null,
      ip: t.ip,
      user_agent: t.userAgent,
    };
    const insert = (db: Kysely<Database> | Transaction<Database>) => db.insertInto('sign_in_transactions').values(transaction).execute();
    if (opts.waitForDisk === false && this.store.dialect === 'sqlite' && !this.db.isTransaction) await this.store.unflushedTransaction(insert);
    else await insert(this.db);
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

  /** Ends one open sign-in (it ran out of tries). */
  async expire(id: string, now: number): Promise<void> {
    await this.db.updateTable('sign_in_transactions').set({ expires_at: now }).where('id', '=', id).where('completed_at', 'is', null).execute();
  }

  /** Deletes sign-ins that expired before `before`; their email codes go with them (ON DELETE CASCADE). */
  async purgeExpired(before: number): Promise<number> {
    const r = await this.db.deleteFrom('sign_in_transactions').where('expires_at', '<', before).executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }
}

export class EmailCodeRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): EmailCodeRepository {
    return new EmailCodeRepository({ ...this.store, db: trx });
  }

  /** Stores a new code for the transaction and voids the codes sent before it. */
  /** Stores a new code for the transaction and voids the codes sent before it; call it in a transaction. */
  async issue(c: { transactionId: string; userId: string; codeHmac: string; now: number; ttlMs: number }): Promise<void> {
    await this.db
      .updateTable('email_codes')
      .set({ voided_at: c.now })
      .where('user_id', '=', c.userId)
      .where('consumed_at', 'is', null)
      .where('voided_at', 'is', null)
      .execute();
    await this.db
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
}
