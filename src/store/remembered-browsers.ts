import type { Transaction } from 'kysely';
import { newId, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database, RememberedBrowser } from './schema.js';

/** A grant as the user's list shows it, with the name of the device that proved it (if it still exists). */
export interface RememberedBrowserListed extends RememberedBrowser {
  device_name: string | null;
}

/**
 * "Remember this browser" grants (migration 013), each found by the SHA-256 of its 256-bit
 * `mamori_remember` cookie. Every read that decides anything asks for the user too, so one user's
 * cookie never stands in for another's second factor.
 */
export class RememberedBrowserRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): RememberedBrowserRepository {
    return new RememberedBrowserRepository({ ...this.store, db: trx });
  }

  async grant(g: { userId: string; token: string; now: number; expiresAt: number; ip: string | null; userAgent: string | null; deviceId: string | null; amr: string[] }): Promise<RememberedBrowser> {
    const row: RememberedBrowser = {
      id: newId(),
      user_id: g.userId,
      token_hash: sha256Hex(g.token),
      created_at: g.now,
      expires_at: g.expiresAt,
      last_used_at: null,
      revoked_at: null,
      ip: g.ip,
      user_agent: g.userAgent,
      device_id: g.deviceId,
      amr: JSON.stringify(g.amr),
    };
    await this.db.insertInto('remembered_browsers').values(row).execute();
    return row;
  }

  /**
   * Uses the user's live grant for this cookie: one conditional UPDATE, so a grant revoked by a
   * transaction that committed first (a device removed, say) is not used. Undefined when the
   * cookie holds no live grant of this user.
   */
  async use(userId: string, token: string, now: number): Promise<RememberedBrowser | undefined> {
    const r = await this.db
      .updateTable('remembered_browsers')
      .set({ last_used_at: now })
      .where('token_hash', '=', sha256Hex(token))
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
    return r;
  }

  /** Whether this cookie holds a live grant of anyone (a dead one can be cleared from the browser). */
  async isLive(token: string, now: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('remembered_browsers')
      .select('id')
      .where('token_hash', '=', sha256Hex(token))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The user's live grants, newest first. */
  listLive(userId: string, now: number): Promise<RememberedBrowserListed[]> {
    return this.db
      .selectFrom('remembered_browsers')
      .leftJoin('mfa_devices', (j) => j.onRef('mfa_devices.id', '=', 'remembered_browsers.device_id').onRef('mfa_devices.user_id', '=', 'remembered_browsers.user_id'))
      .selectAll('remembered_browsers')
      .select('mfa_devices.name as device_name')
      .where('remembered_browsers.user_id', '=', userId)
      .where('remembered_browsers.revoked_at', 'is', null)
      .where('remembered_browsers.expires_at', '>', now)
      .orderBy('remembered_browsers.created_at', 'desc')
      .orderBy('remembered_browsers.id')
      .execute();
  }

  /** Revokes one of the user's live grants; false when there is none with this id. */
  async revoke(userId: string, id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('remembered_browsers')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Revokes every live grant of the user in one statement; returns how many ended. */
  async revokeAll(userId: string, now: number): Promise<number> {
    const r = await this.db
      .updateTable('remembered_browsers')
      .set({ revoked_at: now })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Deletes grants that expired or were revoked before `before`; returns how many went. */
  async purgeEnded(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('remembered_browsers')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)]))
      .executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }
}
