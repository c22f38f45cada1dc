import type { Transaction } from 'kysely';
import { newId, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database } from './schema.js';

/**
 * One browser's cookie is the same for every user who signs in from it; hashed together with the
 * user id, the rows of two accounts do not show that they share a browser.
 */
const hashFor = (userId: string, token: string) => sha256Hex(`${userId}:${token}`);

/** Browsers each user has signed in from, by a hash of their `mamori_browser` cookie (migration 010). */
export class KnownBrowserRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): KnownBrowserRepository {
    return new KnownBrowserRepository({ ...this.store, db: trx });
  }

  /**
   * Touches the browser if the user knows it; false when it is new to this user. A browser seen
   * within `freshMs` from the same address and user agent is left as it is: the write (a commit
   * of its own on every sign-in) would change nothing that the list or its trimming needs.
   */
  async touch(userId: string, token: string, now: number, seen: { ip: string | null; userAgent: string | null }, freshMs = 0): Promise<boolean> {
    const tokenHash = hashFor(userId, token);
    if (freshMs > 0) {
      const row = await this.db.selectFrom('known_browsers').select(['last_seen_at', 'ip', 'user_agent']).where('user_id', '=', userId).where('token_hash', '=', tokenHash).executeTakeFirst();
      if (!row) return false;
      if (now - Number(row.last_seen_at) < freshMs && row.ip === seen.ip && row.user_agent === seen.userAgent) return true;
    }
    const r = await this.db
      .updateTable('known_browsers')
      .set({ last_seen_at: now, ip: seen.ip, user_agent: seen.userAgent })
      .where('user_id', '=', userId)
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Remembers the browser for the user; true only for the one caller whose row went in. */
  async remember(userId: string, token: string, now: number, seen: { ip: string | null; userAgent: string | null }): Promise<boolean> {
    const r = await this.db
      .insertInto('known_browsers')
      .values({ id: newId(), user_id: userId, token_hash: hashFor(userId, token), first_seen_at: now, last_seen_at: now, ip: seen.ip, user_agent: seen.userAgent })
      .onConflict((oc) => oc.columns(['user_id', 'token_hash']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }

  async countForUser(userId: string): Promise<number> {
    const r = await this.db
      .selectFrom('known_browsers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Keeps the user's `keep` most recently seen browsers and forgets the rest; returns how many went. */
  async trim(userId: string, keep: number): Promise<number> {
    const stale = await this.db
      .selectFrom('known_browsers')
      .select('id')
      .where('user_id', '=', userId)
      .orderBy('last_seen_at', 'desc')
      .orderBy('id')
      .limit(1000)
      .offset(keep)
      .execute();
    if (stale.length === 0) return 0;
    const r = await this.db.deleteFrom('known_browsers').where('id', 'in', stale.map((s) => s.id)).executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }

  /** Forgets browsers not seen since `before`; returns how many went. */
  async purgeUnseen(before: number): Promise<number> {
    const r = await this.db.deleteFrom('known_browsers').where('last_seen_at', '<', before).executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }
}
