import type { Transaction } from 'kysely';
import { newId, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database, WebauthnChallengesTable } from './schema.js';

export type ChallengePurpose = WebauthnChallengesTable['purpose'];

/** WebAuthn challenges live server-side, one row per ceremony, and are used at most once. */
export class ChallengeRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): ChallengeRepository {
    return new ChallengeRepository({ ...this.store, db: trx });
  }

  async issue(purpose: ChallengePurpose, userId: string | null, challenge: string, now: number, ttlMs: number): Promise<void> {
    await this.purgeExpired(now);
    await this.db
      .insertInto('webauthn_challenges')
      .values({ id: newId(), token_hash: sha256Hex(challenge), user_id: userId, purpose, challenge, created_at: now, expires_at: now + ttlMs })
      .execute();
  }

  /**
   * Deletes the challenge the client answered. True for exactly one caller, and only while it is
   * fresh and belongs to this purpose and user: a replay or a stale answer finds nothing to delete.
   */
  async consume(purpose: ChallengePurpose, userId: string | null, challenge: string, now: number): Promise<boolean> {
    let q = this.db
      .deleteFrom('webauthn_challenges')
      .where('token_hash', '=', sha256Hex(challenge))
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now);
    q = userId === null ? q.where('user_id', 'is', null) : q.where('user_id', '=', userId);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Deletes the challenges no answer can use any more; returns how many went. */
  async purgeExpired(now: number): Promise<number> {
    const r = await this.db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }
}
