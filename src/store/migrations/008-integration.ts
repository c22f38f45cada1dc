import type { Kysely } from 'kysely';

/**
 * What protecting other applications needs: users' groups (forward-auth rules, `Remote-Groups`,
 * the OIDC `groups` claim, who may use a client), the OpenID Connect clients, one table for every
 * model the OpenID Connect library stores, and the signing keys (sealed, with their lifecycle).
 */
export const integration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Phishing resistance cannot be read off `amr` (a hardware OTP token is `hwk` too): the session
    // records when a passkey or security key last proved the user.
    await db.schema.alterTable('sessions').addColumn('phr_verified_at', 'bigint').execute();

    await db.schema
      .createTable('user_groups')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_groups_pk', ['user_id', 'name'])
      .execute();
    await db.schema.createIndex('user_groups_name').on('user_groups').column('name').execute();

    await db.schema
      .createTable('oidc_clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      // Confidential clients: the secret sealed under the master key (the library compares it).
      .addColumn('secret_sealed', 'text')
      .addColumn('secret_key_id', 'text')
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
      .addColumn('public', 'integer', (c) => c.notNull())
      .addColumn('third_party', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('min_acr', 'text')
      .addColumn('allowed_groups', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('oidc_payloads')
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'text')
      .addColumn('uid', 'text')
      .addColumn('user_code', 'text')
      .addColumn('expires_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      // When the row was first written, in Mamori's clock (the library's own times are whole seconds).
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').column('grant_id').execute();
    await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').column('uid').execute();
    await db.schema.createIndex('oidc_payloads_user_code').on('oidc_payloads').column('user_code').execute();
    await db.schema.createIndex('oidc_payloads_expires').on('oidc_payloads').column('expires_at').execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('alg', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('secret_key_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      // Published from creation; signs from `signs_from` (after caches have seen it) until a newer key signs.
      .addColumn('signs_from', 'bigint', (c) => c.notNull())
      // Set when a newer key starts signing; the key leaves the JWKS once its last token has expired.
      .addColumn('retired_at', 'bigint')
      .execute();
  },
};
