import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database, HardwareToken } from './schema.js';

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
}
