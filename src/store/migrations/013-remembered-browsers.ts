import type { Kysely } from 'kysely';

/**
 * Issue 10, item 5: "Remember this browser" (MAMORI_REMEMBER_BROWSER_DAYS). After a second
 * factor the user may let this browser skip it for a while; each such grant is a row, found by the
 * SHA-256 of the random `mamori_remember` cookie, for one user, until `expires_at` or until it is
 * revoked (by the user, or for every grant of the user at once when a device goes, the password
 * changes or an administrator resets MFA).
 */
export const rememberedBrowsers = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('remembered_browsers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      // The device whose proof made the grant (null for a recovery code); not a foreign key: a
      // removed device's row is deleted, and the removal ends the grant anyway (kept for the record).
      .addColumn('device_id', 'text')
      // JSON: the RFC 8176 methods of that proof, for the list and the audit trail.
      .addColumn('amr', 'text', (c) => c.notNull())
      .execute();
    // Revoking all of a user's grants, and the user's list.
    await db.schema.createIndex('remembered_browsers_user').on('remembered_browsers').column('user_id').execute();
    // Housekeeping deletes grants that ended.
    await db.schema.createIndex('remembered_browsers_expires').on('remembered_browsers').column('expires_at').execute();
  },
};
