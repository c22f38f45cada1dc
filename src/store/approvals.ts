import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { AdminApproval, Database } from './schema.js';

/**
 * Requests under the two-person rule (migration 011). Every way out of `pending` is one
 * conditional UPDATE whose row count decides, so of concurrent approvals (or an approval and a
 * cancel) on any number of instances exactly one wins.
 */
export class AdminApprovalRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): AdminApprovalRepository {
    return new AdminApprovalRepository({ ...this.store, db: trx });
  }

  async insert(r: { id: string; action: string; targetUserId: string; payload: string; requestedBy: string; now: number; ttlMs: number }): Promise<AdminApproval> {
    return this.db
      .insertInto('admin_approvals')
      .values({
        id: r.id,
        action: r.action,
        target_user_id: r.targetUserId,
        payload: r.payload,
        requested_by: r.requestedBy,
        requested_at: r.now,
        expires_at: r.now + r.ttlMs,
        approved_by: null,
        approved_at: null,
        executed_at: null,
        cancelled_at: null,
        cancelled_by: null,
        failed_at: null,
        failure: null,
        status: 'pending',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  find(id: string): Promise<AdminApproval | undefined> {
    return this.db.selectFrom('admin_approvals').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A pending, unexpired request for the very same act (asked twice, it is one request). */
  findPendingSame(r: { action: string; targetUserId: string; payload: string; now: number }): Promise<AdminApproval | undefined> {
    return this.db
      .selectFrom('admin_approvals')
      .selectAll()
      .where('action', '=', r.action)
      .where('target_user_id', '=', r.targetUserId)
      .where('payload', '=', r.payload)
      .where('status', '=', 'pending')
      .where('expires_at', '>', r.now)
      .orderBy('requested_at')
      .executeTakeFirst();
  }

  /** Every pending request (expired ones too, which the view marks) and the others since `since`, newest first. */
  listRecent(since: number, limit: number): Promise<AdminApproval[]> {
    return this.db
      .selectFrom('admin_approvals')
      .selectAll()
      .where((eb) => eb.or([eb('status', '=', 'pending'), eb('requested_at', '>=', since)]))
      .orderBy('requested_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Pending → executed, by an administrator other than the requester, before it expired. True
   * for exactly one caller; the act itself must run in the same transaction.
   */
  async claim(id: string, approver: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('admin_approvals')
      .set({ status: 'executed', approved_by: approver, approved_at: now, executed_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .where('requested_by', '!=', approver)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Pending → failed, once: approved, but the act's preconditions no longer held. */
  async markFailed(id: string, approver: string, failure: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('admin_approvals')
      .set({ status: 'failed', approved_by: approver, approved_at: now, failed_at: now, failure })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Pending → cancelled, once, while it has not expired. */
  async cancel(id: string, by: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('admin_approvals')
      .set({ status: 'cancelled', cancelled_by: by, cancelled_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
