/**
 * Issue 7, item 5, over HTTP: hostile PSKC files sent to `POST /api/v1/admin/hardware-tokens` by an
 * administrator at aal 2 are refused with a 4xx problem+json carrying a reason, import nothing,
 * never cause a 5xx, and are answered quickly; the fixtures still import. On SQLite and PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PBKDF2_ITERATIONS } from '../../src/hardware-tokens/pskc.js';
import type { Answer, Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { assignApp } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pskc/${name}`, import.meta.url), 'utf8');
const PLAINTEXT = fixture('totp-plaintext.pskc');
const FIGURE6 = fixture('rfc6030-figure6-aes128-psk.pskc');
const FIGURE7 = fixture('rfc6030-figure7-pbkdf2.pskc');
const FIGURE6_PSK = '12345678901234567890123456789012';
const FIGURE7_PASSWORD = 'qwerty';
/** A 20-byte seed (RFC 4226's), as base64. */
const SEED20 = Buffer.from('12345678901234567890').toString('base64');

const NS = 'xmlns="urn:ietf:params:xml:ns:keyprov:pskc"';
const container = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<KeyContainer Version="1.0" ${NS}>\n${body}\n</KeyContainer>\n`;

/** One plaintext HOTP key package; `data` replaces the default <Counter>. */
function hotpPackage(serial: string, opts: { seed?: string; counter?: string; data?: string } = {}): string {
  const counter = opts.counter === undefined ? '' : `<Counter><PlainValue>${opts.counter}</PlainValue></Counter>`;
  return `<KeyPackage>
  <DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>${serial}</SerialNo></DeviceInfo>
  <Key Id="${serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
    <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
    <Data><Secret><PlainValue>${opts.seed ?? SEED20}</PlainValue></Secret>${counter}${opts.data ?? ''}</Data>
  </Key>
</KeyPackage>`;
}
const hotpFile = (serial: string, opts: Parameters<typeof hotpPackage>[1] = {}) => container(hotpPackage(serial, opts));
const seedOf = (bytes: number) => Buffer.alloc(bytes, 0x5a).toString('base64');

interface Hostile {
  name: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** The `reason` (a PskcError code) the refusal must carry; undefined for refusals before the importer (413). */
  reasons?: string[];
  status?: number;
}

const deep = (depth: number) => container(`<KeyPackage>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</KeyPackage>`);

const HOSTILE: Hostile[] = [
  { name: 'Counter 2^53', body: hotpFile('C53', { counter: String(2n ** 53n) }), reasons: ['pskc_unsupported'] },
  { name: 'Counter 2^53 + 1', body: hotpFile('C53P1', { counter: String(2n ** 53n + 1n) }), reasons: ['pskc_unsupported'] },
  { name: 'Counter 2^64', body: hotpFile('C64', { counter: String(2n ** 64n) }), reasons: ['pskc_unsupported'] },
  { name: 'Counter 2^64 - 1 (uint64 max)', body: hotpFile('C64M1', { counter: '18446744073709551615' }), reasons: ['pskc_unsupported'] },
  { name: 'Counter of 60 000 digits', body: hotpFile('CLONG', { counter: '9'.repeat(60_000) }), reasons: ['pskc_unsupported'] },
  { name: 'negative Counter', body: hotpFile('CNEG', { counter: '-1' }), reasons: ['pskc_invalid_xml', 'pskc_unsupported'] },
  { name: 'Counter -2^63', body: hotpFile('CNEG63', { counter: String(-(2n ** 63n)) }), reasons: ['pskc_invalid_xml', 'pskc_unsupported'] },
  { name: 'Counter 1e3 (not an integer)', body: hotpFile('CEXP', { counter: '1e3' }), reasons: ['pskc_invalid_xml'] },
  { name: 'Counter 0x10', body: hotpFile('CHEX', { counter: '0x10' }), reasons: ['pskc_invalid_xml'] },
  { name: '1-byte seed', body: hotpFile('S1', { seed: seedOf(1) }), reasons: ['pskc_unsupported'] },
  { name: '15-byte seed', body: hotpFile('S15', { seed: seedOf(15) }), reasons: ['pskc_unsupported'] },
  { name: 'empty seed', body: hotpFile('S0', { seed: '' }), reasons: ['pskc_invalid_xml', 'pskc_unsupported'] },
  { name: '65-byte seed for HMAC-SHA1', body: hotpFile('S65', { seed: seedOf(65) }), reasons: ['pskc_unsupported'] },
  { name: 'TimeInterval 0', body: hotpFile('TI0', { data: '<TimeInterval><PlainValue>0</PlainValue></TimeInterval>' }), reasons: ['pskc_unsupported', 'pskc_invalid_xml'] },
  { name: 'Time 2^63', body: hotpFile('T63', { data: `<Time><PlainValue>${2n ** 63n}</PlainValue></Time>` }), reasons: ['pskc_unsupported'] },
  {
    name: 'a valid package followed by a hostile one (all or nothing)',
    body: container(hotpPackage('GOOD-1') + hotpPackage('BAD-2', { counter: String(2n ** 64n) })),
    reasons: ['pskc_unsupported'],
  },
  {
    name: 'PBKDF2 asking for 10 000 000 iterations',
    body: FIGURE7.replace('<IterationCount>1000</IterationCount>', '<IterationCount>10000000</IterationCount>'),
    headers: { 'mamori-pskc-password': FIGURE7_PASSWORD },
    reasons: ['pskc_unsupported'],
  },
  {
    name: 'PBKDF2 asking for 2^64 iterations',
    body: FIGURE7.replace('<IterationCount>1000</IterationCount>', `<IterationCount>${2n ** 64n}</IterationCount>`),
    headers: { 'mamori-pskc-password': FIGURE7_PASSWORD },
    reasons: ['pskc_unsupported'],
  },
  {
    name: 'PBKDF2 asking for 0 iterations',
    body: FIGURE7.replace('<IterationCount>1000</IterationCount>', '<IterationCount>0</IterationCount>'),
    headers: { 'mamori-pskc-password': FIGURE7_PASSWORD },
    reasons: ['pskc_unsupported', 'pskc_invalid_xml'],
  },
  { name: 'nesting 1 000 deep', body: deep(1_000), reasons: ['pskc_invalid_xml'] },
  { name: 'nesting 9 000 deep (just under the body limit)', body: deep(9_000), reasons: ['pskc_invalid_xml'] },
  {
    name: 'DOCTYPE with an entity expansion (billion laughs)',
    body: `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<KeyContainer Version="1.0" ${NS}><KeyPackage><DeviceInfo><SerialNo>&lol3;</SerialNo></DeviceInfo></KeyPackage></KeyContainer>`,
    reasons: ['pskc_doctype_forbidden'],
  },
  {
    name: 'DOCTYPE with an external entity (XXE)',
    body: PLAINTEXT.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE KeyContainer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace('<Manufacturer>Acme</Manufacturer>', '<Manufacturer>&xxe;</Manufacturer>'),
    reasons: ['pskc_doctype_forbidden'],
  },
  {
    name: 'DOCTYPE in UTF-16LE with a BOM',
    body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PLAINTEXT.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY e "e">]>'), 'utf16le')]),
    reasons: ['pskc_doctype_forbidden'],
  },
  { name: 'an undefined entity reference', body: PLAINTEXT.replace('<Manufacturer>Acme</Manufacturer>', '<Manufacturer>&xxe;</Manufacturer>'), reasons: ['pskc_invalid_xml'] },
  { name: 'truncated file (first half)', body: PLAINTEXT.slice(0, Math.floor(PLAINTEXT.length / 2)), reasons: ['pskc_invalid_xml'] },
  { name: 'truncated file (last closing tag cut)', body: PLAINTEXT.trimEnd().slice(0, -3), reasons: ['pskc_invalid_xml'] },
  { name: 'truncated encrypted file (CipherValue cut)', body: FIGURE6.slice(0, FIGURE6.indexOf('<xenc:CipherValue>') + 30), headers: { 'mamori-pskc-key': FIGURE6_PSK }, reasons: ['pskc_invalid_xml'] },
  { name: 'an empty body', body: '', reasons: ['pskc_invalid_xml', 'pskc_empty'] },
  { name: 'binary junk', body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), reasons: ['pskc_invalid_xml'] },
  { name: 'no KeyPackage', body: container(''), reasons: ['pskc_empty', 'pskc_invalid_xml'] },
  { name: 'oversize body (70 000 bytes)', body: PLAINTEXT.replace('</KeyContainer>', `<!-- ${'x'.repeat(70_000)} --></KeyContainer>`), status: 413 },
];

describe.each(databases)('hostile PSKC files over HTTP ($name)', ({ name, skip }) => {
  let server: TestServer;
  let admin: Client;
  const upload = (body: string | Buffer, headers: Record<string, string> = {}) =>
    admin.request('POST', '/api/v1/admin/hardware-tokens', body, { 'content-type': 'application/pskc+xml', ...headers });
  const tokenCount = async () =>
    Number((await server.services.store.db.selectFrom('hardware_tokens').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const failedImports = async () =>
    server.services.store.db.selectFrom('audit_events').select(['detail']).where('type', '=', 'hardware_tokens_import_failed').orderBy('id').execute();

  beforeAll(async () => {
    if (skip) return;
    server = await startServer({ database: name });
    await createTestUser(server, 'root@example.com', { role: 'admin' });
    admin = await signIn(server, 'root@example.com');
    await assignApp(server.clock, admin);
    const session = await admin.get<{ aal?: number }>('/api/v1/session');
    expect(session.status).toBe(200);
    expect(JSON.stringify(session.body)).toMatch(/"aal":2/);
  });
  afterAll(async () => server?.close());

  const answers: Array<{ name: string; status: number; ms: number; code: unknown; reason: unknown }> = [];

  it.skipIf(skip).each(HOSTILE)('refuses $name: 4xx problem+json with a reason, nothing imported, quickly', async (h) => {
    const before = await tokenCount();
    const auditBefore = (await failedImports()).length;
    const t0 = performance.now();
    const r: Answer = await upload(h.body, h.headers);
    const ms = performance.now() - t0;
    const body = r.body as Record<string, unknown>;
    answers.push({ name: h.name, status: r.status, ms: Math.round(ms), code: body.code, reason: body.reason });
    expect(r.status, r.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(r.status, r.text.slice(0, 300)).toBeLessThan(500);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(body.status).toBe(r.status);
    expect(typeof body.code).toBe('string');
    expect(typeof body.detail).toBe('string');
    if (h.status !== undefined) {
      expect(r.status).toBe(h.status);
      if (h.status === 413) expect(body.code).toBe('payload_too_large');
    } else {
      expect(r.status).toBe(400);
      expect(body.code).toBe('validation_failed');
      expect(h.reasons, `reason ${String(body.reason)}: ${String(body.detail)}`).toContain(body.reason);
      // One audit event per refused file, with the same reason.
      const failed = await failedImports();
      expect(failed).toHaveLength(auditBefore + 1);
      expect(JSON.parse(failed.at(-1)!.detail)).toMatchObject({ reason: body.reason });
    }
    // The answer names no secret and quotes no document text.
    expect(r.text).not.toContain(SEED20);
    expect(r.text).not.toContain('12345678901234567890');
    expect(await tokenCount()).toBe(before);
    expect(before).toBe(0);
    // "Quickly": no refusal here needs more than a fraction of a second of work.
    expect(ms).toBeLessThan(1500);
  });

  it.skipIf(skip)(`PBKDF2 at the cap (${MAX_PBKDF2_ITERATIONS} rounds, wrong for this file) runs off the event loop: /healthz answers meanwhile`, async () => {
    const body = FIGURE7.replace('<IterationCount>1000</IterationCount>', `<IterationCount>${MAX_PBKDF2_ITERATIONS}</IterationCount>`);
    const started = performance.now();
    const pending = upload(body, { 'mamori-pskc-password': FIGURE7_PASSWORD });
    // Sample the event loop while the derivation runs.
    const lags: number[] = [];
    let done = false;
    void pending.finally(() => (done = true));
    while (!done) {
      const t = performance.now();
      const h = await server.client().get('/healthz');
      expect(h.status).toBe(200);
      lags.push(performance.now() - t);
      await new Promise((res) => setTimeout(res, 10));
    }
    const r = await pending;
    const ms = performance.now() - started;
    // The derived key is not the file's key, so the MAC key decrypts to garbage: a refusal.
    expect(r.status, r.text).toBe(400);
    expect((r.body as { reason?: string }).reason).toMatch(/^pskc_(decrypt_failed|mac_mismatch)$/);
    expect(await tokenCount()).toBe(0);
    process.stdout.write(`[pskc-hostile ${name}] ${MAX_PBKDF2_ITERATIONS} PBKDF2 rounds: ${Math.round(ms)} ms, ${lags.length} /healthz answered meanwhile, slowest ${Math.round(Math.max(...lags))} ms\n`);
    expect(Math.max(...lags)).toBeLessThan(250);
  });

  it.skipIf(skip)('refuses other media types and a non-admin, importing nothing', async () => {
    const json = await admin.post('/api/v1/admin/hardware-tokens', { xml: PLAINTEXT });
    expect(json.status).toBeGreaterThanOrEqual(400);
    expect(json.status).toBeLessThan(500);
    const plainText = await admin.request('POST', '/api/v1/admin/hardware-tokens', PLAINTEXT, { 'content-type': 'text/plain' });
    expect(plainText.status).toBe(415);
    const anon = await server.client().request('POST', '/api/v1/admin/hardware-tokens', PLAINTEXT, { 'content-type': 'application/pskc+xml' });
    expect(anon.status).toBe(401);
    const badKeyHeader = await upload(FIGURE6, { 'mamori-pskc-key': 'zz' });
    expect(badKeyHeader.status).toBe(400);
    expect(await tokenCount()).toBe(0);
  });

  it.skipIf(skip)('the largest exact counter (2^53 − 1) and a 16-byte seed import, stored exactly', async () => {
    const r = await upload(hotpFile('EDGE-1', { counter: String(Number.MAX_SAFE_INTEGER), seed: seedOf(16) }));
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ imported: 1 });
    const row = await server.services.store.db.selectFrom('hardware_tokens').select(['counter']).where('serial', '=', 'EDGE-1').executeTakeFirstOrThrow();
    expect(Number.isSafeInteger(Number(row.counter))).toBe(true);
    expect(BigInt(row.counter)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
  });

  it.skipIf(skip)('the fixtures still import: plaintext, pre-shared key, PBKDF2 passphrase', async () => {
    const plain = await upload(PLAINTEXT);
    expect(plain.status, plain.text).toBe(200);
    expect(plain.body).toEqual({ imported: 1, skipped: [] });
    const psk = await upload(FIGURE6, { 'mamori-pskc-key': FIGURE6_PSK });
    expect(psk.status, psk.text).toBe(200);
    expect(psk.body).toEqual({ imported: 1, skipped: [] });
    // Figure 7 holds the same serial as Figure 6: it decrypts and is reported as a duplicate.
    const pbkdf2 = await upload(FIGURE7, { 'mamori-pskc-password': FIGURE7_PASSWORD });
    expect(pbkdf2.status, pbkdf2.text).toBe(200);
    expect(pbkdf2.body).toEqual({ imported: 0, skipped: [{ serial: '987654321', reason: 'duplicate_serial' }] });
    // text/xml is accepted as well.
    const textXml = await admin.request('POST', '/api/v1/admin/hardware-tokens', hotpFile('TEXTXML-1'), { 'content-type': 'text/xml' });
    expect(textXml.status, textXml.text).toBe(200);
    const list = await admin.get<{ tokens: Array<{ serial: string }> }>('/api/v1/admin/hardware-tokens');
    expect(list.body.tokens.map((t) => t.serial).sort()).toEqual(['987654321', 'EDGE-1', 'TEXTXML-1', 'TT0000001']);
    expect(list.text).not.toContain(SEED20);
    expect(await tokenCount()).toBe(4);
    expect((await server.services.audit.verify()).valid).toBe(true);
    const statuses = answers.map((a) => a.status);
    process.stdout.write(
      `[pskc-hostile ${name}] ${answers.length} hostile files: ${statuses.filter((s) => s === 400).length} × 400, ${statuses.filter((s) => s === 413).length} × 413, ${statuses.filter((s) => s >= 500).length} × 5xx; slowest ${Math.max(...answers.map((a) => a.ms))} ms\n` +
        answers.map((a) => `  ${a.status} ${String(a.reason ?? a.code)} ${a.ms} ms  ${a.name}`).join('\n') +
        '\n',
    );
  });
});
