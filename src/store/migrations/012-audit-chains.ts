import { sql, type Kysely, type Migration } from 'kysely';
import { CHECKPOINT_CHAIN, GENESIS_HASH, LEGACY_CHAIN } from '../../audit/chain.js';
import type { Dialect } from '../db.js';

/**
 * Issue 12: per-instance audit chains. One global chain needed one lock held through the commit of
 * every appending transaction, so instances appended one at a time. Now each process appends to a
 * chain of its own, locking only that chain's head row (a row lock, which SQLite, PostgreSQL,
 * CockroachDB and YugabyteDB all have, unlike advisory locks), and signed checkpoints record the
 * chains' heads. The single chain written so far stays as it is and verifiable: its end is
 * recorded here as the head row `legacy`, which the first checkpoint then signs.
 *
 * Event ids can no longer be "the newest id + 1" without a global lock: on PostgreSQL they come
 * from a sequence (not `audit_events`' own bigserial one, which CockroachDB does not create),
 * started past the ids already used. SQLite serialises writers anyway and keeps taking max + 1.
 */
export function auditChains(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('audit_chains')
        .addColumn('chain', 'text', (c) => c.primaryKey())
        .addColumn('head_id', 'bigint', (c) => c.notNull())
        .addColumn('head_hash', 'text', (c) => c.notNull())
        .addColumn('events', 'bigint', (c) => c.notNull())
        .addColumn('checkpointed', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('instance', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('audit_events').addColumn('chain', 'text').execute();
      await db.schema.alterTable('audit_events').addColumn('chain_seq', 'bigint').execute();
      // One row per place on a chain, and the order `audit verify` walks them in. The single old
      // chain's rows (chain null) do not collide: both databases allow many NULLs under a unique index.
      await db.schema.createIndex('audit_events_chain_seq').on('audit_events').columns(['chain', 'chain_seq']).unique().execute();
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('id', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('instance', 'text')
        .addColumn('heads', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();

      const now = Date.now();
      const last = (await sql<{ id: number | string; hash: string }>`select id, hash from audit_events order by id desc limit 1`.execute(db)).rows[0];
      if (last) {
        const count = (await sql<{ n: number | string }>`select count(*) as n from audit_events`.execute(db)).rows[0]!;
        await sql`insert into audit_chains (chain, head_id, head_hash, events, checkpointed, instance, created_at, updated_at)
                  values (${LEGACY_CHAIN}, ${Number(last.id)}, ${last.hash}, ${Number(count.n)}, 0, null, ${now}, ${now})`.execute(db);
      }
      await sql`insert into audit_chains (chain, head_id, head_hash, events, checkpointed, instance, created_at, updated_at)
                values (${CHECKPOINT_CHAIN}, 0, ${GENESIS_HASH}, 0, 0, null, ${now}, ${now})`.execute(db);

      if (dialect === 'postgres') {
        await sql`create sequence audit_event_ids`.execute(db);
        await sql`select setval('audit_event_ids', (select coalesce(max(id), 0) from audit_events) + 1, false)`.execute(db);
      }
    },
  };
}
