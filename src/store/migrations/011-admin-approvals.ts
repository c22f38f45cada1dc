import type { Kysely } from 'kysely';

/**
 * The two-person rule (MAMORI_ADMIN_APPROVALS=2): an administrator's act on another user that
 * could strip their protection waits here until a second administrator approves it (or it is
 * cancelled, or 24 hours pass). `status` moves from `pending` exactly once, by one conditional
 * UPDATE; "expired" is not stored: it is a pending row whose `expires_at` has passed.
 */
export const adminApprovals = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('admin_approvals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target_user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      // What exactly was asked (the device, the changes), as JSON: executed as it was requested.
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('approved_by', 'text', (c) => c.references('users.id').onDelete('set null'))
      .addColumn('approved_at', 'bigint')
      .addColumn('executed_at', 'bigint')
      .addColumn('cancelled_at', 'bigint')
      .addColumn('cancelled_by', 'text', (c) => c.references('users.id').onDelete('set null'))
      // Approved, but the act's own preconditions no longer held (the device already gone…): its code.
      .addColumn('failed_at', 'bigint')
      .addColumn('failure', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('admin_approvals_status').on('admin_approvals').columns(['status', 'requested_at']).execute();
  },
};
