import type { Store } from './db.js';
import type { MfaDevice, MfaDevicesTable } from './schema.js';
import type { Insertable } from 'kysely';

export const DEVICE_LIMIT = 8;

export class DeviceRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  async insert(row: Insertable<MfaDevicesTable>): Promise<void> {
    await this.db.insertInto('mfa_devices').values(row).execute();
  }

  find(userId: string, id: string): Promise<MfaDevice | undefined> {
    return this.db.selectFrom('mfa_devices').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  }

  /** Active devices of a user, optionally of some types. */
  listActive(userId: string, types?: MfaDevice['type'][]): Promise<MfaDevice[]> {
    let q = this.db.selectFrom('mfa_devices').selectAll().where('user_id', '=', userId).where('status', '=', 'active');
    if (types) q = q.where('type', 'in', types);
    return q.orderBy('created_at').orderBy('id').execute();
  }

  async countActive(userId: string): Promise<number> {
    const r = await this.db
      .selectFrom('mfa_devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Accepts an OTP counter (TOTP step or HOTP counter) at most once: the stored counter only
   * moves forward, in one conditional UPDATE whose row count decides between concurrent requests.
   */
  async consumeCounter(id: string, counter: number, now: number, drift?: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_devices')
      .set({ last_used_counter: counter, last_used_at: now, ...(drift !== undefined ? { drift } : {}) })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('last_used_counter', 'is', null), eb('last_used_counter', '<', counter)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Pending → active, once, while the user is under the device limit and the pending device is fresh. */
  async activate(id: string, userId: string, counter: number, now: number, pendingSince: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const active = await trx
        .selectFrom('mfa_devices')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
      if (Number(active.n) >= DEVICE_LIMIT) return false;
      const r = await trx
        .updateTable('mfa_devices')
        .set({ status: 'active', activated_at: now, last_used_counter: counter, last_used_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('created_at', '>', pendingSince)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  async rename(userId: string, id: string, name: string): Promise<boolean> {
    const r = await this.db.updateTable('mfa_devices').set({ name }).where('id', '=', id).where('user_id', '=', userId).where('status', '=', 'active').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async remove(userId: string, id: string): Promise<MfaDevice | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const device = await trx.selectFrom('mfa_devices').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      if (!device) return undefined;
      await trx.deleteFrom('mfa_devices').where('id', '=', id).execute();
      if (device.hardware_token_id) {
        // The token goes back to the inventory, ready for its next holder.
        await trx
          .updateTable('hardware_tokens')
          .set({ assigned_user_id: null, assigned_device_id: null })
          .where('id', '=', device.hardware_token_id)
          .execute();
      }
      return device;
    });
  }

  /** Pending devices older than the limit are discarded. */
  async discardStalePending(before: number): Promise<number> {
    const r = await this.db.deleteFrom('mfa_devices').where('status', '=', 'pending').where('created_at', '<=', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
