import { sql } from 'kysely';
import type { Store } from './db.js';

/** One round trip to the database, for the readiness probe: throws when it does not answer. */
export async function ping(store: Pick<Store, 'db'>): Promise<void> {
  await sql`select 1`.execute(store.db);
}
