import type { Kysely } from 'kysely';

/**
 * Issue 10: self-service recovery for a user who lost every MFA device (a mailed link, then a
 * 24-hour cooling-off), and the browsers each user has signed in from (a long-lived cookie, kept
 * as a hash), so a sign-in from a new one can be told to the owner.
 */
export const recoveryAndBrowsers = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('recovery_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      // Unique among the set ones; both databases allow many NULLs under a unique constraint.
      .addColumn('cancel_token_hash', 'text', (c) => c.unique())
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('confirmed_at', 'bigint')
      .addColumn('cooling_until', 'bigint')
      .addColumn('completed_at', 'bigint')
      .addColumn('cancelled_at', 'bigint')
      .addColumn('ended_mail_sent_at', 'bigint')
      // The "cooling-off ended" mail carries a cancel link of its own (only hashes are kept, so the first can't be repeated).
      .addColumn('ended_cancel_token_hash', 'text', (c) => c.unique())
      .addColumn('sign_in_id', 'text')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .execute();
    await db.schema.createIndex('recovery_requests_user').on('recovery_requests').column('user_id').execute();
    // Housekeeping looks for cooling-offs that ended and still owe their mail.
    await db.schema.createIndex('recovery_requests_cooling').on('recovery_requests').column('cooling_until').execute();

    await db.schema
      .createTable('known_browsers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('user_agent', 'text')
      .addColumn('ip', 'text')
      // One browser is one row per user: two racing sign-ins from it cannot both call it new.
      .addUniqueConstraint('known_browsers_user_token', ['user_id', 'token_hash'])
      .execute();
    await db.schema.createIndex('known_browsers_last_seen').on('known_browsers').column('last_seen_at').execute();
  },
};
