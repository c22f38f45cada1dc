import { randomBytes } from 'node:crypto';
import { sql, type RawBuilder, type Transaction } from 'kysely';
import {
  chainMac3,
  checkpointMac,
  CHECKPOINT_CHAIN,
  encodeHeads,
  GENESIS_HASH,
  INSTANCE_CHAIN_VERSION,
  LogVerifier,
  type ChainKey,
  type CheckpointFields,
  type LogCheck,
} from '../audit/chain.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { loadAuditKey } from './audit-key.js';
import type { Store } from './db.js';
import type { AuditEvent, Database } from './schema.js';

export interface AuditEntry {
  type: string;
  userId?: string | null;
  actor?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Non-secret facts only: reasons, device names, counts. Never a code, secret or password. */
  detail?: Record<string, string | number | boolean | null>;
}

const MAX_FIELD = 512;
const clip = (s: string | null | undefined): string | null => (s == null ? null : s.slice(0, MAX_FIELD));

const PAGE = 1000;

/** Thrown inside the checkpoint's transaction to roll it back when another checkpoint took every moved head. */
class NothingMoved extends Error {}

/**
 * The append-only security log. Each process appends to a chain of its own (a random name, made
 * at start), each row MACed to its predecessor on that chain under the sealed audit key; signed
 * checkpoints record the chains' heads (src/audit/chain.ts).
 */
export class AuditLog {
  /**
   * The next event id, read in the statement that locks the chain's head. On PostgreSQL a sequence:
   * no lock, and ids stay unique across instances (not in commit order: two chains' transactions
   * commit in either order). On SQLite a writer holds the database's one write lock, so max + 1 is safe.
   */
  readonly #nextId: RawBuilder<number>;

  private constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly instance: string | null,
    private readonly key: ChainKey,
    /** This process's chain: random, so no two processes share one (that would be correct, only slower). */
    readonly chain: string,
  ) {
    this.#nextId = store.dialect === 'postgres' ? sql<number>`nextval('audit_event_ids')` : sql<number>`(select coalesce(max(id), 0) + 1 from audit_events)`;
  }

  /**
   * Loads (or, on first use, creates) the audit key before the log takes any row, so the key is
   * committed before an append inside a caller's transaction uses it: a key created in a
   * transaction that then rolled back would leave this process MACing under a key nobody has.
   */
  static async open(store: Store, box: SecretBox, now: () => number, instance: string | null = null): Promise<AuditLog> {
    return new AuditLog(store, now, instance, await loadAuditKey(store.db, box), randomBytes(8).toString('hex'));
  }

  /**
   * Appends one event. Given `trx`, the event commits or rolls back with the change it records
   * (the caller's transaction); otherwise it gets a transaction of its own. The first append locks
   * this process's chain head until commit, so a transaction appends after it wrote its rows: taken
   * in that one order everywhere, the row locks and the head's lock never wait on each other in a
   * cycle. Other processes lock other heads, so instances no longer wait for each other here.
   */
  async append(entry: AuditEntry, trx?: Transaction<Database>): Promise<number> {
    const [id] = trx ? await this.#append([entry], trx) : await this.store.db.transaction().execute((own) => this.#append([entry], own));
    return id!;
  }

  /**
   * Appends several events in the caller's transaction, in order, as `append` would one by one,
   * but with one lock of the head, one INSERT and one move of the head (a completed sign-in
   * records its step's events and `sign_in_succeeded` together). Returns their ids.
   */
  async appendAll(entries: readonly AuditEntry[], trx: Transaction<Database>): Promise<number[]> {
    return entries.length === 0 ? [] : this.#append(entries, trx);
  }

  async #append(list: readonly AuditEntry[], trx: Transaction<Database>): Promise<number[]> {
    const at = this.now();
    // The head row is made by the first append, in its transaction: a process that never appends
    // (most CLI commands) leaves no chain behind. If that transaction rolled back, the next makes it again.
    const head = (await this.#lockHead(trx)) ?? (await this.#createHead(trx, at));
    const ids = [head.id, ...(await this.#moreIds(trx, head.id, list.length - 1))];
    let prev = head.head_hash;
    const rows = list.map((entry, i) => {
      const row = {
        id: ids[i]!,
        at,
        type: entry.type,
        user_id: entry.userId ?? null,
        actor: clip(entry.actor),
        ip: clip(entry.ip),
        user_agent: clip(entry.userAgent),
        detail: JSON.stringify(Object.fromEntries(Object.entries(entry.detail ?? {}).map(([k, v]) => [k, typeof v === 'string' ? clip(v) : v]))),
        instance: this.instance,
        chain: this.chain,
        chain_seq: head.events + 1 + i,
      };
      const hash = chainMac3(this.key.key, prev, row);
      const stored = { ...row, prev_hash: prev, hash, chain_version: INSTANCE_CHAIN_VERSION };
      prev = hash;
      return stored;
    });
    await trx.insertInto('audit_events').values(rows).execute();
    const last = rows[rows.length - 1]!;
    await trx
      .updateTable('audit_chains')
      .set({ events: last.chain_seq, head_id: last.id, head_hash: last.hash, updated_at: at })
      .where('chain', '=', this.chain)
      .execute();
    return ids;
  }

  /** Ids after `first` for the rest of a batch: from the sequence on PostgreSQL, the next numbers on SQLite (its writer holds the one write lock). */
  async #moreIds(trx: Transaction<Database>, first: number, n: number): Promise<number[]> {
    if (n <= 0) return [];
    if (this.store.dialect !== 'postgres') return Array.from({ length: n }, (_, i) => first + 1 + i);
    const r = await sql<{ id: string | number }>`select nextval('audit_event_ids') as id from generate_series(1, ${n})`.execute(trx);
    return r.rows.map((row) => Number(row.id));
  }

  /**
   * Locks this chain's head row until commit and reads it: on PostgreSQL (and CockroachDB,
   * YugabyteDB) with FOR UPDATE, which after any wait returns the row as the previous holder
   * committed it; SQLite has no FOR UPDATE and needs none, its writer holding the database's one
   * write lock. A second append in the same transaction finds the row locked by itself. The id
   * comes in the same statement, so an append costs three statements, as the global lock's did
   * (lock, read the newest row, insert): lock and read, insert, move the head.
   */
  #lockHead(trx: Transaction<Database>) {
    const q = trx.selectFrom('audit_chains').select(['events', 'head_hash', this.#nextId.as('id')]).where('chain', '=', this.chain);
    return (this.store.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
  }

  async #createHead(trx: Transaction<Database>, at: number) {
    // On conflict: a concurrent first append of this process made it (waited for here until it committed).
    await trx
      .insertInto('audit_chains')
      .values({ chain: this.chain, head_id: 0, head_hash: GENESIS_HASH, events: 0, checkpointed: 0, instance: this.instance, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('chain').doNothing())
      .execute();
    const head = await this.#lockHead(trx);
    if (!head) throw new Error(`audit chain ${this.chain}: its head row vanished as it was made`);
    return head;
  }

  /**
   * Writes a checkpoint of every chain that moved since the newest one: their heads (length, id,
   * hash), MACed under the audit key and chained to the previous checkpoint. Returns its id, or
   * null when nothing moved. Any instance may run it at any time: checkpoints queue on the head
   * row of their own chain, and the heads they record are locked only for the checkpoint's short
   * transaction (each head once its in-flight append committed, so what it records is committed).
   */
  async checkpoint(): Promise<number | null> {
    // Cheap and lock-free: most beats of an idle deployment end here.
    const moved = await this.store.db
      .selectFrom('audit_chains')
      .select('chain')
      .where('chain', '<>', CHECKPOINT_CHAIN)
      .whereRef('events', '>', 'checkpointed')
      .limit(1)
      .executeTakeFirst();
    if (!moved) return null;
    try {
      return await this.store.db.transaction().execute(async (trx) => {
        // The checkpoints' own head first: two checkpoints never lock chain heads side by side.
        const prev = await trx
          .updateTable('audit_chains')
          .set((eb) => ({ events: eb('events', '+', 1) }))
          .where('chain', '=', CHECKPOINT_CHAIN)
          .returning(['events', 'head_hash'])
          .executeTakeFirstOrThrow();
        const heads = await trx
          .updateTable('audit_chains')
          .set((eb) => ({ checkpointed: eb.ref('events') }))
          .where('chain', '<>', CHECKPOINT_CHAIN)
          .whereRef('events', '>', 'checkpointed')
          .returning(['chain', 'events', 'head_id', 'head_hash'])
          .execute();
        if (heads.length === 0) throw new NothingMoved();
        const at = this.now();
        const row: CheckpointFields = {
          id: prev.events,
          at,
          instance: this.instance,
          heads: encodeHeads(heads.map((h) => ({ chain: h.chain, events: h.events, id: h.head_id, hash: h.head_hash }))),
        };
        const hash = checkpointMac(this.key.key, prev.head_hash, row);
        await trx.insertInto('audit_checkpoints').values({ ...row, prev_hash: prev.head_hash, hash }).execute();
        await trx.updateTable('audit_chains').set({ head_id: row.id, head_hash: hash, updated_at: at }).where('chain', '=', CHECKPOINT_CHAIN).execute();
        return row.id;
      });
    } catch (err) {
      if (err instanceof NothingMoved) return null;
      throw err;
    }
  }

  async list(opts: { after?: number; limit: number; userId?: string }): Promise<AuditEvent[]> {
    let q = this.store.db.selectFrom('audit_events').selectAll().orderBy('id', 'asc').limit(opts.limit);
    if (opts.after !== undefined) q = q.where('id', '>', opts.after);
    if (opts.userId) q = q.where('user_id', '=', opts.userId);
    return q.execute();
  }

  /**
   * Events matching the filters, newest first (`before` pages back) or oldest first (`after` pages
   * on). Times are inclusive of `from`, exclusive of `to`. The id orders events exactly (the chain
   * appends them in id order), so a page boundary never skips or repeats one.
   */
  async search(f: { userId?: string; types?: readonly string[]; from?: number; to?: number; before?: number; after?: number; order: 'asc' | 'desc'; limit: number }): Promise<AuditEvent[]> {
    let q = this.store.db.selectFrom('audit_events').selectAll();
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    if (f.types !== undefined && f.types.length > 0) q = q.where('type', 'in', [...f.types]);
    if (f.from !== undefined) q = q.where('at', '>=', f.from);
    if (f.to !== undefined) q = q.where('at', '<', f.to);
    if (f.before !== undefined) q = q.where('id', '<', f.before);
    if (f.after !== undefined) q = q.where('id', '>', f.after);
    return q.orderBy('id', f.order).limit(f.limit).execute();
  }

  async recentForUser(userId: string, limit: number): Promise<AuditEvent[]> {
    return this.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /**
   * Re-computes every chain and checkpoint page by page, under the key (and, for the single chain
   * from before migration 012, its anchor). Reads head rows, then checkpoints, then events: what an
   * earlier read promised is there in a later one, however many appends run meanwhile.
   */
  async verify(): Promise<LogCheck> {
    const db = this.store.db;
    const v = new LogVerifier(this.key);
    for (const head of await db.selectFrom('audit_chains').select(['chain', 'events', 'head_id', 'head_hash']).execute()) v.head(head);

    for (let after = 0; ; ) {
      const page = await db.selectFrom('audit_checkpoints').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute();
      if (page.length === 0 || !page.every((c) => v.checkpoint(c))) break;
      after = page[page.length - 1]!.id;
    }

    for (let after = 0; ; ) {
      const page = await db.selectFrom('audit_events').selectAll().where('chain', 'is', null).where('id', '>', after).orderBy('id').limit(PAGE).execute();
      if (page.length === 0 || !page.every((e) => v.legacy(e))) break;
      after = page[page.length - 1]!.id;
    }

    let from: { chain: string; seq: number } | undefined;
    for (;;) {
      let q = db.selectFrom('audit_events').selectAll().where('chain', 'is not', null);
      if (from) {
        const { chain, seq } = from;
        q = q.where((eb) => eb.or([eb('chain', '>', chain), eb.and([eb('chain', '=', chain), eb('chain_seq', '>', seq)])]));
      }
      const page = await q.orderBy('chain').orderBy('chain_seq').limit(PAGE).execute();
      for (const e of page) v.event(e);
      const last = page[page.length - 1];
      if (page.length < PAGE || !last || last.chain === null || last.chain_seq === null) break;
      from = { chain: last.chain, seq: last.chain_seq };
    }
    return v.result();
  }
}
