import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type Migration,
  type MigrationProvider,
  type SqliteDatabase,
  type Transaction,
} from 'kysely';
import { createRequire } from 'node:module';
import type PgModule from 'pg';
import { PreparingPool } from './prepared-pool.js';
import { initial } from './migrations/001-initial.js';
import { invitations } from './migrations/002-invitations.js';
import { auditInstance } from './migrations/003-audit-instance.js';
import { auditMac } from './migrations/004-audit-mac.js';
import { attemptBudgets } from './migrations/005-attempt-budgets.js';
import { deviceConfig } from './migrations/006-device-config.js';
import { recoveryCodeLookup } from './migrations/007-recovery-code-lookup.js';
import { integration } from './migrations/008-integration.js';
import { mfaGrace } from './migrations/009-mfa-grace.js';
import { recoveryAndBrowsers } from './migrations/010-recovery-and-browsers.js';
import { adminApprovals } from './migrations/011-admin-approvals.js';
import { auditChains } from './migrations/012-audit-chains.js';
import { rememberedBrowsers } from './migrations/013-remembered-browsers.js';
import { oidcAccounts } from './migrations/014-oidc-accounts.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * A transaction whose commit does not wait for the disk: SQLite's synchronous=NORMAL around it,
 * PostgreSQL's synchronous_commit off in it. Other transactions see it at once, as any commit.
 * Only for writes a power cut may lose without harm: both logs are written in order, so the next
 * commit that does wait makes this one durable too. Its users: attempt accounting
 * (AttemptRepository.atomically says which of its writes qualify, and why) and the pending
 * sign-in a password step leaves for the second factor (SignInRepository.start).
 */
export type UnflushedTransaction = <T>(work: (trx: Transaction<Database>) => Promise<T>) => Promise<T>;

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  unflushedTransaction: UnflushedTransaction;
  close(): Promise<void>;
}

/**
 * The PostgreSQL driver, loaded only when a database URL asks for it: on SQLite (and for every
 * CLI command there) its start-up, which loads Node's fetch, was a tenth of a cold start.
 */
let pgDriver: typeof PgModule | undefined;
function loadPg(): typeof PgModule {
  if (!pgDriver) {
    pgDriver = withoutFetchResponse(() => createRequire(import.meta.url)('pg') as typeof PgModule);
    // int8 (bigint) columns hold millisecond times and counters, all far below 2^53.
    pgDriver.types.setTypeParser(20, (v) => Number(v));
  }
  return pgDriver;
}

/**
 * Runs `load` with the global `Response` hidden. pg asks, as it loads, whether it runs in a
 * Cloudflare Worker; without `navigator` (Node 20) it constructs a fetch `Response` to find out,
 * and the first touch of `Response` loads Node's whole fetch implementation: half of pg's load
 * time, a tenth of a CLI command's start on PostgreSQL. Node is no Worker, so the answer is the
 * same without it. The property is put back as it was (a lazy getter) before anything else runs.
 */
export function withoutFetchResponse<T>(load: () => T): T {
  const own = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  if (!own?.configurable) return load();
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    return load();
  } finally {
    Object.defineProperty(globalThis, 'Response', own);
  }
}

/** An error PostgreSQL itself answered with (it carries a SQLSTATE). Asked only on a request's error path. */
export function isPgDatabaseError(err: unknown): err is PgModule.DatabaseError {
  return err instanceof Error && err instanceof loadPg().DatabaseError;
}

export function openStore(opts: { databaseUrl?: string | undefined; dataDir: string; poolSize?: number }): Store {
  if (opts.databaseUrl) {
    const pg = loadPg();
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      // An unreachable database fails a request within 5 s (a 503) instead of hanging it; a
      // burst queued for a free client waits as long before giving up.
      connectionTimeoutMillis: 5_000,
      // A connection whose peer vanished without a FIN (a cut network) is noticed, not kept forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    // Nor a checked-out one between two queries (pg-pool listens only while a client is idle, and
    // pg emits 'error' when no query is running): the client is no longer queryable, its next
    // query fails with a connection error and the pool drops it on release.
    pool.on('connect', (client) => client.on('error', () => {}));
    // The statements the service repeats go as named prepared statements (prepared-pool.ts).
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PreparingPool(pool) }) });
    const unflushedTransaction: UnflushedTransaction = (work) =>
      db.transaction().execute(async (trx) => {
        await sql`set local synchronous_commit = off`.execute(trx);
        return work(trx);
      });
    return { db, dialect: 'postgres', unflushedTransaction, close: () => db.destroy() };
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(opts.dataDir, 'mamori.sqlite');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: an acknowledged write survives a power cut, not only a killed process.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
  // The safety level cannot change inside a transaction: it is set around one, on the one
  // connection held for the whole of it, so no other transaction commits under NORMAL.
  const unflushedTransaction: UnflushedTransaction = (work) =>
    db.connection().execute(async (conn) => {
      await sql`pragma synchronous = normal`.execute(conn);
      try {
        return await conn.transaction().execute(work);
      } finally {
        await sql`pragma synchronous = full`.execute(conn);
      }
    });
  return { db, dialect: 'sqlite', unflushedTransaction, close: () => db.destroy() };
}

/**
 * SQLite's plain BEGIN is deferred: a transaction that reads and then writes upgrades its lock at
 * the first write, and in WAL mode fails at once with SQLITE_BUSY (no busy wait helps) when
 * another process — the CLI beside the server — committed in between. BEGIN IMMEDIATE takes the
 * write lock up front, so a second writer waits its busy timeout instead of failing.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/**
 * Kysely prepares every query afresh; SQLite's prepare costs about as much as a small query.
 * Statements are reusable, so keep the most recent few hundred by their SQL text.
 */
function withStatementCache(sqlite: SQLite.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '001-initial': initial(this.dialect),
      '002-invitations': invitations,
      '003-audit-instance': auditInstance,
      '004-audit-mac': auditMac,
      '005-attempt-budgets': attemptBudgets,
      '006-device-config': deviceConfig,
      '007-recovery-code-lookup': recoveryCodeLookup,
      '008-integration': integration,
      '009-mfa-grace': mfaGrace,
      '010-recovery-and-browsers': recoveryAndBrowsers,
      '011-admin-approvals': adminApprovals,
      '012-audit-chains': auditChains(this.dialect),
      '013-remembered-browsers': rememberedBrowsers,
      '014-oidc-accounts': oidcAccounts,
    };
  }
}

/**
 * Brings the schema to the newest migration, or (`upTo`, for tests of a migration) to a named
 * one. Migrations run in name order, each once, under Kysely's migration lock.
 */
export async function migrate(store: Store, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({
    // Plain code-unit order (the names are ASCII): the default localeCompare loads ICU's locale data at every start.
    nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
    db: store.db,
    provider: new InCodeMigrations(store.dialect),
    migrationTableName: 'mamori_migrations',
    migrationLockTableName: 'mamori_migrations_lock',
  });
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
