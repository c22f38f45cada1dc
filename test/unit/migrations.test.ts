import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { deviceView } from '../../src/flows/devices.js';
import { hotp, timeStep } from '../../src/methods/totp/otp.js';
import { createServices } from '../../src/services.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import { databases, freshDatabase } from '../helpers/db.js';

/** The services on a migrated test database, as `mamori serve` would make them. */
function servicesOn(dir: string, databaseUrl: string | undefined, masterKey: Buffer) {
  const config = loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_MASTER_KEY: masterKey.toString('base64'), MAMORI_LOG_LEVEL: 'silent', ...(databaseUrl ? { MAMORI_DATABASE_URL: databaseUrl } : {}) });
  return createServices(config, { log: pino({ level: 'silent' }) });
}

/** A database of the test's own, migrated up to `upTo`, filled by `fill`, then migrated to the newest. */
async function olderDatabase(name: 'sqlite' | 'postgres', dir: string, upTo: string, fill: (db: Store['db']) => Promise<void>) {
  const made = await freshDatabase(name);
  const store = openStore({ databaseUrl: made.url, dataDir: dir });
  await migrate(store, upTo);
  await fill(store.db);
  await migrate(store);
  await store.close();
  return made;
}

/**
 * The migrations of the attempt budgets (005) and of per-factor device data (006) carry every row
 * of an older database over: counters and locks keep bounding an attacker, devices keep working.
 */
describe.each(databases)('migrating an older database ($name)', ({ name, skip }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-migrate-'));
  const masterKey = randomBytes(32);
  const secret = Buffer.from('12345678901234567890');
  const now = Date.now();
  const step = Number(timeStep(now, 30));
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (skip) return;
    ({ url: databaseUrl, drop } = await olderDatabase(name, dir, '004-audit-mac', async (db) => {
      await sql`insert into users (id, email, name, role, locale, password_hash, password_changed_at, disabled, created_at, last_sign_in_at, webauthn_user_handle,
          password_failures, password_blocked_until, password_locked, mfa_failures, mfa_locked_at, force_password_change)
        values ('u1', 'old@example.com', 'Old', 'user', 'en', null, null, 0, ${now}, null, 'handle-u1', 7, ${now + 60_000}, 0, 3, null, 0),
               ('u2', 'locked@example.com', 'Locked', 'user', 'en', null, null, 0, ${now}, null, 'handle-u2', 100, null, 1, 10, ${now - 1000}, 0)`.execute(db);
      const sealed = new SecretBox([masterKey]).seal(secret, 'mfa-device:d1');
      await sql`insert into mfa_devices (id, user_id, type, name, status, created_at, activated_at, last_used_at, secret_sealed, secret_key_id,
          otp_kind, algorithm, digits, period, t0, last_used_counter, drift)
        values ('d1', 'u1', 'totp', 'Phone', 'active', ${now}, ${now}, ${now}, ${sealed.value}, ${sealed.keyId}, 'totp', 'SHA1', 6, 30, 0, ${step - 5}, 0)`.execute(db);
      await sql`insert into mfa_devices (id, user_id, type, name, status, created_at, activated_at, credential_id, public_key, sign_count, transports, aaguid,
          attestation_format, backup_eligible, backup_state, user_verified, drift)
        values ('d2', 'u1', 'webauthn', 'Key', 'active', ${now}, ${now}, 'cred-1', 'pk-1', 7, '["usb","nfc"]', '00000000-0000-0000-0000-000000000000', 'none', 0, 0, 1, 0)`.execute(db);
      await sql`insert into ip_failures (ip, window_start, failures) values ('acct:ghosthmac', ${now - 1000}, 6), ('10.0.0.1', ${now - 1000}, 3)`.execute(db);
    }));
  });
  afterAll(async () => {
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('keeps every attempt count, back-off and lock in the attempt budgets', async () => {
    const store = openStore({ databaseUrl, dataDir: dir });
    try {
      const rows = await store.db.selectFrom('attempt_budgets').selectAll().orderBy('key').execute();
      const byKey = new Map(rows.map((r) => [r.key, r]));
      expect(byKey.get('password:user:u1')).toMatchObject({ failures: 7, blocked_until: now + 60_000, locked_at: null });
      expect(byKey.get('mfa:user:u1')).toMatchObject({ failures: 3, locked_at: null });
      expect(byKey.get('password:user:u2')!.locked_at).not.toBeNull();
      expect(byKey.get('mfa:user:u2')).toMatchObject({ failures: 10, locked_at: now - 1000 });
      // The unknown email's back-off runs from its latest failure, as before.
      expect(byKey.get('password:email:ghosthmac')).toMatchObject({ failures: 6, blocked_until: now - 1000 + 60_000 });
      expect(byKey.get('address:10.0.0.1')).toMatchObject({ failures: 3, window_start: now - 1000 });
    } finally {
      await store.close();
    }
  });

  it.skipIf(skip)('carries every device over into its factor’s config, and the devices keep working', async () => {
    const s = await servicesOn(dir, databaseUrl, masterKey);
    try {
      const totp = (await s.devices.find('u1', 'd1'))!;
      expect(totp.counter).toBe(step - 5);
      expect(JSON.parse(totp.config)).toEqual({ v: 1, otpKind: 'totp', algorithm: 'SHA1', digits: 6, period: 30, t0: 0, drift: 0 });
      const key = (await s.devices.find('u1', 'd2'))!;
      expect(key).toMatchObject({ lookup_key: 'cred-1', counter: 7 });
      expect(JSON.parse(key.config)).toMatchObject({ v: 1, publicKey: 'pk-1', transports: ['usb', 'nfc'], backupEligible: false, userVerified: true });
      expect(deviceView(s, key)).toMatchObject({ type: 'webauthn', authenticator: 'Security key' });

      // The sealed seed opens under the same master key; a code of now checks out, an old one does not.
      const user = (await s.users.findById('u1'))!;
      const caller = { ip: null, userAgent: null };
      const factor = s.methods.factors.get('totp')!;
      const code = hotp(secret, BigInt(step), { algorithm: 'SHA1', digits: 6 });
      expect(await s.store.db.transaction().execute((trx) => factor.verify(user, { code }, caller, 'sign_in', trx))).toMatchObject({ deviceId: 'd1', amr: ['otp'] });
      const spent = hotp(secret, BigInt(step - 5), { algorithm: 'SHA1', digits: 6 });
      expect(await s.store.db.transaction().execute((trx) => factor.verify(user, { code: spent }, caller, 'sign_in', trx))).toBeNull();
      expect(await s.methods.factors.assigned('u1')).toEqual(['webauthn', 'totp']);
    } finally {
      await s.close();
    }
  });
});

/**
 * Migration 014 names the user of every row the OpenID Connect library wrote before it, so the
 * grants issued before an upgrade end with the user's sessions too.
 */
describe.each(databases)('migration 014 on an older database ($name)', ({ name, skip }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-migrate-014-'));
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (skip) return;
    // More rows than one batch of the backfill, of two users, plus rows that name nobody.
    const rows = Array.from({ length: 1_200 }, (_, i) => ({ model: 'RefreshToken', id: `rt-${i}`, payload: JSON.stringify({ accountId: i % 3 === 0 ? 'u2' : 'u1', grantId: `g-${i}` }) }));
    rows.push({ model: 'Interaction', id: 'no-user', payload: JSON.stringify({ params: {} }) }, { model: 'Session', id: 'broken', payload: '{not json' });
    ({ url: databaseUrl, drop } = await olderDatabase(name, dir, '013-remembered-browsers', async (db) => {
      for (const r of rows) {
        await sql`insert into oidc_payloads (model, id, payload, grant_id, uid, user_code, expires_at, consumed_at, created_at)
          values (${r.model}, ${r.id}, ${r.payload}, null, null, null, null, null, 0)`.execute(db);
      }
    }));
  });
  afterAll(async () => {
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('fills in every row’s user, and ending a user’s grants takes exactly theirs', async () => {
    const s = await servicesOn(dir, databaseUrl, randomBytes(32));
    try {
      const count = async (accountId: string | null) =>
        Number(
          (
            await s.store.db
              .selectFrom('oidc_payloads')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('account_id', accountId === null ? 'is' : '=', accountId)
              .executeTakeFirstOrThrow()
          ).n,
        );
      expect([await count('u1'), await count('u2'), await count(null)]).toEqual([800, 400, 2]);
      expect(await s.oidcPayloads.revokeAccount('u1')).toBe(800);
      expect([await count('u1'), await count('u2'), await count(null)]).toEqual([0, 400, 2]);
    } finally {
      await s.close();
    }
  });
});
