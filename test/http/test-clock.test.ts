import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';

describe('the server-side test clock (MAMORI_TEST_CLOCK)', () => {
  let on: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    on = await startServer({ env: { MAMORI_TEST_CLOCK: 'true' } });
    off = await startServer();
  });
  afterAll(async () => {
    await on?.close();
    await off?.close();
  });

  it('moves server time over HTTP, so black-box tests need not sleep', async () => {
    await createTestUser(on, 'tick@example.com');
    const c = on.client();
    await c.post('/api/v1/sign-in', { email: 'tick@example.com', password: STRONG_PASSWORD });
    const code = await on.lastCode('tick@example.com');
    const moved = await on.client().post<{ now: string }>('/api/v1/test/clock', { advanceSeconds: 601 });
    expect(moved.status).toBe(200);
    expect(Date.parse(moved.body.now) - Date.now()).toBeGreaterThan(590_000);
    expect((await c.post('/api/v1/sign-in/email-code', { code })).status).toBe(401);
    expect((await on.client().post('/api/v1/test/clock', { advanceSeconds: 'x' })).status).toBe(400);
  });

  it('does not exist unless switched on', async () => {
    expect((await off.client().post('/api/v1/test/clock', { advanceSeconds: 60 })).status).toBe(404);
  });
});
