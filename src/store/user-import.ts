import { randomBytes } from 'node:crypto';
import { CompiledQuery, sql, type Transaction } from 'kysely';
import { batches } from './batches.js';
import { isPgDatabaseError, type Dialect, type Store } from './db.js';
import type { Database, MfaDevicesTable, User, UserGroupsTable } from './schema.js';
import { normalizeEmail, type NewUser } from './users.js';

/**
 * The rows of a bulk import (src/flows/user-import.ts), written a chunk at a time inside the
 * import's one transaction. A million users is a million rows in each of several indexes, so the
 * statements are written out here rather than through the query builder, whose per-value work
 * cost seconds at that size, and the random bytes of the ids are drawn once a chunk instead of
 * twice a user (one draw cost ~4 µs: 7 s for a million users).
 */

/**
 * Every column, in statement order, with its PostgreSQL type. A Record, so a column added to the
 * schema fails the build here until the import writes it.
 */
type ColumnTypes<T> = Record<keyof T, 'text' | 'bigint' | 'integer'>;
const userColumns: ColumnTypes<User> = {
  id: 'text',
  email: 'text',
  name: 'text',
  role: 'text',
  locale: 'text',
  password_hash: 'text',
  password_changed_at: 'bigint',
  disabled: 'integer',
  created_at: 'bigint',
  last_sign_in_at: 'bigint',
  webauthn_user_handle: 'text',
  force_password_change: 'integer',
};
const groupColumns: ColumnTypes<UserGroupsTable> = { user_id: 'text', name: 'text', created_at: 'bigint' };
const deviceColumns: ColumnTypes<MfaDevicesTable> = {
  id: 'text',
  user_id: 'text',
  type: 'text',
  name: 'text',
  status: 'text',
  created_at: 'bigint',
  activated_at: 'bigint',
  last_used_at: 'bigint',
  secret_sealed: 'text',
  secret_key_id: 'text',
  counter: 'bigint',
  lookup_key: 'text',
  config: 'text',
};

export type ImportedDevice = MfaDevicesTable;
export type ImportedGroup = UserGroupsTable;

const quoted = (names: readonly string[]) => names.map((c) => `"${c}"`).join(',');

/** The rows' values a column at a time, for PostgreSQL's unnest: one array parameter a column. */
function unnestOf<T extends object>(columns: ColumnTypes<T>, rows: readonly T[]): { names: (keyof T & string)[]; arrays: unknown[][]; unnest: string } {
  const names = Object.keys(columns) as (keyof T & string)[];
  return {
    names,
    arrays: names.map((c) => rows.map((row) => row[c])),
    unnest: `unnest(${names.map((c, i) => `$${i + 1}::${columns[c]}[]`).join(',')}) as n(${quoted(names)})`,
  };
}

/**
 * The rows in as few statements as the parameters allow. SQLite: `VALUES (?,…),(?,…)`, a row's
 * values a parameter each. PostgreSQL: one array a column, `SELECT * FROM unnest($1::text[], …)`,
 * so the statement is a dozen parameters whatever the number of rows, and the server parses and
 * plans it in no time instead of a VALUES list of thousands of expressions.
 */
async function insertRows<T extends object, R = never>(
  trx: Transaction<Database>,
  dialect: Dialect,
  table: keyof Database,
  columns: ColumnTypes<T>,
  rows: readonly T[],
  tail: { sqlite?: string; postgres?: string } = {},
): Promise<R[]> {
  if (rows.length === 0) return [];
  if (dialect === 'postgres') {
    const { names, arrays, unnest } = unnestOf(columns, rows);
    const r = await trx.executeQuery<R>(CompiledQuery.raw(`insert into "${table}" (${quoted(names)}) select * from ${unnest}${tail.postgres ?? ''}`, arrays));
    return r.rows;
  }
  const names = Object.keys(columns) as (keyof T & string)[];
  const tuple = `(${names.map(() => '?').join(',')})`;
  const returned: R[] = [];
  for (const batch of batches(rows, dialect, names.length)) {
    const parameters: unknown[] = [];
    for (const row of batch) for (const c of names) parameters.push(row[c]);
    const text = `insert into "${table}" (${quoted(names)}) values ${Array.from({ length: batch.length }, () => tuple).join(',')}${tail.sqlite ?? ''}`;
    const r = await trx.executeQuery<R>(CompiledQuery.raw(text, parameters));
    for (const row of r.rows) returned.push(row);
  }
  return returned;
}

/** What a user row is made of, as for one user created by hand (src/store/users.ts newUserRow). */
export type ImportedUser = Omit<NewUser, 'now'>;

/** The rows of new users, as newUserRow makes them, with the random ids and WebAuthn user handles of all of them drawn at once. */
export function importedUserRows(users: readonly ImportedUser[], now: number): User[] {
  const random = randomBytes(users.length * 80);
  return users.map((u, i) => ({
    id: random.toString('base64url', i * 80, i * 80 + 16),
    email: normalizeEmail(u.email),
    name: u.name,
    role: u.role,
    locale: u.locale,
    password_hash: u.passwordHash,
    password_changed_at: u.passwordHash ? now : null,
    disabled: u.disabled ? 1 : 0,
    created_at: now,
    last_sign_in_at: null,
    webauthn_user_handle: random.toString('base64url', i * 80 + 16, i * 80 + 80),
    force_password_change: 0,
  }));
}

/** `count` fresh ids (as src/crypto/tokens.ts newId makes them), from one draw of random bytes. */
export function importedIds(count: number): string[] {
  const random = randomBytes(count * 16);
  return Array.from({ length: count }, (_, i) => random.toString('base64url', i * 16, i * 16 + 16));
}

/**
 * Inserts the users whose email no user has and answers the ids it wrote; a row whose email is
 * taken (by a user from before or by an earlier chunk of the same import, which the caller tells
 * apart) is skipped, not an error. SQLite skips it at its unique index (ON CONFLICT DO NOTHING,
 * free there). PostgreSQL's ON CONFLICT inserts each row speculatively, which made the insert 2.5
 * times slower, so there the statement leaves out the emails it finds; an email a concurrent
 * transaction commits meanwhile still meets the unique index (see lostToConcurrentWriter).
 */
export async function insertImportedUsers(trx: Transaction<Database>, dialect: Dialect, rows: readonly User[]): Promise<Set<string>> {
  const written = await insertRows<User, { id: string }>(trx, dialect, 'users', userColumns, rows, {
    sqlite: ' on conflict ("email") do nothing returning "id"',
    postgres: ' where not exists (select 1 from "users" u where u."email" = n."email") returning "id"',
  });
  return new Set(written.map((r) => r.id));
}

/**
 * Whether an import lost a race: a concurrent transaction committed one of its emails after the
 * import's check (PostgreSQL's unique index then refuses the insert), or two imports each waited
 * for the other's emails (a deadlock, one of them aborted). Read again, the file finds those
 * emails taken and is refused by line. SQLite never gets here: the import holds the write lock
 * from its first statement.
 */
export function lostToConcurrentWriter(err: unknown): boolean {
  return isPgDatabaseError(err) && ((err.code === '23505' && err.constraint === 'users_email_key') || err.code === '40P01');
}

export async function insertImportedGroups(trx: Transaction<Database>, dialect: Dialect, rows: readonly ImportedGroup[]): Promise<void> {
  await insertRows(trx, dialect, 'user_groups', groupColumns, rows);
}

/** Imported MFA devices: every row carries every column, so each multi-row statement binds the same shape. */
export async function insertImportedDevices(trx: Transaction<Database>, dialect: Dialect, rows: readonly ImportedDevice[]): Promise<void> {
  await insertRows(trx, dialect, 'mfa_devices', deviceColumns, rows);
}

/**
 * SQLite's page cache, raised while imports run. A million users put a million random keys in
 * each of four indexes (ids, emails, WebAuthn handles, group memberships); with the default 16 MB
 * most inserts find their index page evicted and read it back from the file. Measured on a million
 * users (interleaved runs): 16 MB 56 s of CPU (26 s in the kernel), 32 MB 47 s, 64 MB 40 s (16 s)
 * for 35 MB more peak memory than 32 MB; on a slower host (2026-12-02, one run each) 64 MB 58.5 s
 * wall (57 s of CPU, 17 s in the kernel, 237 MB peak), 128 MB 50.2 s (49 s, 12 s; 290 MB),
 * 256 MB 49.1 s (48 s, 11 s; 452 MB). The setting goes back when the last import running on the
 * connection ends. PostgreSQL has its own shared buffers.
 */
const IMPORT_CACHE_KIB = 128 * 1024;
const raised = new WeakMap<Store['db'], { imports: number; previous: Promise<number> }>();

async function setCacheSize(store: Store, kib: number): Promise<void> {
  await sql`pragma cache_size = ${sql.raw(String(Math.trunc(kib)))}`.execute(store.db);
}

/** The setting as it was, after raising it. */
async function raiseCache(store: Store): Promise<number> {
  const current = await sql<{ cache_size: number }>`pragma cache_size`.execute(store.db);
  await setCacheSize(store, -IMPORT_CACHE_KIB);
  return current.rows[0]?.cache_size ?? -16000;
}

export async function withImportCache<T>(store: Store, work: () => Promise<T>): Promise<T> {
  if (store.dialect !== 'sqlite') return work();
  // Made before any await, so imports starting together share one raise and one restore.
  let state = raised.get(store.db);
  if (!state) {
    state = { imports: 0, previous: raiseCache(store) };
    raised.set(store.db, state);
  }
  state.imports++;
  try {
    await state.previous;
    return await work();
  } finally {
    if (--state.imports === 0) {
      raised.delete(store.db);
      // A raise that failed failed the import already; there is nothing to put back.
      const previous = await state.previous.catch(() => null);
      if (previous !== null) await setCacheSize(store, previous);
    }
  }
}
