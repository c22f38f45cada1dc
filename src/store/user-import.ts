import type { Insertable, Transaction } from 'kysely';
import { batches } from './batches.js';
import type { Dialect } from './db.js';
import type { Database, UserGroupsTable } from './schema.js';
import type { NewDevice } from './devices.js';

/**
 * The rows of a bulk import beside the users themselves (src/store/users.ts insertMany), written
 * in multi-row INSERTs inside the import's one transaction.
 */
export async function insertImportedGroups(trx: Transaction<Database>, dialect: Dialect, rows: readonly Insertable<UserGroupsTable>[]): Promise<void> {
  for (const batch of batches(rows, dialect, 3)) await trx.insertInto('user_groups').values(batch).execute();
}

/** Imported MFA devices: every row must carry all 13 columns, so each multi-row statement binds the same shape. */
export async function insertImportedDevices(trx: Transaction<Database>, dialect: Dialect, rows: readonly Required<NewDevice>[]): Promise<void> {
  for (const batch of batches(rows, dialect, 13)) await trx.insertInto('mfa_devices').values(batch).execute();
}
