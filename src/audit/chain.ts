import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditEvent } from '../store/schema.js';

/**
 * The fields of an audit event that the chain covers (the encoders below fix their order). The
 * row's own shape, from the one schema; `instance` came later, and version-1 rows without it hash
 * exactly as before, so older chains still verify.
 */
export type ChainedFields = Pick<AuditEvent, 'id' | 'at' | 'type' | 'user_id' | 'actor' | 'ip' | 'user_agent' | 'detail'> & { instance?: string | null };

export type ChainedRow = ChainedFields & Pick<AuditEvent, 'prev_hash' | 'hash' | 'chain_version'>;

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Version 1, the rows written before the chain was keyed: plain SHA-256 over the previous hash and
 * a JSON array of the fields. JSON escapes control characters, so a newline in a user-supplied
 * field cannot end one record and start a forged one. Anyone who can write the database can
 * recompute these, so they only show edits to someone who also holds a later keyed row.
 */
export function chainHash(prevHash: string, e: ChainedFields): string {
  const fields: unknown[] = [e.id, e.at, e.type, e.user_id, e.actor, e.ip, e.user_agent, e.detail];
  if (e.instance != null) fields.push(e.instance);
  const canonical = JSON.stringify(fields);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

/**
 * Version 2: HMAC-SHA256 under the audit key, over the same kind of JSON array (the instance always
 * present, null or not). Without the key, nobody can make a row that verifies.
 */
export function chainMac(key: Buffer, prevHash: string, e: ChainedFields): string {
  const canonical = JSON.stringify([e.id, e.at, e.type, e.user_id, e.actor, e.ip, e.user_agent, e.detail, e.instance ?? null]);
  return createHmac('sha256', key).update(prevHash).update('\n').update(canonical).digest('hex');
}

/**
 * What the sealed key record says about the chain: the MAC key, and the last row written before
 * the key existed (id 0 and the genesis hash on a log that started keyed). Rows up to `anchor.id`
 * are version 1, every later row is version 2, and the anchor row's hash is fixed: so rewriting
 * the old rows, or re-labelling keyed rows as version 1, shows even without a keyed row after it.
 */
export interface ChainKey {
  key: Buffer;
  anchor: { id: number; hash: string };
}

export interface ChainCheck {
  valid: boolean;
  events: number;
  /** How many of the verified events are version 1 (hash-chained only, from before the key). */
  unkeyed: number;
  firstBrokenId?: number;
}

const sameHex = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Walks events in id order, possibly over several pages; the first row that does not match breaks the chain. */
export class ChainVerifier {
  #prev: string;
  #lastId = 0;
  #events = 0;
  #unkeyed = 0;
  #keyed = false;
  #brokenAt: number | undefined;

  constructor(
    private readonly key?: ChainKey,
    start = GENESIS_HASH,
  ) {
    this.#prev = start;
  }

  get last(): string {
    return this.#prev;
  }

  /** False once the chain is broken (at this row or before). */
  add(row: ChainedRow): boolean {
    if (this.#brokenAt !== undefined) return false;
    if (!this.#rowHolds(row)) {
      this.#brokenAt = row.id;
      return false;
    }
    if (row.chain_version === 1) this.#unkeyed++;
    else this.#keyed = true;
    this.#prev = row.hash;
    this.#lastId = row.id;
    this.#events++;
    return true;
  }

  #rowHolds(row: ChainedRow): boolean {
    if (row.prev_hash !== this.#prev) return false;
    const anchor = this.key?.anchor;
    if (row.chain_version === 1) {
      // A downgrade: once a keyed row has appeared, an unkeyed one can only be a forgery.
      if (this.#keyed) return false;
      if (anchor && (row.id > anchor.id || (row.id === anchor.id && row.hash !== anchor.hash))) return false;
      return chainHash(this.#prev, row) === row.hash;
    }
    if (row.chain_version === 2 && this.key) {
      if (!this.#keyed && this.#prev !== this.key.anchor.hash) return false;
      return sameHex(chainMac(this.key.key, this.#prev, row), row.hash);
    }
    return false;
  }

  result(): ChainCheck {
    const base = { events: this.#events, unkeyed: this.#unkeyed };
    if (this.#brokenAt !== undefined) return { valid: false, ...base, firstBrokenId: this.#brokenAt };
    // The log ends before the row the key record anchors: its newest unkeyed rows were removed.
    const anchor = this.key?.anchor;
    if (anchor && !this.#keyed && this.#prev !== anchor.hash) return { valid: false, ...base, firstBrokenId: this.#lastId + 1 };
    return { valid: true, ...base };
  }
}

export function verifyChain(rows: Iterable<ChainedRow>, opts: { key?: ChainKey; start?: string } = {}): ChainCheck & { last: string } {
  const v = new ChainVerifier(opts.key, opts.start);
  for (const row of rows) if (!v.add(row)) break;
  return { ...v.result(), last: v.last };
}
