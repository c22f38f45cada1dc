import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpired } from '../../src/flows/housekeeping.js';
import { databases } from '../helpers/db.js';
import { unknownEmailKey } from '../../src/flows/password-attempt.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

describe.each(databases)('housekeeping ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
  });
  afterAll(async () => server?.close());

  const count = async (table: 'sign_in_transactions' | 'email_codes' | 'sessions' | 'attempt_budgets' | 'webauthn_challenges' | 'mfa_devices') =>
    Number((await server.services.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it.skipIf(skip)('deletes what can no longer matter and keeps what still bounds an attacker', async () => {
    await createTestUser(server, 'keep@example.com');
    await server.client().post('/api/v1/sign-in', { email: 'quiet-ghost@example.com', password: 'wrong but long enough' });
    for (let i = 0; i < 5; i++) {
      await server.client().post('/api/v1/sign-in', { email: 'busy-ghost@example.com', password: 'wrong but long enough' });
      server.clock.advance(3_600_000);
    }
    const old = await signIn(server, 'keep@example.com');
    expect((await old.post('/api/v1/me/mfa-devices/totp', { name: 'Never activated' })).status).toBe(201);
    await server.client().post('/api/v1/sign-in/passkey-options', {});
    expect(await count('sign_in_transactions')).toBeGreaterThan(0);
    expect(await count('email_codes')).toBeGreaterThan(0);

    // Nothing live goes.
    const none = await purgeExpired(server.services);
    expect(none).toMatchObject({ signIns: 0, sessions: 0, attemptBudgets: 0, challenges: 0, pendingDevices: 0 });
    const budgetsBefore = await count('attempt_budgets');

    // A failed attempt opens this address's failure window, which ends after 10 minutes.
    await server.client().post('/api/v1/sign-in', { email: 'keep@example.com', password: 'wrong but long enough' });
    server.clock.advance(31 * 24 * 3_600_000);
    const fresh = await signIn(server, 'keep@example.com');
    const purged = await purgeExpired(server.services);
    expect(purged.signIns).toBeGreaterThan(0);
    expect(purged.sessions).toBeGreaterThan(0);
    expect(purged.challenges).toBe(1);
    expect(purged.pendingDevices).toBe(1);
    // The quiet unknown email and the ended passkey-challenge window (the fresh sign-in opened new windows).
    expect(purged.attemptBudgets).toBe(2);
    expect(await count('attempt_budgets')).toBeLessThan(budgetsBefore + 3);
    const keys = (await server.services.store.db.selectFrom('attempt_budgets').select('key').execute()).map((r) => r.key);
    expect(keys.some((k) => k.startsWith('passkey_challenges:'))).toBe(false);
    expect(await count('email_codes')).toBe(1); // only the fresh sign-in's
    expect(await count('webauthn_challenges')).toBe(0);
    // The live session and the counter that reached the back-off stay.
    expect((await fresh.get('/api/v1/session')).status).toBe(200);
    const ghostBudget = (email: string) => server.services.regulator.password({ unknownEmailKey: unknownEmailKey(server.services, email) }).key;
    const ghosts = await server.services.store.db.selectFrom('attempt_budgets').selectAll().where('key', 'in', [ghostBudget('busy-ghost@example.com'), ghostBudget('quiet-ghost@example.com')]).execute();
    expect(ghosts).toHaveLength(1);
    expect(ghosts[0]!.key).toBe(ghostBudget('busy-ghost@example.com'));
    expect(ghosts[0]!.failures).toBe(5);
    expect((await server.client().post('/api/v1/sign-in', { email: 'keep@example.com', password: STRONG_PASSWORD })).status).toBe(200);
  });
});
