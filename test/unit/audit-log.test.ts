import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, chainMac, GENESIS_HASH } from '../../src/audit/chain.js';
import { loadConfig } from '../../src/config.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { rotateSecrets } from '../../src/flows/keys.js';
import { createServices, type Services } from '../../src/services.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import { databases, freshDatabase } from '../helpers/db.js';

const key = () => randomBytes(32).toString('base64');

describe.each(databases)('the keyed audit log in the store ($name)', ({ name, skip }) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-audit-'));
  let databaseUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  const open: Services[] = [];

  const services = async (masterKey: string, oldKeys?: string): Promise<Services> => {
    const env: Record<string, string> = { MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: masterKey, MAMORI_LOG_LEVEL: 'silent' };
    if (databaseUrl) env.MAMORI_DATABASE_URL = databaseUrl;
    if (oldKeys) env.MAMORI_OLD_MASTER_KEYS = oldKeys;
    const s = await createServices(loadConfig(env), { log: pino({ level: 'silent' }) });
    open.push(s);
    return s;
  };
  const rows = (store: Store) => store.db.selectFrom('audit_events').selectAll().orderBy('id').execute();

  beforeAll(async () => {
    if (skip) return;
    ({ url: databaseUrl, drop } = await freshDatabase(name));
  });
  afterAll(async () => {
    for (const s of open) await s.close();
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const k1 = key();
  const k2 = key();

  it.skipIf(skip)('keeps the rows from before the key verifiable, and keys every new row', async () => {
    // A database from before the upgrade: rows chained as plain SHA-256, no key record yet.
    const store = openStore({ databaseUrl, dataDir });
    try {
      await migrate(store);
      let prev = GENESIS_HASH;
      for (let id = 1; id <= 3; id++) {
        const row = { id, at: 1_700_000_000_000 + id, type: 'old_event', user_id: null, actor: 'cli:root', ip: null, user_agent: null, detail: '{}', instance: 'old:1' };
        const hash = chainHash(prev, row);
        await store.db.insertInto('audit_events').values({ ...row, prev_hash: prev, hash, chain_version: 1 }).execute();
        prev = hash;
      }
    } finally {
      await store.close();
    }

    // Two instances start together: both end up with the one key record that won the insert.
    const [a, b] = await Promise.all([services(k1), services(k1)]);
    const settings = await a.store.db.selectFrom('settings').selectAll().where('key', '=', 'audit_mac_key').execute();
    expect(settings).toHaveLength(1);
    // Sealed under the master key, never in the clear.
    expect(JSON.parse(settings[0]!.value)).toEqual({ keyId: a.box.currentKeyId, value: expect.any(String) });
    // One after the other: two SQLite connections in one process would wait on each other's lock.
    await a.audit.append({ type: 'from_a', detail: { n: 1 } });
    await b.audit.append({ type: 'from_b', detail: { n: 2 } });
    await a.audit.append({ type: 'from_a', detail: { n: 3 } });
    expect((await rows(a.store)).map((r) => r.chain_version)).toEqual([1, 1, 1, 2, 2, 2]);
    expect(await a.audit.verify()).toEqual({ valid: true, events: 6, unkeyed: 3 });
    expect(await b.audit.verify()).toEqual({ valid: true, events: 6, unkeyed: 3 });
  });

  it.skipIf(skip)('shows a keyed row rewritten and re-chained as plain SHA-256 or under a wrong key, and a downgrade', async () => {
    const s = open[0]!;
    const original = await rows(s.store);
    const restore = async () => {
      for (const r of original) await s.store.db.updateTable('audit_events').set(r).where('id', '=', r.id).execute();
    };
    const wrongKey = randomBytes(32);
    const forgeries = {
      sha256: (prev: string, r: (typeof original)[number]) => ({ hash: chainHash(prev, r), chain_version: 2 }),
      wrongKey: (prev: string, r: (typeof original)[number]) => ({ hash: chainMac(wrongKey, prev, r), chain_version: 2 }),
      downgrade: (prev: string, r: (typeof original)[number]) => ({ hash: chainHash(prev, r), chain_version: 1 }),
    };
    for (const [how, forge] of Object.entries(forgeries)) {
      // Rewrite row 5 and re-link it and every row after it, as someone with only database access would.
      let prev = original[3]!.hash;
      for (const r of original.slice(4)) {
        const changed = { ...r, detail: r.id === 5 ? '{"n":"nothing to see"}' : r.detail, prev_hash: prev };
        const f = forge(prev, changed);
        await s.store.db.updateTable('audit_events').set({ detail: changed.detail, prev_hash: prev, ...f }).where('id', '=', r.id).execute();
        prev = f.hash;
      }
      expect(await s.audit.verify(), how).toEqual({ valid: false, events: 4, unkeyed: 3, firstBrokenId: 5 });
      await restore();
      expect(await s.audit.verify()).toMatchObject({ valid: true });
    }
  });

  it.skipIf(skip)('still verifies after keys rotate re-sealed the audit key, under the new master key alone', async () => {
    const rotating = await services(k2, k1);
    const r = await rotateSecrets(rotating);
    expect(r.auditKey).toBe(true);
    const after = await services(k2);
    const sealed = await after.store.db.selectFrom('settings').select('value').where('key', '=', 'audit_mac_key').executeTakeFirstOrThrow();
    expect(JSON.parse(sealed.value)).toMatchObject({ keyId: SecretBox.keyIdOf(Buffer.from(k2, 'base64')) });
    await after.audit.append({ type: 'after_rotation' });
    expect(await after.audit.verify()).toEqual({ valid: true, events: 8, unkeyed: 3 });
    // The running instances keep the key they loaded, which is the same key.
    expect(await open[0]!.audit.verify()).toEqual({ valid: true, events: 8, unkeyed: 3 });
    // A second rotation has nothing left to re-seal.
    expect((await rotateSecrets(after)).auditKey).toBe(false);
    // Without the key that sealed it, the log refuses to start rather than chain under a new key.
    await expect(services(key())).rejects.toThrow(/audit key cannot be opened/);
  });
});
