import type { Store } from './db.js';
import type { Database, MfaDevice, MfaDevicesTable } from './schema.js';
import type { Insertable, Transaction } from 'kysely';

export const DEVICE_LIMIT = 8;

export class DeviceRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): DeviceRepository {
    return new DeviceRepository({ ...this.store, db: trx });
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

  /** Pending → active, once, while the pending device is fresh. The caller checks the device limit in the same transaction. */
  async activate(id: string, counter: number, now: number, pendingSince: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_devices')
      .set({ status: 'active', activated_at: now, last_used_counter: counter, last_used_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('created_at', '>', pendingSince)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async rename(userId: string, id: string, name: string): Promise<boolean> {
    const r = await this.db.updateTable('mfa_devices').set({ name }).where('id', '=', id).where('user_id', '=', userId).where('status', '=', 'active').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Deletes an active device; a hardware token goes back to the inventory. Call it in a transaction. */
  async remove(userId: string, id: string): Promise<MfaDevice | undefined> {
    const device = await this.db.selectFrom('mfa_devices').selectAll().where('id', '=', id).where('user_id', '=', userId).where('status', '=', 'active').executeTakeFirst();
    if (!device) return undefined;
    await this.db.deleteFrom('mfa_devices').where('id', '=', id).execute();
    if (device.hardware_token_id) {
      // The token goes back to the inventory, ready for its next holder.
      await this.db.updateTable('hardware_tokens').set({ assigned_user_id: null, assigned_device_id: null }).where('id', '=', device.hardware_token_id).execute();
    }
    return device;
  }

  /** The credential's device, if any user holds it. */
  findByCredential(credentialId: string): Promise<MfaDevice | undefined> {
    return this.db.selectFrom('mfa_devices').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
  }

  /** Pending devices older than the limit are discarded. */
  async discardStalePending(before: number): Promise<number> {
    const r = await this.db.deleteFrom('mfa_devices').where('status', '=', 'pending').where('created_at', '<=', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
