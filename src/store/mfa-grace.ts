import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database, MfaGrace } from './schema.js';

/** The MFA grace periods of MAMORI_REQUIRE_MFA (see src/flows/enforcement.ts for what they mean). */
export class MfaGraceRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): MfaGraceRepository {
    return new MfaGraceRepository({ ...this.store, db: trx });
  }

  find(userId: string): Promise<MfaGrace | undefined> {
    return this.db.selectFrom('mfa_grace').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /**
   * The user's grace, begun at `now` unless it already was. Of two first sign-ins at once, one
   * row wins (the primary key) and both answer with it.
   */
  async begin(userId: string, now: number): Promise<MfaGrace> {
    await this.db
      .insertInto('mfa_grace')
      .values({ user_id: userId, started_at: now, until: null })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
    return (await this.find(userId))!;
  }

  /** A deadline that replaces the counted one (an administrator removed the last device). */
  async setUntil(userId: string, now: number, until: number): Promise<void> {
    await this.db
      .insertInto('mfa_grace')
      .values({ user_id: userId, started_at: now, until })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ until }))
      .execute();
  }

  /** The grace is over because the user holds a device now: a later loss counts afresh. */
  async end(userId: string): Promise<void> {
    await this.db.deleteFrom('mfa_grace').where('user_id', '=', userId).execute();
  }

  /** Every begun grace, for the administrators' views. */
  async all(): Promise<Map<string, MfaGrace>> {
    const rows = await this.db.selectFrom('mfa_grace').selectAll().execute();
    return new Map(rows.map((r) => [r.user_id, r]));
  }
}
