/**
 * `POST /api/v1/admin/hardware-tokens` with a JSON body `{pskc, key?, passphrase?}`, as the console
 * sends a file and its key or passphrase: beside the raw XML with the Mamori-PSKC-* headers, which
 * keeps working unchanged. A passphrase in JSON may be in any script (a header carries Latin-1 at
 * most); a wrong one is refused with the importer's reason and imports nothing.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotp, timeStep } from '../../src/methods/totp/otp.js';
import type { Client } from '../helpers/client.js';
import { adminAtAal2 } from '../helpers/otp.js';
import { encryptedPskc, RFC6238_SECRET } from '../helpers/pskc-file.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pskc/${name}`, import.meta.url), 'utf8');
const FIGURE6 = fixture('rfc6030-figure6-aes128-psk.pskc');
const FIGURE7 = fixture('rfc6030-figure7-pbkdf2.pskc');
const FIGURE6_PSK = '12345678901234567890123456789012';
const PATH = '/api/v1/admin/hardware-tokens';

describe('PSKC import as JSON', () => {
  let server: TestServer;
  let admin: Client;

  beforeAll(async () => {
    server = await startServer();
    admin = (await adminAtAal2(server, 'root@example.com')).client;
  });
  afterAll(async () => {
    await server?.close();
  });

  const serials = async () => ((await admin.get<{ tokens: { serial: string }[] }>(PATH)).body.tokens ?? []).map((x) => x.serial).sort();

  it('imports RFC 6030 Figure 6 with its pre-shared key in the body; the raw XML with the header still works and skips the serial', async () => {
    const ok = await admin.post(PATH, { pskc: FIGURE6, key: FIGURE6_PSK });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ imported: 1, skipped: [] });
    const raw = await admin.request('POST', PATH, FIGURE7, { 'content-type': 'application/pskc+xml', 'mamori-pskc-password': 'qwerty' });
    expect(raw.status, raw.text).toBe(200);
    expect(raw.body).toEqual({ imported: 0, skipped: [{ serial: '987654321', reason: 'duplicate_serial' }] });
    expect(await serials()).toEqual(['987654321']);
  });

  it('takes a passphrase in Japanese, and the imported token computes the RFC 6238 codes', async () => {
    const passphrase = '合言葉はやまびこ、二〇二六年';
    const xml = encryptedPskc([{ serial: 'JA-0001' }, { serial: 'JA-0002', digits: 8 }], { passphrase });
    const wrong = await admin.post(PATH, { pskc: xml, passphrase: '合言葉はこだま' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 'validation_failed' });
    expect(['pskc_decrypt_failed', 'pskc_mac_mismatch']).toContain((wrong.body as { reason: string }).reason);
    expect(await serials()).toEqual(['987654321']);

    const ok = await admin.post(PATH, { pskc: xml, passphrase });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ imported: 2, skipped: [] });

    // The secret came through the passphrase intact: a user assigns the token with its codes.
    await createTestUser(server, 'kenji@example.com');
    const kenji = await signIn(server, 'kenji@example.com');
    const step = timeStep(server.clock.now(), 30);
    const code = (n: bigint) => hotp(RFC6238_SECRET, n, { algorithm: 'SHA1', digits: 6 });
    const assigned = await kenji.post('/api/v1/me/mfa-devices/hardware', { name: 'Token', serial: 'JA-0001', code1: code(step), code2: code(step + 1n) });
    expect(assigned.status, assigned.text).toBe(201);
    const inventory = await admin.get<{ tokens: { serial: string; digits: number; assignedTo: string | null }[] }>(PATH);
    expect(inventory.body.tokens.find((x) => x.serial === 'JA-0001')).toMatchObject({ digits: 6, assignedTo: 'kenji@example.com' });
    expect(inventory.body.tokens.find((x) => x.serial === 'JA-0002')).toMatchObject({ digits: 8, assignedTo: null });
  });

  it('refuses an encrypted file without its key, a bad key, unknown fields, and keys in both places', async () => {
    const missing = await admin.post(PATH, { pskc: encryptedPskc([{ serial: 'NOKEY-1' }], { psk: Buffer.from(FIGURE6_PSK, 'hex') }) });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'validation_failed', reason: 'pskc_key_required' });
    for (const body of [{ pskc: FIGURE6, key: 'zz' }, { pskc: FIGURE6, key: FIGURE6_PSK, serial: 'x' }, { pskc: '', key: FIGURE6_PSK }, { key: FIGURE6_PSK }, { pskc: FIGURE6, passphrase: '' }]) {
      const r = await admin.post(PATH, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body).toMatchObject({ code: 'validation_failed' });
    }
    const both = await admin.post(PATH, { pskc: FIGURE6, key: FIGURE6_PSK }, { 'mamori-pskc-password': 'qwerty' });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ code: 'validation_failed' });
    expect(await serials()).toEqual(['987654321', 'JA-0001', 'JA-0002']);
  });

  it('is described in the OpenAPI document, beside the headers', async () => {
    const doc = (await server.client().get<{ paths: Record<string, { post: { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> }; parameters?: { name: string }[] } }> }>('/openapi.json')).body;
    const op = doc.paths[PATH]!.post;
    expect(Object.keys(op.requestBody!.content)).toEqual(['application/json']);
    expect(Object.keys(op.requestBody!.content['application/json']!.schema.properties).sort()).toEqual(['key', 'passphrase', 'pskc']);
    expect(op.parameters?.map((p) => p.name).sort()).toEqual(['mamori-pskc-key', 'mamori-pskc-password']);
  });
});
