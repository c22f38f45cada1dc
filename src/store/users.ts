import { randomBytes } from 'node:crypto';
import { newId } from '../crypto/tokens.js';
import type { Store } from './db.js';
import { sql, type Transaction } from 'kysely';
import type { Database, User, UserUpdate } from './schema.js';

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

export class UserRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): UserRepository {
    return new UserRepository({ ...this.store, db: trx });
  }

  async create(u: {
    email: string;
    name: string;
    role: 'admin' | 'user';
    locale: 'en' | 'ja';
    passwordHash: string | null;
    now: number;
  }): Promise<User> {
    const row = {
      id: newId(),
      email: normalizeEmail(u.email),
      name: u.name,
      role: u.role,
      locale: u.locale,
      password_hash: u.passwordHash,
      password_changed_at: u.passwordHash ? u.now : null,
      disabled: 0,
      created_at: u.now,
      last_sign_in_at: null,
      webauthn_user_handle: randomBytes(64).toString('base64url'),
      password_failures: 0,
      password_blocked_until: null,
      password_locked: 0,
      mfa_failures: 0,
      mfa_locked_at: null,
      force_password_change: 0,
    };
    await this.db.insertInto('users').values(row).execute();
    return row;
  }

  /** Inserts only while the table is empty, so two racing setup requests make one administrator. */
  async createFirst(trx: Transaction<Database>, u: Parameters<UserRepository['create']>[0]): Promise<User | null> {
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

  /** Counts one failed password and returns the new consecutive count (atomic across instances). */
  async recordPasswordFailure(id: string): Promise<number> {
    const r = await this.db
      .updateTable('users')
      .set((eb) => ({ password_failures: eb('password_failures', '+', 1) }))
      .where('id', '=', id)
      .returning('password_failures')
      .executeTakeFirst();
    return r?.password_failures ?? 0;
  }

  async setPasswordBlock(id: string, failures: number, until: number | null, hardLock: boolean): Promise<void> {
    // Only the request that produced this count sets its block; a later failure already set a longer one.
    await this.db
      .updateTable('users')
      .set({ password_blocked_until: until, ...(hardLock ? { password_locked: 1 } : {}) })
      .where('id', '=', id)
      .where('password_failures', '=', failures)
      .execute();
  }

  async clearPasswordFailures(id: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_failures: 0, password_blocked_until: null })
      .where('id', '=', id)
      .where('password_failures', '>', 0)
      .execute();
  }

  async recordMfaFailure(id: string): Promise<number> {
    const r = await this.db
      .updateTable('users')
      .set((eb) => ({ mfa_failures: eb('mfa_failures', '+', 1) }))
      .where('id', '=', id)
      .returning('mfa_failures')
      .executeTakeFirst();
    return r?.mfa_failures ?? 0;
  }

  /** Sets the lock once; returns true for the request that locked it (it sends the email). */
  async lockMfa(id: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({ mfa_locked_at: now })
      .where('id', '=', id)
      .where('mfa_locked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A timed MFA lock ran out: the lock goes, the count (and with it the hard stop) stays. */
  async liftMfaLock(id: string): Promise<void> {
    await this.db.updateTable('users').set({ mfa_locked_at: null }).where('id', '=', id).execute();
  }

  async clearMfaFailures(id: string): Promise<void> {
    await this.db.updateTable('users').set({ mfa_failures: 0 }).where('id', '=', id).where('mfa_failures', '>', 0).execute();
  }

  async unlock(id: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({
        password_failures: 0,
        password_blocked_until: null,
        password_locked: 0,
        mfa_failures: 0,
        mfa_locked_at: null,
      })
      .where('id', '=', id)
      .execute();
  }
}
