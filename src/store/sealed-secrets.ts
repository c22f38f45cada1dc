import type { Transaction } from 'kysely';
import type { SecretBox, Sealed } from '../crypto/secret-box.js';
import { resealAuditKey } from './audit-key.js';
import type { Store } from './db.js';
import type { Database } from './schema.js';

/** The tables whose rows carry a secret sealed under the master key. */
export type SealedTable = 'mfa_devices' | 'hardware_tokens' | 'oidc_clients' | 'signing_keys';

export interface SealedSecret {
  id: string;
  sealed: Sealed;
}

/**
 * The secrets at rest, seen only as sealed values, for `mamori keys rotate`: the flow opens and
 * re-seals, this repository finds the stale ones and swaps them without racing a second rotation.
 */
export class SealedSecretRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): SealedSecretRepository {
    return new SealedSecretRepository({ ...this.store, db: trx });
  }

  /** The rows of `table` whose secret is sealed under a key other than `currentKeyId` (rows without a secret are skipped). */
  async sealedUnderOtherKeys(table: SealedTable, currentKeyId: string): Promise<SealedSecret[]> {
    const rows = await this.db
      .selectFrom(table)
      .select(['id', 'secret_sealed', 'secret_key_id'])
      .where('secret_sealed', 'is not', null)
      .where('secret_key_id', '!=', currentKeyId)
      .execute();
    return rows.flatMap((r) => (r.secret_sealed === null || r.secret_key_id === null ? [] : [{ id: r.id, sealed: { keyId: r.secret_key_id, value: r.secret_sealed } }]));
  }

  /**
   * Replaces the row's secret only while it is still sealed under `previousKeyId`, so a concurrent
   * rotation that got there first is not overwritten. True when this call replaced it.
   */
  async replace(table: SealedTable, id: string, previousKeyId: string, sealed: Sealed): Promise<boolean> {
    const r = await this.db
      .updateTable(table)
      .set({ secret_sealed: sealed.value, secret_key_id: sealed.keyId })
      .where('id', '=', id)
      .where('secret_key_id', '=', previousKeyId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Re-seals the audit chain's key under the box's newest master key; true when this call did it. */
  resealAuditKey(box: SecretBox): Promise<boolean> {
    return resealAuditKey(this.db, box);
  }
}
