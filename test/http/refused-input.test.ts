import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databases } from '../helpers/db.js';
import { STRONG_PASSWORD, createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

/**
 * Input that gets past the usual checks only to fail further in: text PostgreSQL cannot store,
 * and requests Node's HTTP parser refuses before any route. Each is a 4xx problem+json that
 * changes nothing, on both databases.
 */
describe.each(databases)('input refused before it reaches the database or a route ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('U+0000 in JSON text, a path parameter, a query or an OpenID Connect id is a 400 and changes nothing (PostgreSQL cannot store it)', async () => {
    await createTestUser(server, 'nul@example.com');
    const c = await signIn(server, 'nul@example.com', STRONG_PASSWORD);
    const before = (await c.get<{ user: { name: string } }>('/api/v1/session')).body.user.name;
    const refusals = [
      await c.patch('/api/v1/me', { name: 'a\u0000b' }),
      await c.patch('/api/v1/me', { ['na\u0000me']: 'x' }),
      await c.post('/api/v1/me/mfa-devices/totp', { name: '\u0000' }),
      await server.client().post('/api/v1/sign-in', { email: 'nul\u0000@example.com', password: STRONG_PASSWORD }),
      await c.delete('/api/v1/me/sessions/%00'),
      await c.get('/api/v1/me/activity?cursor=%00'),
    ];
    for (const r of refusals) {
      expect(r.status, r.text).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'validation_failed' });
    }
    expect((await c.get<{ user: { name: string } }>('/api/v1/session')).body.user.name).toBe(before);
    expect((await c.get<{ devices: unknown[] }>('/api/v1/me/mfa-devices')).body.devices ?? []).toEqual([]);
    // The OpenID Connect library's own endpoints look the id up in the store: no client, not a 500.
    const auth = await server.client().get('/oidc/auth?client_id=%00&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Frp.example%2Fcb');
    expect(auth.status, auth.text.slice(0, 200)).toBe(400);
    const token = await fetch(`${server.url}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x&client_id=%00',
    });
    expect(token.status).toBe(401);
    expect(await token.json()).toMatchObject({ error: 'invalid_client' });
  });

  it.skipIf(skip)('a request the HTTP parser refuses gets problem+json and a closed connection', async () => {
    const { hostname, port } = new URL(server.url);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: hostname, port: Number(port) });
        let answer = '';
        socket.on('data', (d) => (answer += d.toString('latin1')));
        socket.on('error', reject);
        socket.on('close', () => resolve(answer));
        socket.end(request);
      });
    const cases: Array<[string, number, string]> = [
      ['POST /api/v1/sign-in HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, 'validation_failed'],
      ['POST /api/v1/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'validation_failed'],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ['GET /api/v1/session HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
      ['GET /oidc/auth HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
    ];
    for (const [request, status, code] of cases) {
      const answer = await raw(request);
      const [head, body] = answer.split('\r\n\r\n') as [string, string];
      expect(head.split('\r\n')[0]).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
      expect(head).toMatch(/\r\ncontent-type: application\/problem\+json/i);
      expect(head).toMatch(/\r\nconnection: close(\r\n|$)/i);
      expect(JSON.parse(body)).toMatchObject({ status, code });
    }
    expect((await server.client().get('/healthz')).status).toBe(200);
  });
});
