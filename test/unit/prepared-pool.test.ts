import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { MAX_SQL_LENGTH, StatementNames } from '../../src/store/prepared-pool.js';
import { SessionRepository } from '../../src/store/sessions.js';
import { freshStore, pgUrl } from '../helpers/db.js';

/**
 * src/store/prepared-pool.ts: on PostgreSQL the statements the service repeats go as named
 * prepared statements, so the server plans each once per connection.
 */
describe('which statements get a name', () => {
  it.each([
    ['select "id" from "users" where "email" = $1', true],
    ['  SELECT 1', true],
    ['insert into "sessions" ("id") values ($1)', true],
    ['update "attempt_budgets" set "pending" = "pending" + 1 where "key" = $1 and "pending" < $2', true],
    ['delete from "challenges" where "expires_at" < $1', true],
    ['with x as (select 1) select * from x', true],
    ['begin', false],
    ['commit', false],
    ['set local synchronous_commit = off', false],
    ['create table "t" ("a" integer)', false],
    ['alter table "users" add column "x" text', false],
    ['the bulk import\'s multi-row insert', false],
    ['selected', false],
  ])('%s → %s', (text, named) => {
    const sqlText = text.startsWith('the bulk') ? `insert into "users" values ${'($1),'.repeat(MAX_SQL_LENGTH / 5)}($1)` : text;
    expect(new StatementNames().nameFor(sqlText) !== undefined).toBe(named);
  });

  it('gives one text one name, different texts different names, and stops at its limit', () => {
    const names = new StatementNames(3);
    const a = names.nameFor('select 1');
    expect(names.nameFor('select 1')).toBe(a);
    const b = names.nameFor('select 2');
    const c = names.nameFor('select 3');
    expect(new Set([a, b, c]).size).toBe(3);
    expect(names.nameFor('select 4')).toBeUndefined();
    expect(names.nameFor('select 2')).toBe(b);
    expect(names.size).toBe(3);
  });

  it('sends a refused text unnamed for good and never hands its name to another text', () => {
    const names = new StatementNames();
    const a = names.nameFor('select * from "t"');
    names.refuse('select * from "t"');
    expect(names.nameFor('select * from "t"')).toBeUndefined();
    const b = names.nameFor('select 2');
    expect(b).toBeDefined();
    expect(b).not.toBe(a);
  });
});

describe.skipIf(!pgUrl)('named statements on PostgreSQL', () => {
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  /** Another client on the store's own database: a newer version's migration, say. */
  let other: pg.Client;

  beforeAll(async () => {
    ({ store, close } = await freshStore('postgres'));
    const url = new URL(pgUrl!);
    url.pathname = `/${(await sql<{ name: string }>`select current_database() as name`.execute(store.db)).rows[0]!.name}`;
    other = new pg.Client({ connectionString: url.toString() });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await close?.();
  });

  /** The prepared statements of the connection `db` runs on (pg_prepared_statements is per connection). */
  const prepared = async (db: Pick<Store['db'], 'executeQuery'>) =>
    (await db.executeQuery(sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.compile(store.db))).rows;

  it('prepares the session lookup once per connection and answers it the same each time', async () => {
    await store.db.connection().execute(async (conn) => {
      const sessions = new SessionRepository({ ...store, db: conn }, { idleMs: 3_600_000, absoluteMs: 86_400_000 });
      for (let i = 0; i < 3; i++) expect(await sessions.findLive('no such token', Date.now())).toBeUndefined();
      const mine = await prepared(conn);
      const lookups = mine.filter((p) => p.statement.includes('"sessions".*'));
      expect(lookups).toHaveLength(1);
      expect(lookups[0]!.name).toMatch(/^mamori_\d+$/);
    });
  });

  it('runs a statement again after a newer migration added a column to what it reads', async () => {
    await sql`create table prep_probe (a integer)`.execute(store.db);
    await sql`insert into prep_probe values (1)`.execute(store.db);
    await store.db.connection().execute(async (conn) => {
      const all = async () => (await sql`select * from prep_probe`.execute(conn)).rows;
      expect(await all()).toEqual([{ a: 1 }]);
      expect((await prepared(conn)).some((p) => p.statement === 'select * from prep_probe')).toBe(true);
      await other.query('alter table prep_probe add column b integer default 2');
      // Outside a transaction: PostgreSQL refuses the prepared plan (0A000) and the pool runs the text unnamed.
      expect(await all()).toEqual([{ a: 1, b: 2 }]);
      expect(await all()).toEqual([{ a: 1, b: 2 }]);
    });
  });

  it('hands the refusal inside a transaction to its caller, and runs the text unnamed afterwards', async () => {
    await sql`create table prep_probe2 (a integer)`.execute(store.db);
    await store.db.connection().execute(async (conn) => {
      const all = async (db: typeof conn) => (await sql`select * from prep_probe2`.execute(db)).rows;
      expect(await all(conn)).toEqual([]);
      await other.query('alter table prep_probe2 add column b integer');
      // The refusal has already aborted the transaction, so no retry can run in it.
      await expect(conn.transaction().execute((trx) => all(trx))).rejects.toMatchObject({ code: '0A000' });
      expect(await all(conn)).toEqual([]);
      await conn.transaction().execute(async (trx) => expect(await all(trx)).toEqual([]));
    });
  });

  it('answers many callers at once through the same names', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sql<{ n: number }>`select ${i}::int as n`.execute(store.db).then((r) => r.rows[0]!.n)),
    );
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
