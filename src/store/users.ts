import { randomBytes } from 'node:crypto';
import { newId } from '../crypto/tokens.js';
import type { Store } from './db.js';
import { sql, type Transaction } from 'kysely';
import { batches } from './batches.js';
import type { Database, User, UserUpdate } from './schema.js';

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

export interface NewUser {
  email: string;
  name: string;
  role: 'admin' | 'user';
  locale: 'en' | 'ja';
  passwordHash: string | null;
  now: number;
  disabled?: boolean;
}

/** The row of a new user: a fresh id and WebAuthn user handle, the email normalised. */
export function newUserRow(u: NewUser): User {
  return {
    id: newId(),
    email: normalizeEmail(u.email),
    name: u.name,
    role: u.role,
    locale: u.locale,
    password_hash: u.passwordHash,
    password_changed_at: u.passwordHash ? u.now : null,
    disabled: u.disabled ? 1 : 0,
    created_at: u.now,
    last_sign_in_at: null,
    webauthn_user_handle: randomBytes(64).toString('base64url'),
    force_password_change: 0,
  };
}

const USER_COLUMNS = 12;

export class UserRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): UserRepository {
    return new UserRepository({ ...this.store, db: trx });
  }

  async create(u: NewUser): Promise<User> {
    const row = newUserRow(u);
    await this.db.insertInto('users').values(row).execute();
    return row;
  }

  /**
   * Many users in multi-row INSERTs, inside the caller's one transaction (all of them or none).
   * Each statement stays under the driver's bound-parameter limit (SQLite 32 766, PostgreSQL
   * 65 535); a few thousand rows a statement is what makes 100 000 users take seconds, not minutes.
   */
  async insertMany(trx: Transaction<Database>, rows: readonly User[]): Promise<void> {
    for (const batch of batches(rows, this.store.dialect, USER_COLUMNS)) await trx.insertInto('users').values(batch).execute();
  }

  /** Which of these (normalised) emails already belong to a user, in as few statements as the parameter limit allows. */
  async existingEmails(emails: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (const batch of batches(emails, this.store.dialect, 1)) {
      const rows = await this.db.selectFrom('users').select('email').where('email', 'in', batch).execute();
      for (const r of rows) found.push(r.email);
    }
    return found;
  }

  /** Replaces the password hash only while it is still `expected` (a re-hash racing a password change loses). */
  async replacePasswordHash(id: string, expected: string, next: string): Promise<boolean> {
    const r = await this.db.updateTable('users').set({ password_hash: next }).where('id', '=', id).where('password_hash', '=', expected).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Inserts only while the table is empty, so two racing setup requests make one administrator. */
  async createFirst(trx: Transaction<Database>, u: NewUser): Promise<User | null> {
    // Two transactions could both see no user and both insert: take the write lock first. On
    // PostgreSQL an advisory lock; on SQLite a write as the first statement, so a second process
    // waits (busy timeout) instead of failing on a stale read snapshot.
    if (this.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7243002)`.execute(trx);
    else {
      await trx
        .insertInto('settings')
        .values({ key: 'first_user_at', value: String(u.now) })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
    }
    const any = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
    if (any) return null;
    return this.within(trx).create(u);
  }

  /** Whether any user exists: one row read, where a count would read the whole table (a million rows at every start). */
  async any(): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').limit(1).executeTakeFirst()) !== undefined;
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
  }

  findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(): Promise<User[]> {
    return this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async update(id: string, changes: UserUpdate): Promise<void> {
    await this.db.updateTable('users').set(changes).where('id', '=', id).execute();
  }

  /**
   * Takes the user's row lock until the transaction ends, so checks such as the device limit hold
   * against concurrent requests (PostgreSQL's READ COMMITTED would let both see the old count).
   * A no-op write rather than SELECT … FOR UPDATE, so it means the same on SQLite and elsewhere.
   */
  async lockRow(id: string): Promise<void> {
    await this.db.updateTable('users').set((eb) => ({ disabled: eb.ref('disabled') })).where('id', '=', id).execute();
  }
}
