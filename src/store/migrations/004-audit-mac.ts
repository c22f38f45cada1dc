import type { Kysely } from 'kysely';

/**
 * The audit chain's version per row. Rows already written are version 1 (plain SHA-256) and stay
 * verifiable; the application writes version 2 (HMAC under the sealed audit key). The default is
 * 1 so a row inserted by older code shows as the downgrade it is.
 */
export const auditMac = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('audit_events')
      .addColumn('chain_version', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
  },
};
