import { sql, type Kysely } from 'kysely';

/**
 * Recovery codes get a public lookup part, so a check finds its one row by an index and verifies
 * one hash instead of trying each of the user's codes. Rows made before keep `lookup_id` null and
 * stay usable (the factor tries them the old way) until used or replaced by a new set.
 *
 * The index is unique over live rows only (unused, unvoided): a new set never clashes with the
 * lookup parts of spent or void codes, and within the live set a lookup part names one row.
 * Old rows (null) are distinct under UNIQUE on both SQLite and PostgreSQL.
 */
export const recoveryCodeLookup = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('recovery_codes').addColumn('lookup_id', 'text').execute();
    await db.schema
      .createIndex('recovery_codes_lookup')
      .on('recovery_codes')
      .columns(['user_id', 'lookup_id'])
      .unique()
      .where(sql<boolean>`used_at is null and voided_at is null`)
      .execute();
  },
};
