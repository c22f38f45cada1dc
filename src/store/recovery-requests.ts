import type { Transaction } from 'kysely';
import { newId, newToken, sha256Hex } from '../crypto/tokens.js';
import type { Store } from './db.js';
import type { Database, RecoveryRequest } from './schema.js';

/**
 * "I lost my MFA devices" requests (migration 010). Every change of state is one conditional
 * UPDATE whose row count decides between concurrent requests and instances: a link confirms
 * once, a request completes once, its "cooling-off ended" mail is claimed once.
 */
export class RecoveryRequestRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): RecoveryRequestRepository {
    return new RecoveryRequestRepository({ ...this.store, db: trx });
  }

  /**
   * A new link for the user; earlier links not yet confirmed stop working (only the newest mail
   * counts, as with invitations). Only the token's hash is kept.
   */
  async create(r: { userId: string; now: number; ip: string | null; userAgent: string | null }): Promise<{ id: string; token: string }> {
    const token = newToken();
    const id = newId();
    await this.db
      .updateTable('recovery_requests')
      .set({ cancelled_at: r.now })
      .where('user_id', '=', r.userId)
      .where('confirmed_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .execute();
    await this.db
      .insertInto('recovery_requests')
      .values({
        id,
        user_id: r.userId,
        token_hash: sha256Hex(token),
        cancel_token_hash: null,
        requested_at: r.now,
        confirmed_at: null,
        cooling_until: null,
        completed_at: null,
        cancelled_at: null,
        ended_mail_sent_at: null,
        ended_cancel_token_hash: null,
        sign_in_id: null,
        ip: r.ip,
        user_agent: r.userAgent,
      })
      .execute();
    return { id, token };
  }

  /** The user's confirmed request that is neither cancelled nor completed (cooling off, or ready). */
  findConfirmedOpen(userId: string): Promise<RecoveryRequest | undefined> {
    return this.db
      .selectFrom('recovery_requests')
      .selectAll()
      .where('user_id', '=', userId)
      .where('confirmed_at', 'is not', null)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .orderBy('confirmed_at', 'desc')
      .executeTakeFirst();
  }

  /** The user's open request, confirmed or a link still valid at `now`, newest first. */
  findOpen(userId: string, now: number, linkTtlMs: number): Promise<RecoveryRequest | undefined> {
    return this.db
      .selectFrom('recovery_requests')
      .selectAll()
      .where('user_id', '=', userId)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .where((eb) => eb.or([eb('confirmed_at', 'is not', null), eb('requested_at', '>', now - linkTtlMs)]))
      .orderBy('requested_at', 'desc')
      .executeTakeFirst();
  }

  /**
   * Uses the link once, while it is fresh: the cooling-off starts and the cancel token is set.
   * Returns the confirmed request, or undefined (unknown, used, cancelled or expired link).
   */
  async confirm(token: string, c: { now: number; linkTtlMs: number; coolingMs: number; cancelToken: string }): Promise<RecoveryRequest | undefined> {
    return this.db
      .updateTable('recovery_requests')
      .set({ confirmed_at: c.now, cooling_until: c.now + c.coolingMs, cancel_token_hash: sha256Hex(c.cancelToken) })
      .where('token_hash', '=', sha256Hex(token))
      .where('confirmed_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .where('requested_at', '>', c.now - c.linkTtlMs)
      .returningAll()
      .executeTakeFirst();
  }

  /** Ends the user's other open requests (a second link confirmed in a race): one cooling-off at a time. */
  async supersede(userId: string, keepId: string, now: number): Promise<number> {
    const r = await this.db
      .updateTable('recovery_requests')
      .set({ cancelled_at: now })
      .where('user_id', '=', userId)
      .where('id', '!=', keepId)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Cancels the request a mailed cancel link names (either mail's), once; undefined when unknown or already over. */
  async cancelByToken(cancelToken: string, now: number): Promise<RecoveryRequest | undefined> {
    const hash = sha256Hex(cancelToken);
    return this.db
      .updateTable('recovery_requests')
      .set({ cancelled_at: now })
      .where((eb) => eb.or([eb('cancel_token_hash', '=', hash), eb('ended_cancel_token_hash', '=', hash)]))
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /** Cancels every open request of the user (links and cooling-offs); returns those it ended. */
  cancelOpen(userId: string, now: number): Promise<RecoveryRequest[]> {
    return this.db
      .updateTable('recovery_requests')
      .set({ cancelled_at: now })
      .where('user_id', '=', userId)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .returningAll()
      .execute();
  }

  /** The user's request whose cooling-off is over and that nothing ended: the emailed-code sign-in may complete it. */
  findReady(userId: string, now: number): Promise<RecoveryRequest | undefined> {
    return this.db
      .selectFrom('recovery_requests')
      .selectAll()
      .where('user_id', '=', userId)
      .where('confirmed_at', 'is not', null)
      .where('cooling_until', '<=', now)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .orderBy('confirmed_at', 'desc')
      .executeTakeFirst();
  }

  /** Binds the ready request to the sign-in that just got past the password (the newest such sign-in wins). */
  async attachSignIn(id: string, signInId: string): Promise<void> {
    await this.db.updateTable('recovery_requests').set({ sign_in_id: signInId }).where('id', '=', id).where('completed_at', 'is', null).execute();
  }

  /** The ready request bound to this sign-in, if it still is ready. */
  findReadyForSignIn(signInId: string, now: number): Promise<RecoveryRequest | undefined> {
    return this.db
      .selectFrom('recovery_requests')
      .selectAll()
      .where('sign_in_id', '=', signInId)
      .where('confirmed_at', 'is not', null)
      .where('cooling_until', '<=', now)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
  }

  /** Completes the request for its sign-in, once, and only after the cooling-off; true for the one caller that did. */
  async complete(id: string, signInId: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_requests')
      .set({ completed_at: now })
      .where('id', '=', id)
      .where('sign_in_id', '=', signInId)
      .where('confirmed_at', 'is not', null)
      .where('cooling_until', '<=', now)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Cooling-offs that ended and still owe their mail (at most `limit`). */
  dueEndedMails(now: number, limit: number, userId?: string): Promise<RecoveryRequest[]> {
    let q = this.db
      .selectFrom('recovery_requests')
      .selectAll()
      .where('confirmed_at', 'is not', null)
      .where('cooling_until', '<=', now)
      .where('ended_mail_sent_at', 'is', null)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null);
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    return q.orderBy('cooling_until').limit(limit).execute();
  }

  /**
   * Claims the "cooling-off ended" mail of a request, with the cancel token that mail carries:
   * true for exactly one caller, across instances.
   */
  async claimEndedMail(id: string, now: number, cancelToken: string): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_requests')
      .set({ ended_mail_sent_at: now, ended_cancel_token_hash: sha256Hex(cancelToken) })
      .where('id', '=', id)
      .where('ended_mail_sent_at', 'is', null)
      .where('cooling_until', '<=', now)
      .where('cancelled_at', 'is', null)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Gives a claim back (its mail could not be delivered), so a later run tries again. */
  async releaseEndedMail(id: string, claimedAt: number): Promise<void> {
    await this.db
      .updateTable('recovery_requests')
      .set({ ended_mail_sent_at: null, ended_cancel_token_hash: null })
      .where('id', '=', id)
      .where('ended_mail_sent_at', '=', claimedAt)
      .execute();
  }

  /** Deletes requests that ended (cancelled, completed, or a link never confirmed) before `before`. */
  async purgeEnded(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom('recovery_requests')
      .where((eb) =>
        eb.or([
          eb('cancelled_at', '<', before),
          eb('completed_at', '<', before),
          eb.and([eb('confirmed_at', 'is', null), eb('requested_at', '<', before)]),
        ]),
      )
      .executeTakeFirstOrThrow();
    return Number(r.numDeletedRows);
  }
}
