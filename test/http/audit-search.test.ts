import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases } from '../helpers/db.js';
import { adminAtAal2 } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';
import type { Client } from '../helpers/client.js';

interface Page {
  events: Array<{ id: number; at: string; type: string; userId: string | null }>;
  next: number | null;
}

describe.each(databases)('admin audit: filters, newest first, paging, export ($name)', ({ name, skip }) => {
  let server: TestServer;
  let admin: Client;
  let userId: string;
  let start: number;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    admin = (await adminAtAal2(server, 'root@example.com')).client;
    start = server.clock.now();
    userId = (await createTestUser(server, 'kai@example.com')).id;
    for (let i = 0; i < 7; i++) {
      server.clock.advance(60_000);
      await server.client().post('/api/v1/sign-in', { email: 'kai@example.com', password: `wrong password number ${i}` });
    }
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('order=desc pages back with next; filters by user, type and time; the default stays oldest first', async () => {
    const seen: number[] = [];
    let url = `/api/v1/admin/audit?order=desc&limit=3&userId=${userId}&type=sign_in_failed`;
    for (;;) {
      const r = await admin.get<Page>(url);
      expect(r.status, r.text).toBe(200);
      for (const e of r.body.events) {
        expect(e.userId).toBe(userId);
        expect(e.type).toBe('sign_in_failed');
      }
      seen.push(...r.body.events.map((e) => e.id));
      if (r.body.next === null) break;
      url = `/api/v1/admin/audit?order=desc&limit=3&userId=${userId}&type=sign_in_failed&before=${r.body.next}`;
    }
    expect(seen).toHaveLength(7);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);

    const from = new Date(start + 3 * 60_000 - 1).toISOString();
    const to = new Date(start + 5.5 * 60_000).toISOString();
    const window = await admin.get<Page>(`/api/v1/admin/audit?order=desc&type=sign_in_failed&from=${from}&to=${to}`);
    expect(window.body.events).toHaveLength(3);

    const several = await admin.get<Page>(`/api/v1/admin/audit?type=sign_in_failed,user_created&userId=${userId}`);
    expect(new Set(several.body.events.map((e) => e.type))).toEqual(new Set(['sign_in_failed', 'user_created']));

    const asc = await admin.get<Page>('/api/v1/admin/audit?limit=2');
    expect(asc.body.events[0]!.id).toBeLessThan(asc.body.events[1]!.id);
    const after = await admin.get<Page>(`/api/v1/admin/audit?limit=2&after=${asc.body.next}`);
    expect(after.body.events[0]!.id).toBeGreaterThan(asc.body.events[1]!.id);
  });

  it.skipIf(skip)('bad filters are a 400, never a 5xx', async () => {
    for (const q of ['from=yesterday', 'to=2026-13-45T00:00:00Z', 'type=DROP%20TABLE', 'type=a,,b', 'before=1&after=2', 'order=sideways', 'limit=-1', 'userId=', 'extra=1']) {
      const r = await admin.get(`/api/v1/admin/audit?${q}`);
      expect(r.status, q).toBe(400);
    }
  });

  it.skipIf(skip)('exports the matching events as JSON lines, oldest first, and needs an administrator', async () => {
    const r = await admin.get(`/api/v1/admin/audit/export?userId=${userId}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = r.text.trim().split('\n').map((l) => JSON.parse(l) as { id: number; userId: string; hash: string });
    const listed = await admin.get<Page>(`/api/v1/admin/audit?userId=${userId}&limit=1000`);
    expect(lines.map((l) => l.id)).toEqual(listed.body.events.map((e) => e.id));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.every((l) => l.userId === userId && /^[0-9a-f]{64}$/.test(l.hash))).toBe(true);
    expect(lines.map((l) => l.id)).toEqual([...lines.map((l) => l.id)].sort((a, b) => a - b));
    const plain = await signIn(server, 'kai@example.com').catch(() => undefined);
    if (plain) expect((await plain.get('/api/v1/admin/audit/export')).status).toBe(403);
    expect((await server.client().get('/api/v1/admin/audit/export')).status).toBe(401);
  });
});

describe('mamori audit export', () => {
  it('writes the filtered log as JSON lines; bad options are exit 2', async () => {
    const { runMamori, cliEnvFor } = await import('../helpers/cli.js');
    const server = await startServer();
    try {
      const made = await createTestUser(server, 'ren@example.com');
      await server.client().post('/api/v1/sign-in', { email: 'ren@example.com', password: 'not the password at all' });
      const env = cliEnvFor(server);
      const all = await runMamori(['audit', 'export'], env);
      expect(all.status, all.stderr).toBe(0);
      const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; type: string; userId: string | null });
      expect(lines.map((l) => l.id)).toEqual([...lines.map((l) => l.id)].sort((x, y) => x - y));
      const mine = await runMamori(['audit', 'export', '--email', 'ren@example.com', '--type', 'sign_in_failed'], env);
      const mineLines = mine.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; userId: string });
      expect(mineLines).toHaveLength(1);
      expect(mineLines[0]).toMatchObject({ type: 'sign_in_failed', userId: made.id });
      expect((await runMamori(['audit', 'export', '--from', 'yesterday'], env)).status).toBe(2);
      expect((await runMamori(['audit', 'export', '--type', 'x;y'], env)).status).toBe(2);
      expect((await runMamori(['audit', 'export', '--email', 'nobody@example.com'], env)).status).toBe(1);
    } finally {
      await server.close();
    }
  });
});
