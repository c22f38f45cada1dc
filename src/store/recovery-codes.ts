import type { Transaction } from 'kysely';
import { newId } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database } from './schema.js';

/** Recovery codes at rest: only their hashes, one batch live per user. */
export class RecoveryCodeRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): RecoveryCodeRepository {
    return new RecoveryCodeRepository({ ...this.store, db: trx });
  }

  private unused(userId: string) {
    return this.db.selectFrom('recovery_codes').where('user_id', '=', userId).where('used_at', 'is', null).where('voided_at', 'is', null);
  }

  listUnused(userId: string): Promise<Array<{ id: string; code_hash: string }>> {
    return this.unused(userId).select(['id', 'code_hash']).execute();
  }

  async countUnused(userId: string): Promise<number> {
    const r = await this.unused(userId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** A new batch; the old one stops working in the same statement sequence (call it in a transaction). */
  async replace(userId: string, hashes: string[], now: number): Promise<void> {
    await this.voidAll(userId, now);
    const batch = newId();
    await this.db
      .insertInto('recovery_codes')
      .values(hashes.map((code_hash) => ({ id: newId(), user_id: userId, batch_id: batch, code_hash, created_at: now, used_at: null, voided_at: null })))
      .execute();
  }

  /** Single use: true for exactly one caller, decided by the row count. */
  async use(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('voided_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async voidAll(userId: string, now: number): Promise<number> {
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ voided_at: now })
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .where('voided_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
