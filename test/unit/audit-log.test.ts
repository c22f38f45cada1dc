import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash, chainMac, chainMac3, checkpointMac, GENESIS_HASH, parseHeads } from '../../src/audit/chain.js';
import { loadConfig } from '../../src/config.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { purgeExpired } from '../../src/flows/housekeeping.js';
import { rotateSecrets } from '../../src/flows/keys.js';
import { createServices, type Services } from '../../src/services.js';
import { loadAuditKey } from '../../src/store/audit-key.js';
import { migrate, openStore, type Store } from '../../src/store/db.js';
import { databases, freshDatabase } from '../helpers/db.js';

const key = () => randomBytes(32).toString('base64');

describe.each(databases)('the audit log in the store: per-instance chains and checkpoints ($name)', ({ name, skip }) => {
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

  /** Everything the chains consist of, to put back after each tampering. */
  async function snapshot(store: Store) {
    const db = store.db;
    const [events, chains, checkpoints] = await Promise.all([
      rows(store),
      db.selectFrom('audit_chains').selectAll().execute(),
      db.selectFrom('audit_checkpoints').selectAll().orderBy('id').execute(),
    ]);
    return async () => {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('audit_events').execute();
        await trx.deleteFrom('audit_chains').execute();
        await trx.deleteFrom('audit_checkpoints').execute();
        await trx.insertInto('audit_events').values(events).execute();
        await trx.insertInto('audit_chains').values(chains).execute();
        if (checkpoints.length > 0) await trx.insertInto('audit_checkpoints').values(checkpoints).execute();
      });
    };
  }

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

  it.skipIf(skip)('keeps the single chain from before the upgrade verifiable (unkeyed rows too) and appends each instance to a chain of its own', async () => {
    // A database from before migration 012 (and before the key): rows chained as plain SHA-256.
    const store = openStore({ databaseUrl, dataDir });
    try {
      await migrate(store, '010-recovery-and-browsers');
      let prev = GENESIS_HASH;
      for (let id = 1; id <= 3; id++) {
        const row = { id, at: 1_700_000_000_000 + id, type: 'old_event', user_id: null, actor: 'cli:root', ip: null, user_agent: null, detail: '{}', instance: 'old:1' };
        const hash = chainHash(prev, row);
        await store.db.insertInto('audit_events').values({ ...row, prev_hash: prev, hash, chain_version: 1 }).execute();
        prev = hash;
      }
      // The upgrade (once, here: two SQLite connections migrating side by side have no lock between them).
      await migrate(store);
    } finally {
      await store.close();
    }

    // Two instances start together: both end up with the one key record that won the insert. (On
    // SQLite one after the other: in one process, a connection's busy wait blocks the other's work.)
    const [a, b] = name === 'postgres' ? await Promise.all([services(k1), services(k1)]) : [await services(k1), await services(k1)];
    // The later tests take a and b as open[0] and open[1], whichever finished starting first.
    open.splice(0, 2, a, b);
    const settings = await a.store.db.selectFrom('settings').selectAll().where('key', '=', 'audit_mac_key').execute();
    expect(settings).toHaveLength(1);
    expect(JSON.parse(settings[0]!.value)).toEqual({ keyId: a.box.currentKeyId, value: expect.any(String) });
    // Migration 012 recorded where the single chain ends, and started event ids past it.
    const legacy = await a.store.db.selectFrom('audit_chains').selectAll().where('chain', '=', 'legacy').executeTakeFirstOrThrow();
    expect(legacy).toMatchObject({ events: 3, head_id: 3 });

    expect(a.audit.chain).toMatch(/^[0-9a-f]{16}$/);
    expect(b.audit.chain).not.toBe(a.audit.chain);
    // One after the other: two SQLite connections in one process would wait on each other's lock.
    await a.audit.append({ type: 'from_a', detail: { n: 1 } });
    await b.audit.append({ type: 'from_b', detail: { n: 2 } });
    await a.audit.append({ type: 'from_a', detail: { n: 3 } });
    const all = await rows(a.store);
    expect(all.map((r) => [r.id, r.chain_version, r.chain, r.chain_seq])).toEqual([
      [1, 1, null, null],
      [2, 1, null, null],
      [3, 1, null, null],
      [4, 3, a.audit.chain, 1],
      [5, 3, b.audit.chain, 1],
      [6, 3, a.audit.chain, 2],
    ]);
    // Each chain starts at the genesis hash and links to its own predecessor, not to the other chain's.
    expect(all[3]!.prev_hash).toBe(GENESIS_HASH);
    expect(all[5]!.prev_hash).toBe(all[3]!.hash);
    const check = { valid: true, events: 6, unkeyed: 3, chains: 3, checkpoints: 0 };
    expect(await a.audit.verify()).toEqual(check);
    expect(await b.audit.verify()).toEqual(check);
  });

  it.skipIf(skip)('writes a checkpoint of the chains that moved, only when some did, chained to the previous one; housekeeping writes one too', async () => {
    const [a, b] = open;
    expect(await a!.audit.checkpoint()).toBe(1);
    const first = await a!.store.db.selectFrom('audit_checkpoints').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    expect(first.prev_hash).toBe(GENESIS_HASH);
    expect(parseHeads(first.heads)?.map((h) => [h.chain, h.events]).sort()).toEqual([[a!.audit.chain, 2], [b!.audit.chain, 1], ['legacy', 3]].sort());
    // Nothing moved since: no checkpoint, from either instance.
    expect(await b!.audit.checkpoint()).toBeNull();
    expect((await purgeExpired(a!)).auditCheckpoint).toBeNull();

    await b!.audit.append({ type: 'from_b', detail: { n: 4 } });
    expect((await purgeExpired(b!)).auditCheckpoint).toBe(2);
    const second = await a!.store.db.selectFrom('audit_checkpoints').selectAll().where('id', '=', 2).executeTakeFirstOrThrow();
    expect(second.prev_hash).toBe(first.hash);
    // Only b's chain moved, so only its head is in it.
    expect(parseHeads(second.heads)?.map((h) => [h.chain, h.events])).toEqual([[b!.audit.chain, 2]]);
    const check = await a!.audit.verify();
    expect(check).toEqual({ valid: true, events: 7, unkeyed: 3, chains: 3, checkpoints: 2, lastCheckpoint: { id: 2, at: second.at, hash: second.hash } });
  });

  it.skipIf(skip)('shows an edited, deleted, moved or re-chained event, naming it; and a chain cut short below its head row or a checkpoint', async () => {
    const s = open[0]!;
    const db = s.store.db;
    const restore = await snapshot(s.store);
    const original = await rows(s.store);
    const onA = original.filter((r) => r.chain === s.audit.chain);
    const onB = original.filter((r) => r.chain === open[1]!.audit.chain);
    expect(onA.map((r) => r.id)).toEqual([4, 6]);
    const broken = async (what: string, expected: Record<string, unknown>) => {
      expect(await s.audit.verify(), what).toMatchObject({ valid: false, ...expected });
      await restore();
      expect(await s.audit.verify(), `${what}, restored`).toMatchObject({ valid: true, events: 7 });
    };

    // Edited: any field the MAC covers, the chain and the place included.
    await db.updateTable('audit_events').set({ detail: '{"n":"nothing to see"}' }).where('id', '=', 4).execute();
    await broken('detail edited', { firstBrokenId: 4 });
    await db.updateTable('audit_events').set({ chain: onB[0]!.chain, chain_seq: 3, prev_hash: onB[1]!.hash }).where('id', '=', 6).execute();
    await broken('moved to the other chain', { firstBrokenId: 6 });
    await db.updateTable('audit_events').set({ chain: null, chain_seq: null }).where('id', '=', 6).execute();
    await broken('moved to the single old chain', { firstBrokenId: 6 });

    // Re-chained without the key (plain SHA-256, a guessed key, or labelled as an older version).
    const wrongKey = randomBytes(32);
    const forgeries = {
      sha256: (prev: string, r: (typeof original)[number]) => ({ hash: chainHash(prev, r), chain_version: 3 }),
      wrongKey: (prev: string, r: (typeof original)[number]) => ({ hash: chainMac3(wrongKey, prev, r), chain_version: 3 }),
      version2: (prev: string, r: (typeof original)[number]) => ({ hash: chainMac(wrongKey, prev, r), chain_version: 2 }),
      version1: (prev: string, r: (typeof original)[number]) => ({ hash: chainHash(prev, r), chain_version: 1 }),
    };
    for (const [how, forge] of Object.entries(forgeries)) {
      let prev = GENESIS_HASH;
      for (const r of onA) {
        const changed = { ...r, detail: r.id === 4 ? '{"n":"nothing to see"}' : r.detail };
        const f = forge(prev, changed);
        await db.updateTable('audit_events').set({ detail: changed.detail, prev_hash: prev, ...f }).where('id', '=', r.id).execute();
        prev = f.hash;
      }
      await db.updateTable('audit_chains').set({ head_hash: prev }).where('chain', '=', s.audit.chain).execute();
      await broken(`re-chained: ${how}`, { firstBrokenId: 4 });
    }

    // Deleted from the middle of a chain: the next event no longer links.
    await db.deleteFrom('audit_events').where('id', '=', 4).execute();
    await broken('first event of a chain deleted', { firstBrokenId: 6 });
    // The newest event deleted: the head row still names it...
    await db.deleteFrom('audit_events').where('id', '=', 6).execute();
    await broken('newest event deleted', { firstBrokenId: 6, problems: expect.arrayContaining([expect.objectContaining({ chain: s.audit.chain, eventId: 6, reason: expect.stringContaining('its head row') })]) });
    // ...and with the head row put back one event, checkpoint 1 still does.
    await db.deleteFrom('audit_events').where('id', '=', 6).execute();
    await db.updateTable('audit_chains').set({ events: 1, head_id: 4, head_hash: onA[0]!.hash, checkpointed: 1 }).where('chain', '=', s.audit.chain).execute();
    await broken('newest event deleted and the head row rewound', { firstBrokenId: 6, problems: [expect.objectContaining({ eventId: 6, checkpointId: 1 })] });
    // A whole chain gone, head row and all: the checkpoints name it.
    await db.deleteFrom('audit_events').where('chain', '=', onB[0]!.chain).execute();
    await db.deleteFrom('audit_chains').where('chain', '=', onB[0]!.chain!).execute();
    await broken('a whole chain deleted', { firstBrokenId: onB[0]!.id, events: 5 });
    // A chain's head row gone alone.
    await db.deleteFrom('audit_chains').where('chain', '=', s.audit.chain).execute();
    await broken('a head row deleted', { problems: [{ chain: s.audit.chain, reason: 'the chain has no head row' }] });
  });

  it.skipIf(skip)('shows the single old chain cut short, or appended to after migration 012 closed it', async () => {
    const s = open[0]!;
    const db = s.store.db;
    const restore = await snapshot(s.store);
    const broken = async (what: string, expected: Record<string, unknown>) => {
      expect(await s.audit.verify(), what).toMatchObject({ valid: false, ...expected });
      await restore();
      expect(await s.audit.verify(), `${what}, restored`).toMatchObject({ valid: true });
    };
    // Its newest row deleted: the key's anchor, the legacy head row and checkpoint 1 all name it.
    await db.deleteFrom('audit_events').where('id', '=', 3).execute();
    await broken('newest old row deleted', { firstBrokenId: 3 });
    const last = (await rows(s.store))[2]!;
    const late = { id: 99, at: 1_700_000_000_099, type: 'old_event', user_id: null, actor: 'cli:root', ip: null, user_agent: null, detail: '{"late":true}', instance: 'old:1' };
    // Unkeyed after the key's anchor: a downgrade.
    await db.insertInto('audit_events').values({ ...late, prev_hash: last.hash, hash: chainHash(last.hash, late), chain_version: 1 }).execute();
    await broken('an unkeyed row appended to the old chain', { firstBrokenId: 99 });
    // Even keyed, as an instance of the previous version still running would write it: the chain was closed.
    const { key: macKey } = await loadAuditKey(db, s.box);
    await db.insertInto('audit_events').values({ ...late, prev_hash: last.hash, hash: chainMac(macKey, last.hash, late), chain_version: 2 }).execute();
    await broken('a keyed row appended to the old chain', {
      firstBrokenId: 99,
      problems: [expect.objectContaining({ chain: 'legacy', reason: 'an event appended to the single chain after migration 012 closed it' })],
    });
  });

  it.skipIf(skip)('shows a forged, edited, deleted or re-chained checkpoint', async () => {
    const s = open[0]!;
    const db = s.store.db;
    const restore = await snapshot(s.store);
    const cps = await db.selectFrom('audit_checkpoints').selectAll().orderBy('id').execute();
    expect(cps).toHaveLength(2);
    const broken = async (what: string, expected: Record<string, unknown>) => {
      expect(await s.audit.verify(), what).toMatchObject({ valid: false, ...expected });
      await restore();
      expect(await s.audit.verify(), `${what}, restored`).toMatchObject({ valid: true, checkpoints: 2 });
    };
    const atCheckpoint = (id: number) => ({ problems: [expect.objectContaining({ checkpointId: id })] });

    // A checkpoint that "records" a shorter chain, MACed under a guessed key.
    const fake = { ...cps[0]!, heads: cps[0]!.heads.replace(/,2,6,/, ',1,4,') };
    expect(fake.heads).not.toBe(cps[0]!.heads);
    await db.updateTable('audit_checkpoints').set({ heads: fake.heads, hash: checkpointMac(randomBytes(32), GENESIS_HASH, fake) }).where('id', '=', 1).execute();
    await broken('forged under a guessed key', atCheckpoint(1));
    await db.updateTable('audit_checkpoints').set({ heads: fake.heads }).where('id', '=', 1).execute();
    await broken('edited', atCheckpoint(1));
    await db.updateTable('audit_checkpoints').set({ at: cps[0]!.at + 1 }).where('id', '=', 1).execute();
    await broken('time edited', atCheckpoint(1));
    await db.deleteFrom('audit_checkpoints').where('id', '=', 1).execute();
    await broken('the first one deleted', atCheckpoint(1));
    // The newest deleted: its head row still names it; with the head row rewound too, nothing
    // inside the database can tell (a copy of the newest hash kept elsewhere can: verify prints it).
    await db.deleteFrom('audit_checkpoints').where('id', '=', 2).execute();
    await broken('the newest deleted', atCheckpoint(2));
    await db.deleteFrom('audit_checkpoints').where('id', '=', 2).execute();
    await db.updateTable('audit_chains').set({ events: 1, head_id: 1, head_hash: cps[0]!.hash }).where('chain', '=', 'checkpoints').execute();
    expect(await s.audit.verify()).toMatchObject({ valid: true, checkpoints: 1, lastCheckpoint: { id: 1, hash: cps[0]!.hash } });
    await restore();
    // One appended without the key.
    const third = { id: 3, at: cps[1]!.at + 1, instance: 'mallory', heads: '[]' };
    await db.insertInto('audit_checkpoints').values({ ...third, prev_hash: cps[1]!.hash, hash: checkpointMac(randomBytes(32), cps[1]!.hash, third) }).execute();
    await broken('one appended under a guessed key', atCheckpoint(3));
  });

  it.skipIf(skip)('still verifies after keys rotate re-sealed the audit key, under the new master key alone', async () => {
    const rotating = await services(k2, k1);
    const r = await rotateSecrets(rotating);
    expect(r.auditKey).toBe(true);
    const after = await services(k2);
    const sealed = await after.store.db.selectFrom('settings').select('value').where('key', '=', 'audit_mac_key').executeTakeFirstOrThrow();
    expect(JSON.parse(sealed.value)).toMatchObject({ keyId: SecretBox.keyIdOf(Buffer.from(k2, 'base64')) });
    await after.audit.append({ type: 'after_rotation' });
    expect(await after.audit.verify()).toMatchObject({ valid: true, events: 9, unkeyed: 3, chains: 5 });
    // The running instances keep the key they loaded, which is the same key.
    expect(await open[0]!.audit.verify()).toMatchObject({ valid: true, events: 9, unkeyed: 3 });
    // A second rotation has nothing left to re-seal.
    expect((await rotateSecrets(after)).auditKey).toBe(false);
    // Without the key that sealed it, the log refuses to start rather than chain under a new key.
    await expect(services(key())).rejects.toThrow(/audit key cannot be opened/);
  });

  it.skipIf(skip || name !== 'postgres')('three instances append side by side, with checkpoints running meanwhile, and the log verifies', async () => {
    const three = await Promise.all([services(k2), services(k2), services(k2)]);
    const before = await three[0]!.audit.verify();
    expect(before.valid).toBe(true);
    let stop = false;
    let checkpoints = 0;
    const checkpointer = (async () => {
      while (!stop) {
        if ((await three[checkpoints % 3]!.audit.checkpoint()) !== null) checkpoints++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // 10 concurrent writers per instance (its pool's size), 30 appends each, some two per transaction.
    await Promise.all(
      three.flatMap((s, i) =>
        Array.from({ length: 10 }, async (_, w) => {
          for (let n = 0; n < 30; n++) {
            if (n % 10 === 0) {
              // Two events in one statement each for the head, the rows and the head's move.
              await s.store.db.transaction().execute((trx) => s.audit.appendAll([{ type: 'pair_first', detail: { i, w, n } }, { type: 'pair_second', detail: { i, w, n } }], trx));
            } else if (n % 5 === 0) {
              await s.store.db.transaction().execute(async (trx) => {
                await s.audit.append({ type: 'pair_first', detail: { i, w, n } }, trx);
                await s.audit.append({ type: 'pair_second', detail: { i, w, n } }, trx);
              });
            } else {
              await s.audit.append({ type: 'concurrent', detail: { i, w, n } });
            }
          }
        }),
      ),
    );
    stop = true;
    await checkpointer;
    expect(checkpoints, 'checkpoints written while the instances appended').toBeGreaterThan(0);
    if ((await three[0]!.audit.checkpoint()) !== null) checkpoints++;
    const appended = 3 * 10 * (30 + 6);
    const check = await three[1]!.audit.verify();
    expect(check).toMatchObject({ valid: true, events: before.events + appended, chains: before.chains + 3, checkpoints: before.checkpoints + checkpoints });
    // Every chain is dense (1..n) and held by one instance.
    for (const s of three) {
      const mine = await s.store.db.selectFrom('audit_events').select(['chain_seq', 'instance']).where('chain', '=', s.audit.chain).orderBy('chain_seq').execute();
      expect(mine.map((r) => r.chain_seq)).toEqual(Array.from({ length: appended / 3 }, (_, k) => k + 1));
    }
    // And the newest checkpoint records every chain where it ends now.
    const heads = await three[0]!.store.db.selectFrom('audit_chains').selectAll().where('chain', 'in', three.map((s) => s.audit.chain)).execute();
    for (const h of heads) expect(h).toMatchObject({ events: appended / 3, checkpointed: appended / 3 });
  });

  it.skipIf(skip)('appends several events in one go exactly as one by one: ids rising, places consecutive, the chain verifies; a rollback leaves none', async () => {
    const s = await services(k2);
    const before = await s.audit.verify();
    const one = await s.audit.append({ type: 'single', detail: { n: 0 } });
    const ids = await s.store.db.transaction().execute((trx) => s.audit.appendAll([1, 2, 3].map((n) => ({ type: 'batched', userId: null, detail: { n } })), trx));
    expect(ids).toHaveLength(3);
    expect(ids[0]!).toBeGreaterThan(one);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    const mine = await s.store.db.selectFrom('audit_events').selectAll().where('chain', '=', s.audit.chain).orderBy('chain_seq').execute();
    expect(mine.map((r) => [r.type, r.chain_seq, JSON.parse(r.detail).n])).toEqual([['single', 1, 0], ['batched', 2, 1], ['batched', 3, 2], ['batched', 4, 3]]);
    // Each row is chained to the one before it on this chain.
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.prev_hash).toBe(mine[i - 1]!.hash);
    await expect(
      s.store.db.transaction().execute(async (trx) => {
        await s.audit.appendAll([{ type: 'rolled_back' }, { type: 'rolled_back' }], trx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const after = await s.audit.verify();
    expect(after).toMatchObject({ valid: true, events: before.events + 4 });
    expect(await s.store.db.selectFrom('audit_events').select('id').where('type', '=', 'rolled_back').execute()).toEqual([]);
  });
});
