import { newId, newToken, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';

export class InvitationRepository {
  constructor(private readonly store: Store) {}

  /** A fresh invitation; earlier open ones of the user stop working. Only the token's hash is kept. */
  async create(userId: string, now: number, ttlMs: number): Promise<string> {
    const token = newToken();
    await this.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('invitations').set({ used_at: now }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
      await trx
        .insertInto('invitations')
        .values({ id: newId(), token_hash: sha256Hex(token), user_id: userId, created_at: now, expires_at: now + ttlMs, used_at: null })
        .execute();
    });
    return token;
  }

  /** Uses the invitation once; returns its user, or undefined when unknown, used or expired. */
  async redeem(token: string, now: number): Promise<string | undefined> {
    const row = await this.store.db
      .updateTable('invitations')
      .set({ used_at: now })
      .where('token_hash', '=', sha256Hex(token))
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('user_id')
      .executeTakeFirst();
    return row?.user_id;
  }
}
