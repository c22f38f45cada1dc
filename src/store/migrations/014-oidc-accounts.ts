import { sql, type Kysely } from 'kysely';

/**
 * The OpenID Connect library's rows name the user they were issued for, so that a change that ends
 * the user's sessions (a password changed, a device removed, the account disabled, MFA reset, a
 * lost-device recovery) ends the applications' grants, codes and tokens with them. Until now a
 * refresh token outlived all of those for its 14 days.
 *
 * Rows written before carry the user only inside their JSON; they are filled in here, in batches,
 * so that no grant issued before the upgrade escapes.
 */
export const oidcAccounts = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('oidc_payloads').addColumn('account_id', 'text').execute();
    await db.schema.createIndex('oidc_payloads_account').on('oidc_payloads').column('account_id').execute();
    const BATCH = 500;
    let after = { model: '', id: '' };
    for (;;) {
      const { rows } = await sql<{ model: string; id: string; payload: string }>`
        select model, id, payload from oidc_payloads
        where model > ${after.model} or (model = ${after.model} and id > ${after.id})
        order by model, id limit ${BATCH}`.execute(db);
      for (const row of rows) {
        const accountId = accountOf(row.payload);
        if (accountId !== null) await sql`update oidc_payloads set account_id = ${accountId} where model = ${row.model} and id = ${row.id}`.execute(db);
      }
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1]!;
    }
  },
};

/** The library's `accountId` of a stored payload, or null (clients, interactions before sign-in, unreadable rows). */
export function accountOf(payload: string): string | null {
  try {
    const parsed: unknown = JSON.parse(payload);
    const accountId = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'accountId') : undefined;
    return typeof accountId === 'string' ? accountId : null;
  } catch {
    return null;
  }
}
