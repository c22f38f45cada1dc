import { sql, type Kysely } from 'kysely';

/**
 * MFA devices keep what every kind shares in columns (owner, name, status, times, the sealed
 * secret, the single-use counter, a unique lookup key) and what only one kind has in `config`,
 * a versioned JSON document its factor checks against its own schema. Adding a factor then
 * needs no migration. The old wide table is rebuilt (SQLite cannot drop a UNIQUE column), every
 * row carried over with its data; this migration's shapes are frozen copies, never imports.
 */
export const deviceConfig = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('mfa_devices_v2')
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
      .addColumn('counter', 'bigint')
      .addColumn('lookup_key', 'text', (c) => c.unique())
      .addColumn('config', 'text', (c) => c.notNull())
      .execute();

    type Old = Record<string, string | number | null>;
    const rows = (await sql<Old>`select * from mfa_devices`.execute(db)).rows;
    const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
    for (const r of rows) {
      const type = String(r.type);
      let config: Record<string, unknown>;
      let counter: number | null = null;
      let lookupKey: string | null = null;
      if (type === 'webauthn') {
        counter = num(r.sign_count) ?? 0;
        lookupKey = r.credential_id === null ? null : String(r.credential_id);
        config = {
          v: 1,
          publicKey: r.public_key,
          transports: r.transports === null ? [] : (JSON.parse(String(r.transports)) as string[]),
          aaguid: r.aaguid,
          attestationFormat: r.attestation_format,
          backupEligible: num(r.backup_eligible) === 1,
          backupState: num(r.backup_state) === 1,
          userVerified: num(r.user_verified) === 1,
        };
      } else {
        counter = num(r.last_used_counter);
        config = {
          v: 1,
          otpKind: r.otp_kind ?? 'totp',
          algorithm: r.algorithm ?? 'SHA1',
          digits: num(r.digits) ?? 6,
          period: num(r.period) ?? 30,
          t0: num(r.t0) ?? 0,
          drift: num(r.drift) ?? 0,
          ...(type === 'hardware_totp' ? { hardwareTokenId: r.hardware_token_id, serial: r.serial } : {}),
        };
      }
      await sql`insert into mfa_devices_v2 (id, user_id, type, name, status, created_at, activated_at, last_used_at, secret_sealed, secret_key_id, counter, lookup_key, config)
        values (${r.id}, ${r.user_id}, ${type}, ${r.name}, ${r.status}, ${num(r.created_at)}, ${num(r.activated_at)}, ${num(r.last_used_at)},
                ${r.secret_sealed}, ${r.secret_key_id}, ${counter}, ${lookupKey}, ${JSON.stringify(config)})`.execute(db);
    }
    await db.schema.dropTable('mfa_devices').execute();
    await db.schema.alterTable('mfa_devices_v2').renameTo('mfa_devices').execute();
    await db.schema.createIndex('mfa_devices_user_v2').on('mfa_devices').column('user_id').execute();
  },
};
