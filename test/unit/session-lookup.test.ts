import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/crypto/tokens.js';
import type { Store } from '../../src/store/db.js';
import { SessionRepository } from '../../src/store/sessions.js';
import { databases, freshStore } from '../helpers/db.js';

/**
 * The session lookup runs on every signed-in request and every forward-auth check, beside
 * transactions that end sessions: it sees what they committed and never what they have not.
 */
describe.each(databases)('the live-session lookup ($name)', ({ name, skip }) => {
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  let sessions: SessionRepository;
  const now = Date.now();
  const userId = newId();

  beforeAll(async () => {
    if (skip) return;
    ({ store, close } = await freshStore(name));
    await store.db
      .insertInto('users')
      .values({ id: userId, email: 'lookup@example.com', name: 'Lookup', role: 'user', locale: 'en', password_hash: null, password_changed_at: null, disabled: 0, created_at: now, last_sign_in_at: null, webauthn_user_handle: newId(), force_password_change: 0 })
      .execute();
    sessions = new SessionRepository(store, { idleMs: 3_600_000, absoluteMs: 86_400_000 });
  });
  afterAll(async () => {
    await close?.();
  });

  const open = () => sessions.create({ userId, aal: 2, amr: ['pwd', 'otp'], mfaSetupOnly: false, now, mfaVerifiedAt: now, ip: null, userAgent: null });

  it.skipIf(skip)('finds a live session with its user, and nothing for an unknown or ended one', async () => {
    const { token, session } = await open();
    const found = await sessions.findLiveWithUser(token, now + 1_000);
    expect(found?.session.id).toBe(session.id);
    expect(found?.user).toMatchObject({ id: userId, email: 'lookup@example.com', name: 'Lookup', role: 'user' });
    expect(await sessions.findLiveWithUser('not-a-token', now + 1_000)).toBeUndefined();
    expect(await sessions.findLiveWithUser(token, now + 86_400_001)).toBeUndefined();
    await sessions.revoke(userId, session.id, now + 2_000);
    expect(await sessions.findLiveWithUser(token, now + 3_000)).toBeUndefined();
  });

  it.skipIf(skip)('waits for an open transaction and sees only what it committed', async () => {
    const { token, session } = await open();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    // A sign-out in progress: the session is revoked inside a transaction that has not committed yet.
    const signOut = store.db.transaction().execute(async (trx) => {
      await sessions.within(trx).revoke(userId, session.id, now + 1_000);
      entered();
      await held;
    });
    await inside;
    let answered = false;
    const lookup = sessions.findLiveWithUser(token, now + 2_000).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    // SQLite has one connection: the lookup waits its turn. PostgreSQL reads the committed row at once: still live.
    if (name === 'sqlite') expect(answered).toBe(false);
    release();
    await signOut;
    const found = await lookup;
    if (name === 'sqlite') expect(found).toBeUndefined();
    else expect(found?.session.id).toBe(session.id);
    expect(await sessions.findLiveWithUser(token, now + 3_000)).toBeUndefined();
  });
});
