import type { Kysely, Transaction } from 'kysely';
import { newId, newToken, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database } from './schema.js';

export class InvitationRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): InvitationRepository {
    return new InvitationRepository({ ...this.store, db: trx });
  }

  /** Runs `work` in the caller's transaction when there is one, else in a transaction of its own. */
  private atomically<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.isTransaction ? work(this.db) : this.db.transaction().execute(work);
  }

  /** A fresh invitation; earlier open ones of the user stop working. Only the token's hash is kept. */
  async create(userId: string, now: number, ttlMs: number): Promise<string> {
    const token = newToken();
    await this.atomically(async (db) => {
      await db.updateTable('invitations').set({ used_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
      await db
        .insertInto('invitations')
        .values({ id: newId(), token_hash: sha256Hex(token), user_id: userId, created_at: now, expires_at: now + ttlMs, used_at: null })
        .execute();
    });
    return token;
  }

  /** The email of the user an open invitation is for, without using it; undefined when unknown, used or expired. */
  async pendingEmail(token: string, now: number): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('invitations')
      .innerJoin('users', 'users.id', 'invitations.user_id')
      .select(['users.email'])
      .where('invitations.token_hash', '=', sha256Hex(token))
      .where('invitations.used_at', 'is', null)
      .where('invitations.expires_at', '>', now)
      .executeTakeFirst();
    return row?.email;
  }

  /** Uses the invitation once; returns its user, or undefined when unknown, used or expired. */
  async redeem(token: string, now: number): Promise<string | undefined> {
    const row = await this.db
      .updateTable('invitations')
      .set({ used_at: now })
      .where('token_hash', '=', sha256Hex(token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('user_id')
      .executeTakeFirst();
    return row?.user_id;
  }

  /**
   * When each user's newest unused invitation expires (maybe in the past; housekeeping deletes it
   * a while after), for every user or only `userId`. A new invitation marks the older ones used.
   */
  async openExpiryByUser(userId?: string): Promise<Map<string, number>> {
    let q = this.db.selectFrom('invitations').select(['user_id', (eb) => eb.fn.max('expires_at').as('expires_at')]).where('used_at', 'is', null);
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const rows = await q.groupBy('user_id').execute();
    return new Map(rows.map((r) => [r.user_id, Number(r.expires_at)]));
  }

  /** Deletes invitations that expired before `before`, used or not; returns how many went. */
  async purgeExpired(before: number): Promise<number> {
    const r = await this.db.deleteFrom('invitations').where('expires_at', '<', before).executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }
}
