import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importHardwareTokens } from '../../src/flows/hardware-tokens.js';
import { hotp } from '../../src/methods/totp/otp.js';
import { databases } from '../helpers/db.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const code = (n: number) => hotp(Buffer.from('12345678901234567890'), BigInt(n), { algorithm: 'SHA1', digits: 8 });

describe.each(databases)('assigning a hardware token by serial ($name)', ({ name, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    const xml = readFileSync(new URL('../fixtures/pskc/rfc6030-figure6-aes128-psk.pskc', import.meta.url));
    await importHardwareTokens(server.services, xml, { psk: Buffer.from('12345678901234567890123456789012', 'hex') }, 'test', { ip: null, userAgent: null });
  });
  afterAll(async () => server?.close());

  it.skipIf(skip)('says a serial is taken only to someone who holds the token (right codes first)', async () => {
    for (const email of ['holder@example.com', 'prober@example.com', 'finder@example.com']) await createTestUser(server, email);
    const holder = await signIn(server, 'holder@example.com');
    expect((await holder.post('/api/v1/me/mfa-devices/hardware', { name: 'Token', serial: '987654321', code1: code(0), code2: code(1) })).status).toBe(201);

    // Without the token, an assigned serial answers exactly like an unknown one.
    const prober = await signIn(server, 'prober@example.com');
    const assigned = await prober.post('/api/v1/me/mfa-devices/hardware', { name: 'Mine?', serial: '987654321', code1: '12345678', code2: '23456789' });
    const unknown = await prober.post('/api/v1/me/mfa-devices/hardware', { name: 'Mine?', serial: '000000000', code1: '12345678', code2: '23456789' });
    expect(assigned.status).toBe(400);
    expect(assigned.body).toMatchObject({ code: 'invalid_code' });
    expect(assigned.text).toBe(unknown.text);

    // Holding it (the right consecutive codes): then it may say so.
    const finder = await signIn(server, 'finder@example.com');
    const taken = await finder.post('/api/v1/me/mfa-devices/hardware', { name: 'Found', serial: '987654321', code1: code(5), code2: code(6) });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ code: 'token_in_use' });
  });
});
