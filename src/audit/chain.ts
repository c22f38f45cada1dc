import { createHash } from 'node:crypto';

/** The fields of an audit event that the hash chain covers, in a fixed order. */
export interface ChainedFields {
  id: number;
  at: number;
  type: string;
  user_id: string | null;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: string;
  /** Added later; rows without it hash exactly as before, so older chains still verify. */
  instance?: string | null;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * SHA-256 over the previous hash and a JSON array of the fields. JSON escapes control characters,
 * so a newline in a user-supplied field cannot end one record and start a forged one.
 */
export function chainHash(prevHash: string, e: ChainedFields): string {
  const fields: unknown[] = [e.id, e.at, e.type, e.user_id, e.actor, e.ip, e.user_agent, e.detail];
  if (e.instance != null) fields.push(e.instance);
  const canonical = JSON.stringify(fields);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export interface ChainCheck {
  valid: boolean;
  events: number;
  firstBrokenId?: number;
}

/** Walks events in id order; the first row whose link or hash does not match breaks the chain. */
export function verifyChain(rows: Iterable<ChainedFields & { prev_hash: string; hash: string }>, start = GENESIS_HASH): ChainCheck & { last: string } {
  let prev = start;
  let events = 0;
  for (const row of rows) {
    if (row.prev_hash !== prev || chainHash(prev, row) !== row.hash) {
      return { valid: false, events, firstBrokenId: row.id, last: prev };
    }
    prev = row.hash;
    events++;
  }
  return { valid: true, events, last: prev };
}
