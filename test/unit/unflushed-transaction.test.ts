import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { databases, freshStore } from '../helpers/db.js';

/**
 * Store.unflushedTransaction (src/store/db.ts): an attempt's reservation commits without waiting
 * for the disk, and nothing else does. SQLite sets its safety level around the transaction, on
 * the one connection, so a transaction queued meanwhile still commits with synchronous=FULL;
 * PostgreSQL turns synchronous_commit off for that transaction only.
 */
describe.each(databases)('a transaction that does not wait for the disk ($name)', ({ name, skip }) => {
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  /** SQLite's safety level (2 = FULL, 1 = NORMAL), or PostgreSQL's synchronous_commit, as the statement's own connection sees it. */
  const level = async (db: Pick<Store['db'], 'executeQuery'> = store.db): Promise<string> => {
    const q = name === 'sqlite' ? sql<{ synchronous: number }>`pragma synchronous` : sql<{ synchronous_commit: string }>`show synchronous_commit`;
    const row = (await db.executeQuery(q.compile(store.db))).rows[0] as { synchronous?: number; synchronous_commit?: string };
    return String(row.synchronous ?? row.synchronous_commit);
  };
  const durable = name === 'sqlite' ? '2' : 'on';
  const unflushed = name === 'sqlite' ? '1' : 'off';

  beforeAll(async () => {
    if (skip) return;
    ({ store, close } = await freshStore(name));
  });
  afterAll(async () => {
    await close?.();
  });

  const row = (key: string) => store.db.selectFrom('attempt_budgets').select(['key', 'pending']).where('key', '=', key).executeTakeFirst();
  const insert = (db: Pick<Store['db'], 'insertInto'>, key: string) =>
    db.insertInto('attempt_budgets').values({ key, failures: 0, pending: 1, lease_until: 0, window_start: 0, blocked_until: 0, updated_at: 0 }).execute();

  it.skipIf(skip)('commits what it did without waiting, and every other transaction still waits', async () => {
    expect(await level()).toBe(durable);
    let inside = '';
    await store.unflushedTransaction(async (trx) => {
      inside = await level(trx);
      await insert(trx, 'unflushed:a');
    });
    expect(inside).toBe(unflushed);
    expect(await row('unflushed:a')).toEqual({ key: 'unflushed:a', pending: 1 });
    expect(await level()).toBe(durable);
    // A durable transaction asked for while an unflushed one is open commits as every other does.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = store.unflushedTransaction(async (trx) => {
      await insert(trx, 'unflushed:b');
      await held;
    });
    await new Promise((r) => setTimeout(r, 20));
    const second = store.db.transaction().execute(async (trx) => {
      const seen = await level(trx);
      await insert(trx, 'unflushed:c');
      return seen;
    });
    await new Promise((r) => setTimeout(r, 20));
    release();
    await first;
    expect(await second).toBe(durable);
    expect(await level()).toBe(durable);
  });

  it.skipIf(skip)('rolls back on an error, and the level is restored', async () => {
    await expect(
      store.unflushedTransaction(async (trx) => {
        await insert(trx, 'unflushed:d');
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await row('unflushed:d')).toBeUndefined();
    expect(await level()).toBe(durable);
  });
});
