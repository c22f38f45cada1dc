import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database, MfaDevice } from './schema.js';

/** What the reports need of one active device: whose it is, its kind, when it last served. */
export type DeviceUsage = Pick<MfaDevice, 'user_id' | 'type' | 'last_used_at'>;

/**
 * Read model over everyone's devices for the administrators' views (the user list, the
 * credential report), kept apart from DeviceRepository, which works on one user's devices.
 */
export class DeviceReportRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): DeviceReportRepository {
    return new DeviceReportRepository({ ...this.store, db: trx });
  }

  /** Every active device of every user, secrets left out. */
  activeUsage(): Promise<DeviceUsage[]> {
    return this.db.selectFrom('mfa_devices').select(['user_id', 'type', 'last_used_at']).where('status', '=', 'active').execute();
  }

  /** How many active devices each user holds; users without one are absent. */
  async activeCountByUser(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('mfa_devices')
      .select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'active')
      .groupBy('user_id')
      .execute();
    return new Map(rows.map((r) => [r.user_id, Number(r.n)]));
  }
}
