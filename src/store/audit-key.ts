import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { GENESIS_HASH, type ChainKey } from '../audit/chain.js';
import { parseSealed, type SecretBox } from '../crypto/secret-box.js';
import type { Database } from './schema.js';

/**
 * The audit chain's MAC key lives in the `settings` table, sealed under the master key (never in
 * the clear), together with the anchor: the last row written before the key existed. A random
 * key rather than one derived from the master key, because `mamori keys rotate` replaces the
 * master key: it re-seals this record, and the key itself, so every keyed row, stays the same.
 */
const SETTING = 'audit_mac_key';
const AAD = `setting:${SETTING}`;

interface KeyRecord {
  key: string;
  anchor: { id: number; hash: string };
}


function openRecord(box: SecretBox, stored: string): ChainKey {
  let plain: Buffer;
  try {
    plain = box.open(parseSealed(stored, `settings.${SETTING}`), AAD);
  } catch (err) {
    throw new Error(`the audit key cannot be opened: ${err instanceof Error ? err.message : String(err)}`);
  }
  const r = JSON.parse(plain.toString('utf8')) as KeyRecord;
  plain.fill(0);
  const key = Buffer.from(r.key, 'base64');
  if (key.length !== 32 || !Number.isSafeInteger(r.anchor.id) || !/^[0-9a-f]{64}$/.test(r.anchor.hash)) {
    throw new Error(`settings.${SETTING} holds a malformed audit key`);
  }
  return { key, anchor: { id: r.anchor.id, hash: r.anchor.hash } };
}

async function readStored(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
  return row?.value;
}

/**
 * Reads the audit key, creating it on first use. Two instances starting together may both
 * create one: the insert does nothing on conflict and both read back the one that won. No lock is
 * needed for the anchor: until the first record commits nobody holds a key, so nobody appends a
 * row between the winner reading the newest row and inserting its record.
 */
export async function loadAuditKey(db: Kysely<Database>, box: SecretBox): Promise<ChainKey> {
  let stored = await readStored(db);
  if (stored === undefined) {
    // The anchor is on the single chain from before migration 012 (chain null); per-instance
    // chains are keyed from their first row, so a key made after them anchors nothing of theirs.
    const last = await db.selectFrom('audit_events').select(['id', 'hash']).where('chain', 'is', null).orderBy('id', 'desc').limit(1).executeTakeFirst();
    const key = randomBytes(32);
    const record: KeyRecord = { key: key.toString('base64'), anchor: { id: last?.id ?? 0, hash: last?.hash ?? GENESIS_HASH } };
    const plain = Buffer.from(JSON.stringify(record));
    const sealed = box.seal(plain, AAD);
    plain.fill(0);
    key.fill(0);
    await db
      .insertInto('settings')
      .values({ key: SETTING, value: JSON.stringify(sealed) })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    stored = await readStored(db);
    if (stored === undefined) throw new Error(`settings.${SETTING} vanished right after it was written`);
  }
  return openRecord(box, stored);
}

/**
 * Re-seals the audit key under the newest master key (for `mamori keys rotate`), by a conditional
 * update on the old value, like the other sealed secrets. True when this call re-sealed it.
 */
export async function resealAuditKey(db: Kysely<Database>, box: SecretBox): Promise<boolean> {
  const stored = await readStored(db);
  if (stored === undefined) return false;
  const old = parseSealed(stored, `settings.${SETTING}`);
  if (old.keyId === box.currentKeyId) return false;
  const plain = box.open(old, AAD);
  const sealed = box.seal(plain, AAD);
  plain.fill(0);
  const r = await db
    .updateTable('settings')
    .set({ value: JSON.stringify(sealed) })
    .where('key', '=', SETTING)
    .where('value', '=', stored)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
