import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  CHECKPOINT_CHAIN,
  ChainVerifier,
  GENESIS_HASH,
  LEGACY_CHAIN,
  LogVerifier,
  chainHash,
  chainMac,
  chainMac3,
  checkpointMac,
  encodeHeads,
  parseHeads,
  verifyChain,
  type ChainHead,
  type ChainKey,
  type ChainedFields,
  type ChainedRow,
  type CheckpointRow,
  type HeadRow,
  type LogCheck,
} from '../../src/audit/chain.js';

type Row = ChainedRow;

/** Links events the way AuditLog.append did before the key: version 1, plain SHA-256. */
function chain(events: Array<Omit<ChainedFields, 'id'>>, start = GENESIS_HASH, firstId = 1): Row[] {
  let prev = start;
  return events.map((e, i) => {
    const fields = { ...e, id: firstId + i };
    const row = { ...fields, prev_hash: prev, hash: chainHash(prev, fields), chain_version: 1 };
    prev = row.hash;
    return row;
  });
}

/** Links events the way AuditLog.append does now: version 2, HMAC under the key. */
function keyedChain(key: Buffer, events: Array<Omit<ChainedFields, 'id'>>, start = GENESIS_HASH, firstId = 1): Row[] {
  let prev = start;
  return events.map((e, i) => {
    const fields = { ...e, id: firstId + i };
    const row = { ...fields, prev_hash: prev, hash: chainMac(key, prev, fields), chain_version: 2 };
    prev = row.hash;
    return row;
  });
}

const INJECTED = 'mallory\n{"evt":"ok"}';

const sample = (): Row[] =>
  chain([
    { at: 1_700_000_000_000, type: 'user_created', user_id: 'u1', actor: 'cli:root', ip: null, user_agent: 'mamori-cli', detail: '{"email":"a@example.com","role":"admin"}' },
    { at: 1_700_000_001_000, type: 'sign_in_failed', user_id: null, actor: null, ip: '203.0.113.7', user_agent: INJECTED, detail: JSON.stringify({ reason: 'unknown_user', email: INJECTED }) },
    { at: 1_700_000_002_000, type: 'sign_in_succeeded', user_id: 'u1', actor: null, ip: '203.0.113.7', user_agent: 'Mozilla/5.0', detail: '{"aal":1}' },
    { at: 1_700_000_003_000, type: 'account_locked', user_id: 'u2', actor: INJECTED, ip: '::1', user_agent: null, detail: '{}' },
    { at: 1_700_000_004_000, type: 'signed_out', user_id: 'u1', actor: null, ip: null, user_agent: null, detail: '{"sessionId":"s1"}' },
  ]);

describe('audit hash chain, version 1 (before the key)', () => {
  it('verifies an untouched chain, also page by page', () => {
    const rows = sample();
    const all = verifyChain(rows);
    expect(all).toEqual({ valid: true, events: 5, unkeyed: 5, last: rows[4]!.hash });
    const first = verifyChain(rows.slice(0, 2));
    const rest = verifyChain(rows.slice(2), { start: first.last });
    expect(rest).toMatchObject({ valid: true, events: 3, last: all.last });
    for (const r of rows) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyChain([])).toEqual({ valid: true, events: 0, unkeyed: 0, last: GENESIS_HASH });
  });

  it('keeps a name with `\\n{"evt":"ok"}` inside one event whose hash verifies', () => {
    const rows = sample();
    const row = rows[1]!;
    expect(row.user_agent).toBe(INJECTED);
    expect(verifyChain([row], { start: row.prev_hash })).toMatchObject({ valid: true, events: 1 });
    // The injected text cannot pass for an event of its own: no hash covers it alone.
    const forged: Row = { ...row, id: row.id + 1, type: 'ok', user_agent: null, detail: '{"evt":"ok"}', prev_hash: row.hash, hash: row.hash };
    expect(verifyChain([row, forged], { start: row.prev_hash })).toMatchObject({ valid: false, firstBrokenId: forged.id });
    // Fields are delimited by JSON, so shifting text between neighbouring fields changes the hash.
    const shifted = { ...row, ip: `${row.ip}\n`, user_agent: row.user_agent!.slice(1) };
    expect(chainHash(row.prev_hash, shifted)).not.toBe(row.hash);
    const moved = { ...row, user_agent: `${row.user_agent}","x` };
    expect(chainHash(row.prev_hash, moved)).not.toBe(row.hash);
  });

  const edits: Array<[keyof Row, (r: Row) => unknown]> = [
    ['id', (r) => r.id + 100],
    ['at', (r) => r.at + 1],
    ['type', (r) => `${r.type}x`],
    ['user_id', (r) => (r.user_id === null ? 'u9' : null)],
    ['actor', (r) => (r.actor === null ? 'admin:evil' : `${r.actor}!`)],
    ['ip', (r) => (r.ip === null ? '198.51.100.1' : null)],
    ['user_agent', (r) => (r.user_agent === null ? 'curl' : '')],
    ['detail', (r) => r.detail.replace('}', ',"role":"admin"}')],
    ['prev_hash', (r) => r.prev_hash.replace(/^./, (c) => (c === '0' ? '1' : '0'))],
    ['hash', (r) => r.hash.replace(/.$/, (c) => (c === '0' ? '1' : '0'))],
  ];

  it.each(edits)('breaks at the edited row when %s changes', (field, change) => {
    for (let i = 0; i < 5; i++) {
      const rows = sample();
      const edited = { ...rows[i]!, [field]: change(rows[i]!) } as Row;
      rows[i] = edited;
      const check = verifyChain(rows);
      expect(check.valid, `${field} of row ${i + 1}`).toBe(false);
      expect(check.firstBrokenId, `${field} of row ${i + 1}`).toBe(edited.id);
      expect(check.events).toBe(i);
    }
  });

  it('breaks where a row was deleted, reordered or re-hashed by itself', () => {
    const rows = sample();
    expect(verifyChain([rows[0]!, rows[2]!, rows[3]!]).firstBrokenId).toBe(3);
    expect(verifyChain([rows[0]!, rows[2]!, rows[1]!]).firstBrokenId).toBe(3);
    // An attacker who edits a row and recomputes its hash still breaks the link of the next one.
    const tampered = { ...rows[1]!, detail: '{"reason":"nothing to see"}' };
    tampered.hash = chainHash(tampered.prev_hash, tampered);
    const check = verifyChain([rows[0]!, tampered, ...rows.slice(2)]);
    expect(check).toMatchObject({ valid: false, firstBrokenId: 3, events: 2 });
  });
});

describe('audit chain, version 2 (HMAC under the audit key)', () => {
  const key = randomBytes(32);
  const events = sample().map(({ id: _id, prev_hash: _p, hash: _h, chain_version: _v, ...e }) => e);
  const fresh: ChainKey = { key, anchor: { id: 0, hash: GENESIS_HASH } };

  it('verifies a keyed chain, also page by page, and only under its key', () => {
    const rows = keyedChain(key, events);
    expect(verifyChain(rows, { key: fresh })).toEqual({ valid: true, events: 5, unkeyed: 0, last: rows[4]!.hash });
    const v = new ChainVerifier(fresh);
    for (const page of [rows.slice(0, 2), rows.slice(2)]) for (const r of page) expect(v.add(r)).toBe(true);
    expect(v.result()).toEqual({ valid: true, events: 5, unkeyed: 0 });
    // Under another key, or with no key at all, the first keyed row is where it breaks.
    expect(verifyChain(rows, { key: { ...fresh, key: randomBytes(32) } })).toMatchObject({ valid: false, firstBrokenId: 1, events: 0 });
    expect(verifyChain(rows)).toMatchObject({ valid: false, firstBrokenId: 1 });
    // The MAC covers the same fields as before, instance included.
    const withInstance = keyedChain(key, events.map((e) => ({ ...e, instance: 'host:1' })));
    expect(verifyChain([{ ...withInstance[0]!, instance: 'host:2' }], { key: fresh })).toMatchObject({ valid: false, firstBrokenId: 1 });
  });

  it('shows a row rewritten and re-chained without the key, naming the rewritten row', () => {
    for (const recompute of ['sha256', 'wrong key'] as const) {
      const rows = keyedChain(key, events);
      // The attacker changes row 3 and re-links every row after it, as plain SHA-256 or under a guessed key.
      const wrong = randomBytes(32);
      let prev = rows[1]!.hash;
      for (let i = 2; i < rows.length; i++) {
        const r = { ...rows[i]!, ...(i === 2 ? { detail: '{"reason":"nothing to see"}' } : {}), prev_hash: prev };
        r.hash = recompute === 'sha256' ? chainHash(prev, r) : chainMac(wrong, prev, r);
        rows[i] = r;
        prev = r.hash;
      }
      expect(verifyChain(rows, { key: fresh }), recompute).toMatchObject({ valid: false, firstBrokenId: 3, events: 2 });
    }
  });

  it('refuses a downgrade: a version-1 row after a keyed one breaks the chain even when its hash is right', () => {
    const rows = keyedChain(key, events);
    const forged = { ...rows[3]!, detail: '{"forged":true}', chain_version: 1 };
    forged.hash = chainHash(forged.prev_hash, forged);
    rows[3] = forged;
    rows[4] = { ...rows[4]!, prev_hash: forged.hash };
    rows[4].hash = chainHash(forged.hash, rows[4]);
    rows[4].chain_version = 1;
    expect(verifyChain(rows, { key: fresh })).toMatchObject({ valid: false, firstBrokenId: 4, events: 3 });
    // And a whole keyed log re-written as version 1 is refused from its first row: the anchor says it began keyed.
    expect(verifyChain(chain(events), { key: fresh })).toMatchObject({ valid: false, firstBrokenId: 1, events: 0 });
    // Unknown versions never verify.
    expect(verifyChain([{ ...keyedChain(key, events)[0]!, chain_version: 3 }], { key: fresh })).toMatchObject({ valid: false, firstBrokenId: 1 });
  });

  it('verifies version-1 rows before the keyed ones, and shows when those old rows were re-chained', () => {
    const old = chain(events.slice(0, 3));
    const anchored: ChainKey = { key, anchor: { id: 3, hash: old[2]!.hash } };
    const rows = [...old, ...keyedChain(key, events.slice(3), old[2]!.hash, 4)];
    expect(verifyChain(rows, { key: anchored })).toMatchObject({ valid: true, events: 5, unkeyed: 3 });
    // Before any keyed row was written, the anchor alone fixes the old rows.
    expect(verifyChain(old, { key: anchored })).toMatchObject({ valid: true, events: 3, unkeyed: 3 });

    // Rewriting an old row and re-chaining the old rows as SHA-256 is possible without the key; the
    // anchor row's hash then differs, so the chain breaks there (it cannot tell which older row changed).
    const rechained = chain([events[0]!, { ...events[1]!, detail: '{"reason":"nothing to see"}' }, events[2]!]);
    expect(verifyChain([...rechained, ...rows.slice(3)], { key: anchored })).toMatchObject({ valid: false, firstBrokenId: 3, events: 2 });
    expect(verifyChain(rechained, { key: anchored })).toMatchObject({ valid: false, firstBrokenId: 3 });
    // A version-1 row past the anchor is a downgrade even as the first row after it.
    const extended = [...old, ...chain(events.slice(3, 4), old[2]!.hash, 4)];
    expect(verifyChain(extended, { key: anchored })).toMatchObject({ valid: false, firstBrokenId: 4, events: 3 });
    // The newest old rows deleted (no keyed row yet): the log ends short of the anchor.
    expect(verifyChain(old.slice(0, 2), { key: anchored })).toMatchObject({ valid: false, firstBrokenId: 3, events: 2 });
  });
});

describe('per-instance chains (version 3) and checkpoints', () => {
  const key = randomBytes(32);
  const fresh: ChainKey = { key, anchor: { id: 0, hash: GENESIS_HASH } };
  const base = { type: 'profile_updated', user_id: 'u1', actor: null, ip: '203.0.113.7', user_agent: 'Mozilla/5.0', detail: '{}', instance: 'host:1' };

  /** Rows of one chain, as AuditLog.append writes them, with the given (sparse, increasing) ids. */
  function instanceChain(chain: string, ids: number[], at = 1_700_000_000_000): Row[] {
    let prev = GENESIS_HASH;
    return ids.map((id, i) => {
      const fields = { ...base, id, at: at + id, chain, chain_seq: i + 1, detail: JSON.stringify({ n: id }) };
      const row = { ...fields, prev_hash: prev, hash: chainMac3(key, prev, fields), chain_version: 3 };
      prev = row.hash;
      return row;
    });
  }
  const headOf = (chain: string, rows: Row[]): HeadRow => ({ chain, events: rows.length, head_id: rows[rows.length - 1]!.id, head_hash: rows[rows.length - 1]!.hash });
  const at = (rows: Row[], events: number): ChainHead => ({ chain: rows[0]!.chain!, events, id: rows[events - 1]!.id, hash: rows[events - 1]!.hash });

  /** Checkpoints as AuditLog.checkpoint writes them, each the heads given, chained from the genesis hash. */
  function checkpoints(list: ChainHead[][], k = key): CheckpointRow[] {
    let prev = GENESIS_HASH;
    return list.map((heads, i) => {
      const fields = { id: i + 1, at: 1_700_000_100_000 + i, instance: 'host:1', heads: encodeHeads(heads) };
      const row = { ...fields, prev_hash: prev, hash: checkpointMac(k, prev, fields) };
      prev = row.hash;
      return row;
    });
  }
  const checkpointHead = (cps: CheckpointRow[]): HeadRow => ({ chain: CHECKPOINT_CHAIN, events: cps.length, head_id: cps.length, head_hash: cps[cps.length - 1]?.hash ?? GENESIS_HASH });

  /** Feeds the verifier in the store's order: heads, checkpoints, legacy rows by id, chain rows by chain and place. */
  function verify(input: { heads: HeadRow[]; checkpoints?: CheckpointRow[]; legacy?: Row[]; chains: Row[][]; key?: ChainKey }): LogCheck {
    const v = new LogVerifier(input.key ?? fresh);
    for (const h of input.heads) v.head(h);
    for (const c of input.checkpoints ?? []) if (!v.checkpoint(c)) break;
    for (const r of input.legacy ?? []) if (!v.legacy(r)) break;
    const rows = input.chains.flat().sort((a, b) => (a.chain! < b.chain! ? -1 : a.chain! > b.chain! ? 1 : a.chain_seq! - b.chain_seq!));
    for (const r of rows) v.event(r);
    return v.result();
  }

  // Two instances appending side by side: their ids interleave, their places do not.
  const a = instanceChain('aaaa', [1, 3, 4, 7]);
  const b = instanceChain('bbbb', [2, 5, 6]);
  const cps = checkpoints([[at(a, 2), at(b, 1)], [at(a, 4), at(b, 3)]]);
  const heads = () => [headOf('aaaa', a), headOf('bbbb', b), checkpointHead(cps)];

  it('verifies chains whose ids interleave, under the checkpoints that record them', () => {
    expect(verify({ heads: heads(), checkpoints: cps, chains: [a, b] })).toEqual({
      valid: true,
      events: 7,
      unkeyed: 0,
      chains: 2,
      checkpoints: 2,
      lastCheckpoint: { id: 2, at: cps[1]!.at, hash: cps[1]!.hash },
    });
    // Rows appended after the head rows and checkpoints were read only extend what they promised.
    expect(verify({ heads: [headOf('aaaa', a.slice(0, 2)), headOf('bbbb', b.slice(0, 1)), checkpointHead(cps.slice(0, 1))], checkpoints: cps, chains: [a, b] })).toMatchObject({
      valid: true,
      events: 7,
      checkpoints: 2,
    });
    expect(verify({ heads: [checkpointHead([])], chains: [] })).toEqual({ valid: true, events: 0, unkeyed: 0, chains: 0, checkpoints: 0 });
  });

  it('MACs the chain and the place: a row moved to another chain or place, or labelled as another version, does not verify', () => {
    const moved = { ...a[2]!, chain: 'bbbb', chain_seq: 4, prev_hash: b[2]!.hash };
    expect(verify({ heads: heads(), checkpoints: cps, chains: [a.filter((r) => r.id !== 4), [...b, moved]] })).toMatchObject({ valid: false, firstBrokenId: 4 });
    const swapped = [a[0]!, { ...a[2]!, chain_seq: 2 }, { ...a[1]!, chain_seq: 3 }, a[3]!];
    expect(verify({ heads: heads(), checkpoints: cps, chains: [swapped, b] })).toMatchObject({ valid: false, firstBrokenId: 4 });
    for (const chain_version of [1, 2]) {
      expect(verify({ heads: heads(), chains: [[{ ...a[0]!, chain_version }, ...a.slice(1)], b] }), `version ${chain_version}`).toMatchObject({ valid: false, firstBrokenId: 1 });
    }
    // Under another key, every chain breaks at its first row.
    expect(verify({ heads: heads(), chains: [a, b], key: { ...fresh, key: randomBytes(32) } })).toMatchObject({ valid: false, firstBrokenId: 1, events: 0 });
  });

  it('names the event after one deleted, and an event deleted from the end when a head row or checkpoint still records it', () => {
    expect(verify({ heads: heads(), checkpoints: cps, chains: [a.filter((r) => r.id !== 3), b] })).toMatchObject({ valid: false, firstBrokenId: 4, events: 4 });
    // The newest deleted: the head row names it.
    const short = a.slice(0, 3);
    expect(verify({ heads: heads(), checkpoints: cps, chains: [short, b] })).toMatchObject({ valid: false, firstBrokenId: 7 });
    // The head row rewound as well: checkpoint 2 still records it.
    const rewound = verify({ heads: [headOf('aaaa', short), headOf('bbbb', b), checkpointHead(cps)], checkpoints: cps, chains: [short, b] });
    expect(rewound).toMatchObject({ valid: false, firstBrokenId: 7, problems: [{ chain: 'aaaa', eventId: 7, checkpointId: 2 }] });
    // Past the newest checkpoint, with the head row rewound, nothing in the database can tell: the unprotected tail.
    const longer = instanceChain('aaaa', [1, 3, 4, 7, 8]);
    expect(verify({ heads: [headOf('aaaa', a), headOf('bbbb', b), checkpointHead(cps)], checkpoints: cps, chains: [a, b] }).valid).toBe(true);
    expect(verify({ heads: [headOf('aaaa', longer), headOf('bbbb', b), checkpointHead(cps)], checkpoints: cps, chains: [a, b] })).toMatchObject({ valid: false, firstBrokenId: 8 });
    // A whole chain gone with its head row: the checkpoints name it.
    expect(verify({ heads: [headOf('aaaa', a), checkpointHead(cps)], checkpoints: cps, chains: [a] })).toMatchObject({ valid: false, firstBrokenId: 2, events: 4 });
    // Its head row gone alone.
    expect(verify({ heads: [headOf('aaaa', a), checkpointHead(cps)], checkpoints: cps, chains: [a, b] })).toMatchObject({
      valid: false,
      problems: [{ chain: 'bbbb', reason: 'the chain has no head row' }],
    });
  });

  it('shows a checkpoint forged, edited, re-chained, missing from the middle or the end', () => {
    const forged = checkpoints([[at(a, 2), at(b, 1)], [at(a, 4), at(b, 3)]], randomBytes(32));
    expect(verify({ heads: heads(), checkpoints: forged, chains: [a, b] })).toMatchObject({ valid: false, problems: [{ checkpointId: 1 }] });
    expect(verify({ heads: heads(), checkpoints: [cps[0]!, { ...cps[1]!, at: cps[1]!.at + 1 }], chains: [a, b] })).toMatchObject({ valid: false, problems: [{ checkpointId: 2 }] });
    // A checkpoint that records a head that is not on the chain, MACed right (only the key's holder can): caught against the chain.
    const wrongHead = checkpoints([[{ ...at(a, 2), hash: a[0]!.hash }]]);
    expect(verify({ heads: [headOf('aaaa', a), headOf('bbbb', b), checkpointHead(wrongHead)], checkpoints: wrongHead, chains: [a, b] })).toMatchObject({
      valid: false,
      firstBrokenId: 3,
      problems: [{ chain: 'aaaa', eventId: 3, checkpointId: 1 }],
    });
    // The heads as the MAC covers them: reordered or reformatted text is refused, not re-read.
    const reordered = { ...cps[0]!, heads: JSON.stringify((JSON.parse(cps[0]!.heads) as unknown[]).reverse()) };
    expect(parseHeads(reordered.heads)).toBeUndefined();
    expect(verify({ heads: heads(), checkpoints: [reordered, cps[1]!], chains: [a, b] })).toMatchObject({ valid: false, problems: [{ checkpointId: 1 }] });
    expect(verify({ heads: heads(), checkpoints: [cps[1]!], chains: [a, b] })).toMatchObject({ valid: false, problems: [{ checkpointId: 1, reason: 'checkpoint 1 is missing' }] });
    expect(verify({ heads: heads(), checkpoints: [cps[0]!], chains: [a, b] })).toMatchObject({ valid: false, problems: [{ checkpointId: 2 }] });
    // The newest one deleted with its head row rewound verifies: verify prints its hash to keep elsewhere.
    expect(verify({ heads: [headOf('aaaa', a), headOf('bbbb', b), checkpointHead(cps.slice(0, 1))], checkpoints: cps.slice(0, 1), chains: [a, b] })).toMatchObject({ valid: true, checkpoints: 1 });
  });

  it('keeps the single chain from before migration 012 (unkeyed and keyed rows) and refuses a row appended to it after', () => {
    const old = chain(sample().slice(0, 3).map(({ id: _id, prev_hash: _p, hash: _h, chain_version: _v, ...e }) => e));
    const keyed = keyedChain(key, [{ ...base, at: 1_700_000_000_004 }], old[2]!.hash, 4);
    const legacy = [...old, ...keyed];
    const anchored: ChainKey = { key, anchor: { id: 3, hash: old[2]!.hash } };
    const legacyHead: HeadRow = { chain: LEGACY_CHAIN, events: 4, head_id: 4, head_hash: keyed[0]!.hash };
    const later = instanceChain('aaaa', [5, 6]);
    const cp = checkpoints([[{ chain: LEGACY_CHAIN, events: 4, id: 4, hash: keyed[0]!.hash }, at(later, 2)]]);
    const input = { heads: [legacyHead, headOf('aaaa', later), checkpointHead(cp)], checkpoints: cp, legacy, chains: [later], key: anchored };
    expect(verify(input)).toMatchObject({ valid: true, events: 6, unkeyed: 3, chains: 2, checkpoints: 1 });
    // Appended after the migration closed it (an instance of the previous version still running).
    const appended = keyedChain(key, [{ ...base, at: 1_700_000_000_009 }], keyed[0]!.hash, 9);
    expect(verify({ ...input, legacy: [...legacy, ...appended] })).toMatchObject({ valid: false, firstBrokenId: 9, events: 6 });
    // Cut short, head row and all: the checkpoint still says where it ended.
    expect(verify({ ...input, heads: [{ ...legacyHead, events: 3, head_id: 3, head_hash: old[2]!.hash }, headOf('aaaa', later), checkpointHead(cp)], legacy: old })).toMatchObject({
      valid: false,
      firstBrokenId: 4,
    });
    // No head row at all (a fresh install): any row on it is a forgery.
    expect(verify({ heads: [checkpointHead([])], legacy: keyedChain(key, [{ ...base, at: 1_700_000_000_001 }], GENESIS_HASH, 1), chains: [] })).toMatchObject({ valid: false, firstBrokenId: 1 });
  });
});
