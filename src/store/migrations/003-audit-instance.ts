import type { Kysely } from 'kysely';

/** Which instance wrote an audit event (host and process), for deployments of several. */
export const auditInstance = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('audit_events').addColumn('instance', 'text').execute();
  },
};
