import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

/** The first schema. Later migrations add files beside this one; this one never changes. */
export function initial(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('locale', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('password_changed_at', 'bigint')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_sign_in_at', 'bigint')
        .addColumn('webauthn_user_handle', 'text', (c) => c.notNull().unique())
        .addColumn('password_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('password_blocked_until', 'bigint')
        .addColumn('password_locked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('mfa_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('mfa_locked_at', 'bigint')
        .addColumn('force_password_change', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('aal', 'integer', (c) => c.notNull())
        .addColumn('amr', 'text', (c) => c.notNull())
        .addColumn('mfa_setup_only', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('signed_in_at', 'bigint', (c) => c.notNull())
        .addColumn('mfa_verified_at', 'bigint')
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('sign_in_transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('amr', 'text', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();

      await db.schema
        .createTable('email_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('transaction_id', 'text', (c) =>
          c.notNull().references('sign_in_transactions.id').onDelete('cascade'),
        )
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hmac', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .addColumn('voided_at', 'bigint')
        .execute();
      await db.schema.createIndex('email_codes_user_created').on('email_codes').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('email_codes_transaction').on('email_codes').column('transaction_id').execute();

      await db.schema
        .createTable('mfa_devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('secret_sealed', 'text')
        .addColumn('secret_key_id', 'text')
        .addColumn('otp_kind', 'text')
        .addColumn('algorithm', 'text')
        .addColumn('digits', 'integer')
        .addColumn('period', 'integer')
        .addColumn('t0', 'bigint')
        .addColumn('last_used_counter', 'bigint')
        .addColumn('drift', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('hardware_token_id', 'text')
        .addColumn('serial', 'text')
        .addColumn('credential_id', 'text', (c) => c.unique())
        .addColumn('public_key', 'text')
        .addColumn('sign_count', 'bigint')
        .addColumn('transports', 'text')
        .addColumn('aaguid', 'text')
        .addColumn('attestation_format', 'text')
        .addColumn('backup_eligible', 'integer')
        .addColumn('backup_state', 'integer')
        .addColumn('user_verified', 'integer')
        .execute();
      await db.schema.createIndex('mfa_devices_user').on('mfa_devices').column('user_id').execute();

      await db.schema
        .createTable('hardware_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('serial', 'text', (c) => c.notNull().unique())
        .addColumn('manufacturer', 'text')
        .addColumn('model', 'text')
        .addColumn('otp_kind', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('digits', 'integer', (c) => c.notNull())
        .addColumn('period', 'integer', (c) => c.notNull())
        .addColumn('t0', 'bigint', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('secret_key_id', 'text', (c) => c.notNull())
        .addColumn('imported_at', 'bigint', (c) => c.notNull())
        .addColumn('assigned_user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('assigned_device_id', 'text')
        .execute();

      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('voided_at', 'bigint')
        .execute();
      await db.schema.createIndex('recovery_codes_user').on('recovery_codes').column('user_id').execute();

      await db.schema
        .createTable('webauthn_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      let audit = db.schema.createTable('audit_events');
      audit =
        dialect === 'postgres'
          ? audit.addColumn('id', 'bigserial', (c) => c.primaryKey())
          : audit.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      await audit
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('actor', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_user').on('audit_events').columns(['user_id', 'id']).execute();

      await db.schema
        .createTable('ip_failures')
        .addColumn('ip', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
