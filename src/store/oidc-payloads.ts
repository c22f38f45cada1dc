import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database } from './schema.js';

export interface StoredPayload {
  payload: string;
  consumedAt: number | null;
}

/**
 * Every model the OpenID Connect library keeps (sessions, interactions, grants, codes, tokens…)
 * in one table keyed by (model, id), with the few fields it looks rows up by. Expired rows are
 * never returned and are swept by housekeeping.
 */
export class OidcPayloadRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  /** The same repository inside a transaction. */
  within(trx: Transaction<Database>): OidcPayloadRepository {
    return new OidcPayloadRepository({ ...this.store, db: trx });
  }

  async upsert(row: {
    model: string;
    id: string;
    payload: string;
    accountId: string | null;
    expiresAt: number | null;
    grantId: string | null;
    uid: string | null;
    userCode: string | null;
    now: number;
  }): Promise<void> {
    const values = {
      model: row.model,
      id: row.id,
      payload: row.payload,
      account_id: row.accountId,
      grant_id: row.grantId,
      uid: row.uid,
      user_code: row.userCode,
      expires_at: row.expiresAt,
      consumed_at: null,
      created_at: row.now,
    };
    await this.db
      .insertInto('oidc_payloads')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['model', 'id']).doUpdateSet({ payload: values.payload, account_id: values.account_id, grant_id: values.grant_id, uid: values.uid, user_code: values.user_code, expires_at: values.expires_at }),
      )
      .execute();
  }

  private live(now: number) {
    return this.db
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_at'])
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  }

  async find(model: string, id: string, now: number): Promise<StoredPayload | undefined> {
    const r = await this.live(now).where('model', '=', model).where('id', '=', id).executeTakeFirst();
    return r && { payload: r.payload, consumedAt: r.consumed_at };
  }

  async findByUid(model: string, uid: string, now: number): Promise<StoredPayload | undefined> {
    const r = await this.live(now).where('model', '=', model).where('uid', '=', uid).executeTakeFirst();
    return r && { payload: r.payload, consumedAt: r.consumed_at };
  }

  async findByUserCode(model: string, userCode: string, now: number): Promise<StoredPayload | undefined> {
    const r = await this.live(now).where('model', '=', model).where('user_code', '=', userCode).executeTakeFirst();
    return r && { payload: r.payload, consumedAt: r.consumed_at };
  }

  /** When the row was first written (an interaction: when the sign-in request began), to the millisecond. */
  async createdAt(model: string, id: string): Promise<number | undefined> {
    const r = await this.db.selectFrom('oidc_payloads').select('created_at').where('model', '=', model).where('id', '=', id).executeTakeFirst();
    return r?.created_at;
  }

  /** Marks the row used; the library then refuses it (and, for a refresh token or code, revokes its grant on reuse). */
  async consume(model: string, id: string, now: number): Promise<void> {
    await this.db.updateTable('oidc_payloads').set({ consumed_at: now }).where('model', '=', model).where('id', '=', id).where('consumed_at', 'is', null).execute();
  }

  async destroy(model: string, id: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();
  }

  /** Everything the library issued for a user: its sessions, grants, codes and tokens. Returns how many rows ended. */
  async revokeAccount(accountId: string): Promise<number> {
    const r = await this.db.deleteFrom('oidc_payloads').where('account_id', '=', accountId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Everything issued under a grant (codes, access and refresh tokens), whatever its model. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
  }

  /** Housekeeping: rows past their expiry. */
  async sweepExpired(now: number): Promise<number> {
    const r = await this.db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
