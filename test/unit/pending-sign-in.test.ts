import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { SignInRepository } from '../../src/store/sign-in.js';
import { databases, freshStore } from '../helpers/db.js';

/**
 * SignInRepository.start with `waitForDisk: false` (src/store/sign-in.ts): on SQLite the pending
 * sign-in a password step leaves for the second factor commits through Store.unflushedTransaction,
 * and only when it stands alone; inside a caller's transaction it is part of that transaction and
 * commits (or rolls back) with it, as a sign-in whose code and audit event commit together must.
 * On PostgreSQL, whose flush blocks no thread of the server, it stays one autocommitted statement.
 */
describe.each(databases)('a pending sign-in that does not wait for the disk ($name)', ({ name, skip }) => {
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  let unflushed = 0;
  let repo: SignInRepository;

  beforeAll(async () => {
    if (skip) return;
    ({ store, close } = await freshStore(name));
    repo = new SignInRepository({
      ...store,
      unflushedTransaction: (work) => {
        unflushed++;
        return store.unflushedTransaction(work);
      },
    });
    await store.db
      .insertInto('users')
      .values({ id: 'u1', email: 'u1@example.com', name: 'U1', role: 'user', locale: 'en', password_hash: 'x', password_changed_at: 0, disabled: 0, created_at: 0, webauthn_user_handle: 'h1', force_password_change: 0 })
      .execute();
  });
  afterAll(async () => {
    await close?.();
  });

  const pending = { userId: 'u1', step: 'mfa' as const, amr: ['pwd'], now: 1_000, ttlMs: 300_000, ip: '127.0.0.1', userAgent: null };

  it.skipIf(skip)('alone, it commits without waiting on SQLite (as one statement on PostgreSQL) and is found by its token', async () => {
    const before = unflushed;
    const { token, transaction } = await repo.start(pending, { waitForDisk: false });
    expect(unflushed).toBe(before + (name === 'sqlite' ? 1 : 0));
    expect(await repo.findOpen(token, 2_000)).toEqual(transaction);
  });

  it.skipIf(skip)('without the option, it waits for the disk as every other write', async () => {
    const before = unflushed;
    const { token } = await repo.start(pending);
    expect(unflushed).toBe(before);
    expect(await repo.findOpen(token, 2_000)).toBeDefined();
  });

  it.skipIf(skip)("inside a caller's transaction, it rolls back with it", async () => {
    const before = unflushed;
    let token = '';
    await expect(
      store.db.transaction().execute(async (trx) => {
        ({ token } = await repo.within(trx).start(pending, { waitForDisk: false }));
        expect(await repo.within(trx).findOpen(token, 2_000)).toBeDefined();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(unflushed).toBe(before);
    expect(await repo.findOpen(token, 2_000)).toBeUndefined();
  });
});
