import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditEvent } from '../store/schema.js';

/**
 * The fields of an audit event that the chain covers (the encoders below fix their order). The
 * row's own shape, from the one schema; `instance` came later, and version-1 rows without it hash
 * exactly as before, so older chains still verify.
 */
export type ChainedFields = Pick<AuditEvent, 'id' | 'at' | 'type' | 'user_id' | 'actor' | 'ip' | 'user_agent' | 'detail'> & {
  instance?: string | null;
  /** Version 3 only: the per-instance chain the row is on, and its place there (1, 2, ...). */
  chain?: string | null;
  chain_seq?: number | null;
};

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

// ---------------------------------------------------------------------------------------------
// Per-instance chains and checkpoints (issue 12)
//
// One global chain needs one global lock held through every appending transaction's commit, so
// instances append one at a time. Instead each process appends to a chain of its own (version-3
// rows, `chain` and `chain_seq` set), serialised only by a row lock on that chain's head row.
// Periodically one instance writes a checkpoint: the heads of the chains that moved since the
// previous one, MACed under the audit key and chained to the previous checkpoint. A chain cut
// short below a checkpoint, or a checkpoint forged or removed from the middle, then shows.

/** The head rows with a reserved name (instance chains are named in lower-case hex only). */
export const LEGACY_CHAIN = 'legacy';
export const CHECKPOINT_CHAIN = 'checkpoints';

/** Version 3: HMAC-SHA256 on a per-instance chain. */
export const INSTANCE_CHAIN_VERSION = 3;

/**
 * Version 3's MAC: as version 2, plus the chain and the place on it, so a row cannot be moved to
 * another chain or another place. The label keeps these MACs apart from the checkpoints'.
 */
export function chainMac3(key: Buffer, prevHash: string, e: ChainedFields): string {
  const canonical = JSON.stringify([e.id, e.at, e.type, e.user_id, e.actor, e.ip, e.user_agent, e.detail, e.instance ?? null, e.chain ?? null, e.chain_seq ?? null]);
  return createHmac('sha256', key).update('mamori audit event v3\n').update(prevHash).update('\n').update(canonical).digest('hex');
}

/** Where one chain stood when a checkpoint was taken: its length, and its newest event's id and hash. */
export interface ChainHead {
  chain: string;
  events: number;
  id: number;
  hash: string;
}

/** A checkpoint as stored: `heads` is the exact text the MAC covers (see encodeHeads). */
export interface CheckpointFields {
  id: number;
  at: number;
  instance: string | null;
  heads: string;
}

export type CheckpointRow = CheckpointFields & { prev_hash: string; hash: string };

/** The heads as one canonical text: sorted by chain, one `[chain, events, id, hash]` tuple each. */
export function encodeHeads(heads: readonly ChainHead[]): string {
  const sorted = [...heads].sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
  return JSON.stringify(sorted.map((h) => [h.chain, h.events, h.id, h.hash]));
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The heads of a stored checkpoint, or undefined when the text is not what encodeHeads writes. */
export function parseHeads(text: string): ChainHead[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  const heads: ChainHead[] = [];
  for (const t of v as unknown[]) {
    if (!Array.isArray(t) || t.length !== 4) return undefined;
    const [chain, events, id, hash] = t as unknown[];
    if (typeof chain !== 'string' || !isCount(events) || events === 0 || !isCount(id) || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return undefined;
    heads.push({ chain, events, id, hash });
  }
  return encodeHeads(heads) === text ? heads : undefined;
}

export function checkpointMac(key: Buffer, prevHash: string, c: CheckpointFields): string {
  const canonical = JSON.stringify([c.id, c.at, c.instance, c.heads]);
  return createHmac('sha256', key).update('mamori audit checkpoint\n').update(prevHash).update('\n').update(canonical).digest('hex');
}

/** A head row of `audit_chains`: where a chain (or the checkpoints) stood when it was read. */
export interface HeadRow {
  chain: string;
  events: number;
  head_id: number;
  head_hash: string;
}

/** One thing found wrong. `eventId` names an event that fails or is missing, `checkpointId` a checkpoint. */
export interface Problem {
  reason: string;
  chain?: string;
  eventId?: number;
  checkpointId?: number;
}

/** What `audit verify` reports. `valid`, `events` and `firstBrokenId` are the contract's. */
export interface LogCheck {
  valid: boolean;
  /** Events verified: every chain's events up to where it breaks, if it does. */
  events: number;
  /** How many of them are version 1 (from before the key, SHA-256 only). */
  unkeyed: number;
  /** The smallest id among the events that fail or are missing. */
  firstBrokenId?: number;
  /** Chains verified: every instance's, and the single chain from before migration 012 if it has events. */
  chains: number;
  checkpoints: number;
  /** The newest checkpoint: a copy of its hash kept outside the database pins everything up to it. */
  lastCheckpoint?: { id: number; at: number; hash: string };
  /** The first few problems, by event id (then checkpoint id). */
  problems?: Problem[];
}

/** What a chain must contain: an event at place `events` with this id and hash. */
interface Claim {
  events: number;
  id: number;
  hash: string;
  /** The checkpoint that recorded it, or undefined for the chain's head row. */
  checkpoint?: number;
}

const MAX_PROBLEMS = 20;

/** The claims on one chain, checked in order of place as the chain is walked. */
class ClaimList {
  readonly #claims: Claim[] = [];
  #sorted = true;
  #next = 0;

  add(c: Claim): void {
    const last = this.#claims[this.#claims.length - 1];
    if (last && last.events > c.events) this.#sorted = false;
    this.#claims.push(c);
  }

  #order(): void {
    if (!this.#sorted) this.#claims.sort((a, b) => a.events - b.events);
    this.#sorted = true;
  }

  /** The claims on place `events` that the event there (`id`, `hash`) does not meet. */
  check(events: number, id: number, hash: string): Claim[] {
    this.#order();
    const unmet: Claim[] = [];
    while (this.#next < this.#claims.length && this.#claims[this.#next]!.events <= events) {
      const c = this.#claims[this.#next++]!;
      if (c.events === events && (c.id !== id || !sameHex(c.hash, hash))) unmet.push(c);
    }
    return unmet;
  }

  /** The claims past the end of a chain that ended, unbroken, at `events`. */
  beyond(events: number): Claim[] {
    this.#order();
    return this.#claims.filter((c) => c.events > events);
  }
}

/** The walk of one version-3 chain in place order. */
class InstanceChainWalk {
  events = 0;
  prev = GENESIS_HASH;
  broken = false;

  constructor(
    private readonly key: Buffer,
    readonly chain: string,
  ) {}

  add(row: ChainedRow): boolean {
    if (this.broken) return false;
    const holds =
      row.chain_version === INSTANCE_CHAIN_VERSION &&
      row.chain === this.chain &&
      row.chain_seq === this.events + 1 &&
      row.prev_hash === this.prev &&
      sameHex(chainMac3(this.key, this.prev, row), row.hash);
    if (!holds) {
      this.broken = true;
      return false;
    }
    this.events++;
    this.prev = row.hash;
    return true;
  }
}

/**
 * Verifies the whole log from what the store reads, in this order (each read after the one
 * before, so rows appended meanwhile only ever extend what an earlier read promised):
 * 1. `head()` for every row of `audit_chains`;
 * 2. `checkpoint()` for every checkpoint, by id;
 * 3. `legacy()` for every event of the single chain from before migration 012 (`chain` null), by id;
 * 4. `event()` for every other event, ordered by chain and place.
 * Then `result()`. Head rows and checkpoints only ever say "the chain reaches at least here, with
 * this hash": a chain that grew after they were read still verifies.
 */
export class LogVerifier {
  readonly #claims = new Map<string, ClaimList>();
  readonly #problems: Problem[] = [];
  readonly #legacy: ChainVerifier;
  #legacyEvents = 0;
  #legacyHead: HeadRow | undefined;
  #checkpointHead: HeadRow | undefined;
  #checkpoints = 0;
  #checkpointPrev = GENESIS_HASH;
  #checkpointsBroken = false;
  #lastCheckpoint: { id: number; at: number; hash: string } | undefined;
  #walk: InstanceChainWalk | undefined;
  readonly #walked = new Set<string>();
  /** The chains that have a head row. */
  readonly #headed = new Set<string>();
  #legacyDone = false;
  #events = 0;
  #unkeyed = 0;
  #chains = 0;

  constructor(private readonly key: ChainKey) {
    this.#legacy = new ChainVerifier(key);
  }

  #claimsOf(chain: string): ClaimList {
    let list = this.#claims.get(chain);
    if (!list) this.#claims.set(chain, (list = new ClaimList()));
    return list;
  }

  #problem(p: Problem): void {
    this.#problems.push(p);
  }

  head(row: HeadRow): void {
    if (row.chain === CHECKPOINT_CHAIN) {
      this.#checkpointHead = row;
      return;
    }
    if (row.chain === LEGACY_CHAIN) this.#legacyHead = row;
    this.#headed.add(row.chain);
    // A head row that says nothing was appended makes no claim (a chain whose first append rolled back).
    if (row.events > 0) this.#claimsOf(row.chain).add({ events: row.events, id: row.head_id, hash: row.head_hash });
  }

  /** False once the checkpoint chain is broken: later checkpoints cannot be trusted, stop feeding them. */
  checkpoint(row: CheckpointRow): boolean {
    if (this.#checkpointsBroken) return false;
    const expected = this.#checkpoints + 1;
    const heads = parseHeads(row.heads);
    const holds = row.id === expected && row.prev_hash === this.#checkpointPrev && heads !== undefined && sameHex(checkpointMac(this.key.key, this.#checkpointPrev, row), row.hash);
    if (!holds || !heads) {
      this.#checkpointsBroken = true;
      this.#problem({
        checkpointId: row.id === expected ? row.id : expected,
        reason: row.id === expected ? 'the checkpoint does not verify (edited, forged, or re-chained)' : `checkpoint ${expected} is missing`,
      });
      return false;
    }
    for (const h of heads) this.#claimsOf(h.chain).add({ events: h.events, id: h.id, hash: h.hash, checkpoint: row.id });
    this.#checkpoints = expected;
    this.#checkpointPrev = row.hash;
    this.#lastCheckpoint = { id: row.id, at: row.at, hash: row.hash };
    const head = this.#checkpointHead;
    if (head && head.events === expected && !sameHex(head.head_hash, row.hash)) {
      this.#problem({ checkpointId: row.id, reason: 'the checkpoint is not the one its head row names' });
    }
    return true;
  }

  /** False once the single chain from before migration 012 is broken. */
  legacy(row: ChainedRow): boolean {
    if (this.#legacyDone || !this.#legacy.add(row)) {
      this.#legacyDone = true;
      return false;
    }
    const place = this.#legacyEvents + 1;
    const head = this.#legacyHead;
    // Migration 012 recorded where the single chain ended; nothing is ever appended to it after that.
    if (!head || place > head.events) {
      this.#legacyDone = true;
      this.#problem({ chain: LEGACY_CHAIN, eventId: row.id, reason: 'an event appended to the single chain after migration 012 closed it' });
      return false;
    }
    this.#legacyEvents = place;
    if (row.chain_version === 1) this.#unkeyed++;
    this.#unmet(LEGACY_CHAIN, this.#claimsOf(LEGACY_CHAIN).check(place, row.id, row.hash));
    return true;
  }

  event(row: ChainedRow): void {
    const chain = row.chain;
    if (chain == null || chain === LEGACY_CHAIN || chain === CHECKPOINT_CHAIN) {
      this.#problem({ eventId: row.id, reason: 'an event on no instance chain' });
      return;
    }
    if (this.#walk?.chain !== chain) {
      this.#endWalk();
      this.#walk = new InstanceChainWalk(this.key.key, chain);
      this.#walked.add(chain);
      this.#chains++;
    }
    const walk = this.#walk;
    if (walk.broken) return;
    if (!walk.add(row)) {
      this.#problem({ chain, eventId: row.id, reason: 'the event does not verify (edited, out of place, or one before it deleted)' });
      return;
    }
    this.#events++;
    this.#unmet(chain, this.#claimsOf(chain).check(walk.events, row.id, row.hash));
  }

  #unmet(chain: string, claims: Claim[]): void {
    for (const c of claims) {
      this.#problem({
        chain,
        eventId: c.id,
        ...(c.checkpoint === undefined ? {} : { checkpointId: c.checkpoint }),
        reason: c.checkpoint === undefined ? `event ${c.events} of the chain is not the one its head row names` : `event ${c.events} of the chain is not the one checkpoint ${c.checkpoint} records`,
      });
    }
  }

  #missing(chain: string, events: number): void {
    for (const c of this.#claimsOf(chain).beyond(events)) {
      this.#problem({
        chain,
        eventId: c.id,
        ...(c.checkpoint === undefined ? {} : { checkpointId: c.checkpoint }),
        reason: `the chain ends after ${events} events, but ${c.checkpoint === undefined ? 'its head row' : `checkpoint ${c.checkpoint}`} records ${c.events}`,
      });
    }
  }

  #endWalk(): void {
    const walk = this.#walk;
    if (!walk) return;
    // Every append updates its chain's head row in its own transaction: a chain without one lost it.
    if (!this.#headed.has(walk.chain)) this.#problem({ chain: walk.chain, reason: 'the chain has no head row' });
    if (!walk.broken) this.#missing(walk.chain, walk.events);
  }

  result(): LogCheck {
    this.#endWalk();
    this.#walk = undefined;

    // The single chain from before migration 012.
    const legacy = this.#legacy.result();
    if (!legacy.valid) {
      if (!this.#problems.some((p) => p.chain === LEGACY_CHAIN && p.eventId === legacy.firstBrokenId)) {
        this.#problem({ chain: LEGACY_CHAIN, ...(legacy.firstBrokenId === undefined ? {} : { eventId: legacy.firstBrokenId }), reason: 'the event does not verify (edited, out of place, or one before it deleted)' });
      }
    } else {
      this.#missing(LEGACY_CHAIN, this.#legacyEvents);
    }
    if (this.#legacyEvents > 0) this.#chains++;

    // Chains that head rows or checkpoints name but that have no events left: deleted whole.
    for (const chain of this.#claims.keys()) {
      if (chain !== LEGACY_CHAIN && !this.#walked.has(chain)) this.#missing(chain, 0);
    }

    // The checkpoints themselves: cut short below their head row?
    const head = this.#checkpointHead;
    if (!this.#checkpointsBroken) {
      if (head && head.events > this.#checkpoints) {
        this.#problem({ checkpointId: this.#checkpoints + 1, reason: `the checkpoints end after ${this.#checkpoints}, but their head row records ${head.events}` });
      } else if (!head && this.#checkpoints > 0) {
        this.#problem({ reason: 'the checkpoints have no head row' });
      }
    }

    const base = {
      events: this.#events + this.#legacyEvents,
      unkeyed: this.#unkeyed,
      chains: this.#chains,
      checkpoints: this.#checkpoints,
      ...(this.#lastCheckpoint ? { lastCheckpoint: this.#lastCheckpoint } : {}),
    };
    if (this.#problems.length === 0) return { valid: true, ...base };
    const order = (p: Problem) => [p.eventId ?? Number.MAX_SAFE_INTEGER, p.checkpointId ?? Number.MAX_SAFE_INTEGER] as const;
    const problems = [...this.#problems].sort((a, b) => {
      const [ae, ac] = order(a);
      const [be, bc] = order(b);
      return ae - be || ac - bc;
    });
    const firstBrokenId = problems[0]!.eventId;
    return { valid: false, ...base, ...(firstBrokenId === undefined ? {} : { firstBrokenId }), problems: problems.slice(0, MAX_PROBLEMS) };
  }
}
