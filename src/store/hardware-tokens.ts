import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database, HardwareToken } from './schema.js';

/** One inventory entry as the administrators' listing shows it: no secret, and the holder's email. */
export type InventoryEntry = Pick<HardwareToken, 'serial' | 'otp_kind' | 'algorithm' | 'digits' | 'period' | 'manufacturer' | 'model'> & {
  assignedTo: string | null;
};

/** The inventory of imported hardware tokens, for assigning one to its holder. */
export class HardwareTokenRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): HardwareTokenRepository {
    return new HardwareTokenRepository({ ...this.store, db: trx });
  }

  findBySerial(serial: string): Promise<HardwareToken | undefined> {
    return this.db.selectFrom('hardware_tokens').selectAll().where('serial', '=', serial).executeTakeFirst();
  }

  /**
   * Adds a token to the inventory. False when its serial is already there: a concurrent import of
   * the same serial may commit after the caller's own check, and the unique index decides.
   */
  async add(token: HardwareToken): Promise<boolean> {
    const r = await this.db
      .insertInto('hardware_tokens')
      .values(token)
      .onConflict((oc) => oc.column('serial').doNothing())
      .executeTakeFirst();
    return r.numInsertedOrUpdatedRows !== 0n;
  }

  /** The whole inventory by serial, with the email of each token's holder. */
  async list(): Promise<InventoryEntry[]> {
    const rows = await this.db
      .selectFrom('hardware_tokens')
      .leftJoin('users', 'users.id', 'hardware_tokens.assigned_user_id')
      .select(['serial', 'otp_kind', 'algorithm', 'digits', 'period', 'manufacturer', 'model', 'users.email as assignedTo'])
      .orderBy('serial')
      .execute();
    return rows.map((r) => ({ ...r, assignedTo: r.assignedTo ?? null }));
  }

  /** Claims an unassigned token for a device; true for exactly one caller. */
  async claim(id: string, userId: string, deviceId: string): Promise<boolean> {
    const r = await this.db
      .updateTable('hardware_tokens')
      .set({ assigned_user_id: userId, assigned_device_id: deviceId })
      .where('id', '=', id)
      .where('assigned_user_id', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A removed device's token goes back to the inventory, ready for its next holder. */
  async release(id: string): Promise<void> {
    await this.db.updateTable('hardware_tokens').set({ assigned_user_id: null, assigned_device_id: null }).where('id', '=', id).execute();
  }
}
