import type { Store } from './db.js';
import type { SigningKey } from './schema.js';

/** Token signing keys as rows; the key ring (src/flows/signing-keys.ts) decides which one signs. */
export class SigningKeyRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** Every key still published (not retired, or retired less than `keepRetiredMs` ago), newest first. */
  published(now: number, keepRetiredMs: number): Promise<SigningKey[]> {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', now - keepRetiredMs)]))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  async insert(key: SigningKey): Promise<void> {
    await this.db.insertInto('signing_keys').values(key).execute();
  }

  /**
   * Inserts the first key only while there is none, so instances starting together make one.
   * True when this call inserted it.
   */
  async insertFirst(key: SigningKey): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // The write lock first (SQLite: BEGIN IMMEDIATE; PostgreSQL: a row lock on a settings row).
      await trx.insertInto('settings').values({ key: 'signing_keys_initialised', value: String(key.created_at) }).onConflict((oc) => oc.column('key').doNothing()).execute();
      await trx.updateTable('settings').set({ value: String(key.created_at) }).where('key', '=', 'signing_keys_initialised').execute();
      const any = await trx.selectFrom('signing_keys').select('id').limit(1).executeTakeFirst();
      if (any) return false;
      await trx.insertInto('signing_keys').values(key).execute();
      return true;
    });
  }

  /** Marks every key other than `signing` that signs by `at` as retired at `at` (idempotent). */
  async retireOthers(signing: string, at: number): Promise<number> {
    const r = await this.db
      .updateTable('signing_keys')
      .set({ retired_at: at })
      .where('id', '!=', signing)
      .where('retired_at', 'is', null)
      .where('signs_from', '<=', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Deletes keys retired before `before`: no token they signed is still valid. */
  async deleteRetiredBefore(before: number): Promise<number> {
    const r = await this.db.deleteFrom('signing_keys').where('retired_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** The newest row's creation time: a cheap change marker for instances that cache the ring. */
  async version(): Promise<string> {
    const r = await this.db
      .selectFrom('signing_keys')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('created_at').as('newest'), eb.fn.max('retired_at').as('retired')])
      .executeTakeFirstOrThrow();
    return `${Number(r.n)}:${String(r.newest)}:${String(r.retired)}`;
  }
}
