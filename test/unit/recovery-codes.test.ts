import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PasswordHasher } from '../../src/methods/password/hasher.js';
import { parseRecoveryCode, recoveryCodeHasher } from '../../src/methods/recovery-code/index.js';
import { RECOVERY_HASH_PARAMS } from '../../src/methods/recovery-code/secret-hash.js';
import { createServices, type Services } from '../../src/services.js';
import { migrate, openStore } from '../../src/store/db.js';
import { databases, freshDatabase } from '../helpers/db.js';

/**
 * Issue 12, item 1: a recovery code is a public lookup part + a secret part; a check finds its row
 * by the lookup part and verifies one hash (one against a dummy when there is no such row). Codes
 * made before migration 007 (no lookup part) keep working until used or replaced.
 */
describe.each(databases)('recovery codes with a lookup part ($name)', ({ name, skip }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-rc-'));
  const masterKey = randomBytes(32);
  const now = Date.now();
  /** Two codes of the old form (10 characters, as shown: `abcde-fghij`). */
  const OLD = ['abcde-fghij', 'kmnop-qrstu'];
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  let s: Services;
  const caller = { ip: null, userAgent: null };
  /** A check as the second step makes it: inside a transaction of its own here. */
  const check = (u: Parameters<ReturnType<typeof factor>['verify']>[0], input: Record<string, unknown>) =>
    s.store.db.transaction().execute((trx) => factor().verify(u, input, caller, 'sign_in', trx));

  beforeAll(async () => {
    if (skip) return;
    ({ url: databaseUrl, drop } = await freshDatabase(name));
    // A database as it was before 007, with a user, a device and a set of old-form codes,
    // hashed as 006's code hashed them (the password hasher, of the code without its dash).
    const store = openStore({ databaseUrl, dataDir: dir });
    await migrate(store, '006-device-config');
    const old = new PasswordHasher();
    await sql`insert into users (id, email, name, role, locale, password_hash, password_changed_at, disabled, created_at, last_sign_in_at, webauthn_user_handle, force_password_change)
      values ('u1', 'old@example.com', 'Old', 'user', 'en', null, null, 0, ${now}, null, 'handle-u1', 0),
             ('u2', 'new@example.com', 'New', 'user', 'en', null, null, 0, ${now}, null, 'handle-u2', 0)`.execute(store.db);
    for (const u of ['u1', 'u2']) {
      await sql`insert into mfa_devices (id, user_id, type, name, status, created_at, activated_at, last_used_at, secret_sealed, secret_key_id, counter, lookup_key, config)
        values (${`d-${u}`}, ${u}, 'webauthn', 'Key', 'active', ${now}, ${now}, null, null, null, 0, ${`cred-${u}`}, '{"v":1}')`.execute(store.db);
    }
    for (const [i, code] of OLD.entries()) {
      const hash = await old.hash(code.replace('-', ''));
      await sql`insert into recovery_codes (id, user_id, batch_id, code_hash, created_at, used_at, voided_at)
        values (${`rc${i}`}, 'u1', 'b-old', ${hash}, ${now}, null, null)`.execute(store.db);
    }
    // 007 runs first; later migrations follow it.
    expect((await migrate(store))[0]).toBe('007-recovery-code-lookup');
    await store.close();
    const config = loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_MASTER_KEY: masterKey.toString('base64'), MAMORI_LOG_LEVEL: 'silent', ...(databaseUrl ? { MAMORI_DATABASE_URL: databaseUrl } : {}) });
    s = await createServices(config, { log: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await s?.close();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => vi.restoreAllMocks());

  const factor = () => s.methods.factors.get('recovery_code')!;
  const backup = () => s.methods.factors.backup!;
  const user = async (id: string) => (await s.users.findById(id))!;
  /** Every slow hash the check may run: the recovery-code hasher and the password hasher. */
  function countHashes() {
    return {
      verify: vi.spyOn(recoveryCodeHasher, 'verify'),
      hash: vi.spyOn(recoveryCodeHasher, 'hash'),
      passwordVerify: vi.spyOn(s.hasher, 'verify'),
      passwordHash: vi.spyOn(s.hasher, 'hash'),
    };
  }
  async function use(proof: NonNullable<Awaited<ReturnType<ReturnType<typeof factor>['verify']>>>) {
    return s.store.db.transaction().execute((trx) => proof.consume!(trx));
  }

  it.skipIf(skip)('reads codes forgivingly: case, dashes and spaces; the old 10-character form too', () => {
    expect(parseRecoveryCode('ABCDE-fghij-KMNOP')).toEqual({ kind: 'lookup', lookup: 'abcde', secret: 'fghijkmnop' });
    expect(parseRecoveryCode(' abcde fghij  kmnop ')).toEqual({ kind: 'lookup', lookup: 'abcde', secret: 'fghijkmnop' });
    expect(parseRecoveryCode('abcdefghijkmnop')).toEqual({ kind: 'lookup', lookup: 'abcde', secret: 'fghijkmnop' });
    expect(parseRecoveryCode('ABCDE FGHIJ')).toEqual({ kind: 'legacy', code: 'abcdefghij' });
    for (const bad of ['', 'abcde-fghij-kmno', 'abcde-fghij-kmnop1', 'abcde-fghij-kmn0p', 'abcdefghijk']) expect(parseRecoveryCode(bad)).toBeNull();
  });

  it.skipIf(skip)('an old-form code still signs in after migration 007, once', async () => {
    const u1 = await user('u1');
    expect(await s.methods.factors.assigned('u1')).toEqual(['webauthn', 'recovery_code']);
    const n = countHashes();
    const proof = await check(u1, { code: 'KMNOP QRSTU' });
    expect(proof).toMatchObject({ amr: ['otp'] });
    // The old way, with the parameters the old rows were made with; no new-form hash.
    expect(n.passwordVerify.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(n.verify).not.toHaveBeenCalled();
    expect(await use(proof!)).toBe(true);
    expect(await check(u1, { code: 'kmnop-qrstu' })).toBeNull();
    expect(await backup().remaining('u1')).toBe(1);
  });

  it.skipIf(skip)('a new set verifies with exactly one hash, and voids the old-form codes', async () => {
    const u1 = await user('u1');
    let n = countHashes();
    const set = await backup().newSet();
    expect(set.codes).toHaveLength(10);
    for (const c of set.codes) expect(c).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(new Set(set.codes.map((c) => c.slice(0, 5))).size).toBe(10);
    // One hash per code, at the recovery-code parameters, none at the password's.
    expect(n.hash).toHaveBeenCalledTimes(10);
    expect(n.passwordHash).not.toHaveBeenCalled();
    await s.store.db.transaction().execute((trx) => backup().store(trx, 'u1', set));
    const rows = await s.store.db.selectFrom('recovery_codes').selectAll().where('user_id', '=', 'u1').where('voided_at', 'is', null).where('used_at', 'is', null).execute();
    expect(rows).toHaveLength(10);
    for (const r of rows) {
      expect(r.code_hash).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${RECOVERY_HASH_PARAMS.memoryCost},t=${RECOVERY_HASH_PARAMS.timeCost},p=${RECOVERY_HASH_PARAMS.parallelism}\\$`));
      // Only the public part is stored in plain; the secret part is nowhere.
      const code = set.codes.find((c) => c.startsWith(`${(r as unknown as { lookup_id: string }).lookup_id}-`))!;
      expect(JSON.stringify(r)).not.toContain(code.slice(6).replace('-', ''));
    }

    vi.restoreAllMocks();
    n = countHashes();
    const proof = await check(u1, { code: set.codes[7]!.toUpperCase() });
    expect(proof).not.toBeNull();
    expect(n.verify).toHaveBeenCalledTimes(1);
    expect(n.verify.mock.calls[0]![0]).not.toBeNull();
    expect(n.passwordVerify).not.toHaveBeenCalled();
    expect(await use(proof!)).toBe(true);

    // The remaining old-form code went with the new set: refused after one (dummy) hash.
    vi.restoreAllMocks();
    n = countHashes();
    expect(await check(u1, { code: OLD[0] })).toBeNull();
    expect(n.verify).toHaveBeenCalledTimes(1);
    expect(n.verify.mock.calls[0]![0]).toBeNull();
    expect(n.passwordVerify).not.toHaveBeenCalled();
    expect(await backup().remaining('u1')).toBe(9);
  });

  it.skipIf(skip)('a wrong secret part and an unknown lookup part cost the same one hash', async () => {
    const u2 = await user('u2');
    const set = await backup().newSet();
    await s.store.db.transaction().execute((trx) => backup().store(trx, 'u2', set));
    const code = set.codes[0]!.replaceAll('-', '');
    const flip = (ch: string) => (ch === 'a' ? 'b' : 'a');
    const wrongSecret = code.slice(0, -1) + flip(code.at(-1)!);
    const lookups = new Set(set.codes.map((c) => c.slice(0, 5)));
    let unknown = 'aaaaa';
    while (lookups.has(unknown)) unknown = randomBytes(5).toString('hex').replace(/[^a-f]/g, 'a').slice(0, 5);
    const cases: Array<[string, boolean]> = [
      [wrongSecret, true],
      [unknown + code.slice(5), false],
    ];
    for (const [typed, rowExists] of cases) {
      vi.restoreAllMocks();
      const n = countHashes();
      expect(await check(u2, { code: typed })).toBeNull();
      expect(n.verify).toHaveBeenCalledTimes(1);
      expect(n.verify.mock.calls[0]![0] === null).toBe(!rowExists);
      expect(n.passwordVerify).not.toHaveBeenCalled();
      expect(n.passwordHash).not.toHaveBeenCalled();
    }
    // A lookup part of another user's code finds nothing for this one.
    const other = await backup().newSet();
    await s.store.db.transaction().execute((trx) => backup().store(trx, 'u1', other));
    expect(await check(u2, { code: other.codes[0]! })).toBeNull();
    expect(await check(await user('u1'), { code: other.codes[0]! })).not.toBeNull();
  });

  it.skipIf(skip)('30 concurrent uses of one code: every check passes, exactly one use is taken (row count)', async () => {
    const u2 = await user('u2');
    const set = await backup().newSet();
    await s.store.db.transaction().execute((trx) => backup().store(trx, 'u2', set));
    const proofs = await Promise.all(Array.from({ length: 30 }, () => check(u2, { code: set.codes[2]! })));
    expect(proofs.every((p) => p !== null)).toBe(true);
    const taken = await Promise.all(proofs.map((p) => use(p!)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    expect(await backup().remaining('u2')).toBe(9);
    expect(await check(u2, { code: set.codes[2]! })).toBeNull();
  });

  it.skipIf(skip)('a lookup part names one live row per user: the partial unique index refuses a second', async () => {
    const row = (id: string, used: number | null) =>
      sql`insert into recovery_codes (id, user_id, batch_id, code_hash, lookup_id, created_at, used_at, voided_at)
        values (${id}, 'u2', 'b-x', 'h', 'qqqqq', ${now}, ${used}, null)`.execute(s.store.db);
    await row('x-used', now);
    await row('x-live', null);
    await expect(row('x-live-2', null)).rejects.toThrow();
    await sql`delete from recovery_codes where batch_id = 'b-x'`.execute(s.store.db);
  });
});
