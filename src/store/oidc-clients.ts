import type { Transaction } from 'kysely';
import type { Store } from './db.js';
import type { Database, OidcClient } from './schema.js';

/** OpenID Connect clients (relying parties), managed by administrators. */
export class OidcClientRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  within(trx: Transaction<Database>): OidcClientRepository {
    return new OidcClientRepository({ ...this.store, db: trx });
  }

  async insert(client: OidcClient): Promise<void> {
    await this.db.insertInto('oidc_clients').values(client).execute();
  }

  find(id: string): Promise<OidcClient | undefined> {
    return this.db.selectFrom('oidc_clients').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(): Promise<OidcClient[]> {
    return this.db.selectFrom('oidc_clients').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  /** True when the client existed. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('oidc_clients').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
