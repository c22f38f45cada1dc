import type { Kysely } from 'kysely';

/**
 * The grace period of MAMORI_REQUIRE_MFA / MAMORI_MFA_GRACE_DAYS, one row a user it has begun for.
 * A table of its own rather than columns of `users`: the user row is read on every request and
 * copied field by field, while this is read only at sign-in and in the administrators' views.
 *
 * `started_at` is the user's first sign-in under the rule without a device (the grace days count
 * from it, so an operator who changes MAMORI_MFA_GRACE_DAYS moves every running grace with it);
 * `until`, when set, is a deadline fixed by an administrator's removal of the user's last device
 * (a fresh 24 hours), which takes the place of the counted one.
 */
export const mfaGrace = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('mfa_grace')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('until', 'bigint')
      .execute();
  },
};
