import type { Insertable, Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database, MfaDevice, MfaDevicesTable } from './schema.js';

export const DEVICE_LIMIT = 8;

/** A device row as a factor makes it: the repository adds nothing but what the caller gives. */
export type NewDevice = Insertable<MfaDevicesTable>;

/** MFA devices of every kind; kind-specific data is the factor's `config` document. */
export class DeviceRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): DeviceRepository {
    return new DeviceRepository({ ...this.store, db: trx });
  }

  async insert(row: NewDevice): Promise<void> {
    await this.db.insertInto('mfa_devices').values(row).execute();
  }

  find(userId: string, id: string): Promise<MfaDevice | undefined> {
    return this.db.selectFrom('mfa_devices').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  }

  /** Active devices of a user, optionally of some types. */
  listActive(userId: string, types?: readonly string[]): Promise<MfaDevice[]> {
    let q = this.db.selectFrom('mfa_devices').selectAll().where('user_id', '=', userId).where('status', '=', 'active');
    if (types) {
      if (types.length === 0) return Promise.resolve([]);
      q = q.where('type', 'in', types);
    }
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
   * `config` replaces the device's document in the same statement (a resync's new drift).
   */
  async consumeCounter(id: string, counter: number, now: number, config?: string): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_devices')
      .set({ counter, last_used_at: now, ...(config !== undefined ? { config } : {}) })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .where((eb) => eb.or([eb('counter', 'is', null), eb('counter', '<', counter)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Compare-and-swap of a signature counter: of two racing uses with the same counter, one moves it. */
  async swapCounter(id: string, expected: number, next: number, now: number, config: string): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_devices')
      .set({ counter: next, last_used_at: now, config })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .where('counter', '=', expected)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Pending → active, once, while the pending device is fresh. The caller checks the device limit in the same transaction. */
  async activate(id: string, counter: number | null, now: number, pendingSince: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_devices')
      .set({ status: 'active', activated_at: now, counter, last_used_at: now })
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

  /** Deletes an active device and returns it. Call it in a transaction with the factor's own `onRemove`. */
  async remove(userId: string, id: string): Promise<MfaDevice | undefined> {
    const device = await this.db.selectFrom('mfa_devices').selectAll().where('id', '=', id).where('user_id', '=', userId).where('status', '=', 'active').executeTakeFirst();
    if (!device) return undefined;
    await this.db.deleteFrom('mfa_devices').where('id', '=', id).execute();
    return device;
  }

  /** The active device with this lookup key (a WebAuthn credential id), optionally only if `userId` holds it. */
  findByLookupKey(lookupKey: string, opts: { type: string; userId?: string }): Promise<MfaDevice | undefined> {
    let q = this.db.selectFrom('mfa_devices').selectAll().where('lookup_key', '=', lookupKey).where('status', '=', 'active').where('type', '=', opts.type);
    if (opts.userId !== undefined) q = q.where('user_id', '=', opts.userId);
    return q.executeTakeFirst();
  }

  /** Whether any device, of any user, has this lookup key. */
  async lookupKeyTaken(lookupKey: string): Promise<boolean> {
    return (await this.db.selectFrom('mfa_devices').select('id').where('lookup_key', '=', lookupKey).executeTakeFirst()) !== undefined;
  }

  /** Pending devices older than the limit are discarded. */
  async discardStalePending(before: number): Promise<number> {
    const r = await this.db.deleteFrom('mfa_devices').where('status', '=', 'pending').where('created_at', '<=', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
