import type { Transaction } from 'kysely';
import { newId } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database } from './schema.js';

/** One code to store: its public lookup part (null: a code of the old form) and its hash. */
export interface StoredRecoveryCode {
  lookupId: string | null;
  codeHash: string;
}

/** Recovery codes at rest: only their hashes (and public lookup parts), one batch live per user. */
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

  /**
   * The one live code with this lookup part, by the partial unique index of migration 007
   * (user_id, lookup_id over unused, unvoided rows): at most one row, never a scan of hashes.
   */
  findUnusedByLookup(userId: string, lookupId: string): Promise<{ id: string; code_hash: string } | undefined> {
    return this.unused(userId).where('lookup_id', '=', lookupId).select(['id', 'code_hash']).executeTakeFirst();
  }

  /** Live codes of the old form (made before 007, no lookup part): each has to be tried. */
  listUnusedLegacy(userId: string): Promise<Array<{ id: string; code_hash: string }>> {
    return this.unused(userId).where('lookup_id', 'is', null).select(['id', 'code_hash']).execute();
  }

  async countUnused(userId: string): Promise<number> {
    const r = await this.unused(userId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** A new batch; the old one stops working in the same statement sequence (call it in a transaction). */
  async replace(userId: string, codes: StoredRecoveryCode[], now: number): Promise<void> {
    await this.voidAll(userId, now);
    if (codes.length === 0) return;
    const batch = newId();
    await this.db
      .insertInto('recovery_codes')
      .values(codes.map((c) => ({ id: newId(), user_id: userId, batch_id: batch, code_hash: c.codeHash, lookup_id: c.lookupId, created_at: now, used_at: null, voided_at: null })))
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
