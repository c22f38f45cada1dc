import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, chainHash, verifyChain, type ChainedFields } from '../../src/audit/chain.js';

type Row = ChainedFields & { prev_hash: string; hash: string };

/** Links events the way AuditLog.append does. */
function chain(events: Array<Omit<ChainedFields, 'id'>>, start = GENESIS_HASH, firstId = 1): Row[] {
  let prev = start;
  return events.map((e, i) => {
    const fields = { ...e, id: firstId + i };
    const row = { ...fields, prev_hash: prev, hash: chainHash(prev, fields) };
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

describe('audit hash chain', () => {
  it('verifies an untouched chain, also page by page', () => {
    const rows = sample();
    const all = verifyChain(rows);
    expect(all).toEqual({ valid: true, events: 5, last: rows[4]!.hash });
    const first = verifyChain(rows.slice(0, 2));
    const rest = verifyChain(rows.slice(2), first.last);
    expect(rest).toMatchObject({ valid: true, events: 3, last: all.last });
    for (const r of rows) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyChain([])).toEqual({ valid: true, events: 0, last: GENESIS_HASH });
  });

  it('keeps a name with `\\n{"evt":"ok"}` inside one event whose hash verifies', () => {
    const rows = sample();
    const row = rows[1]!;
    expect(row.user_agent).toBe(INJECTED);
    expect(verifyChain([row], row.prev_hash)).toMatchObject({ valid: true, events: 1 });
    // The injected text cannot pass for an event of its own: no hash covers it alone.
    const forged: Row = { ...row, id: row.id + 1, type: 'ok', user_agent: null, detail: '{"evt":"ok"}', prev_hash: row.hash, hash: row.hash };
    expect(verifyChain([row, forged], row.prev_hash)).toMatchObject({ valid: false, firstBrokenId: forged.id });
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
