import { sql, type Transaction } from 'kysely';
import { chainMac, ChainVerifier, GENESIS_HASH, type ChainCheck, type ChainKey } from '../audit/chain.js';
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

/** The version every new row is written with: HMAC-SHA256 under the audit key. */
const CHAIN_VERSION = 2;

/** The append-only security log, each row MAC-chained to the previous one. */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly instance: string | null,
    private readonly key: ChainKey,
  ) {}

  /**
   * Loads (or, on first use, creates) the audit key before the log takes any row, so the key is
   * committed before an append inside a caller's transaction uses it: a key created in a
   * transaction that then rolled back would leave this process MACing under a key nobody has.
   */
  static async open(store: Store, box: SecretBox, now: () => number, instance: string | null = null): Promise<AuditLog> {
    return new AuditLog(store, now, instance, await loadAuditKey(store.db, box));
  }

  /**
   * Appends one event. Given `trx`, the event commits or rolls back with the change it records
   * (the caller's transaction); otherwise it gets a transaction of its own. The first append takes
   * the chain's lock until commit, so a transaction appends after it wrote its rows: taken in that
   * one order everywhere, the row locks and the chain's lock never wait on each other in a cycle.
   */
  async append(entry: AuditEntry, trx?: Transaction<Database>): Promise<number> {
    return trx ? this.#append(entry, trx) : this.store.db.transaction().execute((own) => this.#append(entry, own));
  }

  async #append(entry: AuditEntry, trx: Transaction<Database>): Promise<number> {
    const detail = JSON.stringify(
      Object.fromEntries(Object.entries(entry.detail ?? {}).map(([k, v]) => [k, typeof v === 'string' ? clip(v) : v])),
    );
    // One writer at a time across instances, so every row links to its true predecessor.
    if (this.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7243001)`.execute(trx);
    const last = await trx
      .selectFrom('audit_events')
      .select(['id', 'hash'])
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const row = {
      id: (last?.id ?? 0) + 1,
      at: this.now(),
      type: entry.type,
      user_id: entry.userId ?? null,
      actor: clip(entry.actor),
      ip: clip(entry.ip),
      user_agent: clip(entry.userAgent),
      detail,
      instance: this.instance,
    };
    const prev = last?.hash ?? GENESIS_HASH;
    await trx
      .insertInto('audit_events')
      .values({ ...row, prev_hash: prev, hash: chainMac(this.key.key, prev, row), chain_version: CHAIN_VERSION })
      .execute();
    return row.id;
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

  /** Re-computes the whole chain page by page, under the key and its anchor. */
  async verify(): Promise<ChainCheck> {
    const verifier = new ChainVerifier(this.key);
    let after = 0;
    for (;;) {
      const page = await this.list({ after, limit: 1000 });
      if (page.length === 0) return verifier.result();
      for (const row of page) if (!verifier.add(row)) return verifier.result();
      after = page[page.length - 1]!.id;
    }
  }
}
