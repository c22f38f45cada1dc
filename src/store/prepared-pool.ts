import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type PgModule from 'pg';

/**
 * PostgreSQL parses and plans an unnamed statement afresh at every execution, and Kysely sends
 * every query unnamed. For the short statements the service repeats on every request (the
 * session lookup, the sign-in steps' reads and writes) that planning was most of the database
 * server's work: the live-session lookup alone ran at 3 900–4 000 a second unnamed against
 * 7 300–9 000 named, from 20 callers on the 2-core development machine (docs/benchmarks.md).
 *
 * So this pool hands Kysely clients that send such a statement as a named prepared statement:
 * pg parses it once per connection and, from the second execution on, sends only its values.
 * - Only data statements (SELECT, INSERT, UPDATE, DELETE, WITH) up to MAX_SQL_LENGTH characters
 *   are named. DDL, transaction control and the bulk import's multi-row INSERTs stay unnamed.
 * - At most MAX_NAMED distinct texts per process get a name, first come first served. A prepared
 *   statement lives as long as its connection, on the database server as well, so the number
 *   held is bounded by MAX_NAMED × the pool's size.
 * - PostgreSQL re-plans a prepared statement by itself when a table it reads changes, but refuses
 *   one whose result columns would change (`SELECT *` after a column was added by a newer
 *   version's migration): SQLSTATE 0A000. Such a text is sent unnamed from then on, and the
 *   statement is retried at once when no transaction is open on the connection (inside one, the
 *   transaction has already failed, so the error goes to its caller).
 *
 * A transaction-mode pooler between the service and PostgreSQL must keep prepared statements per
 * client (PgBouncer 1.21 and later with `max_prepared_statements` set); docs/scaling.md says so.
 */
export const MAX_NAMED = 256;
export const MAX_SQL_LENGTH = 4096;

const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\b/i;
const TRANSACTION_START = /^\s*(begin|start\s+transaction)\b/i;
const TRANSACTION_END = /^\s*(commit|rollback|end|abort)\s*(;|$|and\b|work\b|transaction\b)/i;
const RESULT_TYPE_CHANGED = '0A000';

export class StatementNames {
  readonly #names = new Map<string, string>();
  /** Texts the database refused to run as prepared statements: sent unnamed for good. */
  readonly #unnamed = new Set<string>();
  /** Names are never reused: a connection that prepared a refused text still holds its name. */
  #issued = 0;

  constructor(readonly max = MAX_NAMED) {}

  /** The name this text is prepared under, or undefined to send it unnamed. */
  nameFor(sql: string): string | undefined {
    const known = this.#names.get(sql);
    if (known !== undefined) return known;
    if (this.#names.size >= this.max || sql.length > MAX_SQL_LENGTH || this.#unnamed.has(sql) || !DATA_STATEMENT.test(sql)) return undefined;
    const name = `mamori_${++this.#issued}`;
    this.#names.set(sql, name);
    return name;
  }

  /** From now on this text goes unnamed. Its name is not handed out again. */
  refuse(sql: string): void {
    this.#names.delete(sql);
    this.#unnamed.add(sql);
  }

  get size(): number {
    return this.#names.size;
  }
}

function isResultTypeChange(err: unknown): boolean {
  return err instanceof Error && Reflect.get(err, 'code') === RESULT_TYPE_CHANGED;
}

class PreparingClient implements PostgresPoolClient {
  #inTransaction = false;

  constructor(
    private readonly client: PgModule.PoolClient,
    private readonly names: StatementNames,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Kysely hands over a cursor only for a streamed query (no dialect cursor is configured, so
    // Kysely itself refuses one before it gets here); the service streams none.
    if (typeof sqlOrCursor !== 'string') throw new TypeError('streamed queries are not supported by this pool');
    return this.#run<R>(sqlOrCursor, parameters ?? []);
  }

  async #run<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    const values = [...parameters];
    if (TRANSACTION_START.test(sql)) this.#inTransaction = true;
    else if (TRANSACTION_END.test(sql)) this.#inTransaction = false;
    const name = this.names.nameFor(sql);
    if (name === undefined) return this.#result<R>(await this.client.query(sql, values));
    try {
      return this.#result<R>(await this.client.query({ name, text: sql, values }));
    } catch (err) {
      if (!isResultTypeChange(err)) throw err;
      this.names.refuse(sql);
      if (this.#inTransaction) throw err;
      return this.#result<R>(await this.client.query(sql, values));
    }
  }

  #result<R>(result: PgModule.QueryResult): PostgresQueryResult<R> {
    // pg types its rows `any` and its command a string; the rows are the compiled query's, as with
    // pg's own pool handed to Kysely, and Kysely reads the command only to count affected rows.
    return { command: result.command as PostgresQueryResult<R>['command'], rowCount: result.rowCount ?? 0, rows: result.rows };
  }

  release(destroy?: boolean): void {
    // A connection given back mid-transaction is rolled back by Kysely first; a new checkout starts clean.
    this.#inTransaction = false;
    this.client.release(destroy);
  }
}

/** A pool for Kysely's PostgresDialect whose clients name the statements they repeat (see above). */
export class PreparingPool implements PostgresPool {
  readonly #clients = new WeakMap<PgModule.PoolClient, PreparingClient>();
  readonly names: StatementNames;

  constructor(
    private readonly pool: PgModule.Pool,
    names = new StatementNames(),
  ) {
    this.names = names;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    // One wrapper per connection: Kysely keeps its connection object per client it is handed.
    let wrapped = this.#clients.get(client);
    if (!wrapped) {
      wrapped = new PreparingClient(client, this.names);
      this.#clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
