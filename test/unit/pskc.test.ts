import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  MAX_PBKDF2_ITERATIONS,
  MAX_SECRET_BYTES,
  MIN_SECRET_BYTES,
  parsePskc,
  PskcError,
  type PskcErrorCode,
  type PskcKey,
} from '../../src/hardware-tokens/pskc.js';
import { hotp, totp } from '../../src/methods/totp/otp.js';
import { prng } from '../helpers/prng.js';

// RFC 6030 samples kept with the tests (test/fixtures/README.md).
const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/pskc/${name}`, import.meta.url), 'utf8');

const PLAINTEXT = fixture('totp-plaintext.pskc');
const FIGURE6 = fixture('rfc6030-figure6-aes128-psk.pskc');
const FIGURE7 = fixture('rfc6030-figure7-pbkdf2.pskc');
const FIGURE6_PSK = Buffer.from('12345678901234567890123456789012', 'hex');
const RFC_SECRET = '12345678901234567890';

/** Strings that must never appear in an error message. */
const CANARIES = [
  RFC_SECRET,
  Buffer.from(RFC_SECRET).toString('hex'),
  Buffer.from(RFC_SECRET).toString('base64'),
  FIGURE6_PSK.toString('hex'),
  '1122334455667788990011223344556677889900',
  'qwerty',
  'correct horse battery staple',
];

async function expectPskcError(fn: () => Promise<unknown>, codes: PskcErrorCode[], extraCanaries: string[] = []): Promise<PskcError> {
  let result: unknown;
  try {
    result = await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PskcError);
    const err = e as PskcError;
    expect(codes).toContain(err.code);
    for (const canary of [...CANARIES, ...extraCanaries]) {
      expect(err.message.toLowerCase()).not.toContain(canary.toLowerCase());
    }
    return err;
  }
  // All-or-nothing: reaching here means keys came back from a bad document.
  throw new Error(`expected PskcError ${codes.join('|')}, got ${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

// ---------------------------------------------------------------------------
// Builders for documents assembled in the tests.

const NS = `xmlns="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#"`;

function container(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<KeyContainer Version="1.0" ${NS}>\n${body}\n</KeyContainer>`;
}

interface PackageSpec {
  serial?: string;
  keyId?: string;
  algorithm?: string;
  length?: string;
  encoding?: string;
  suite?: string;
  secretXml: string;
  dataExtra?: string;
}

function keyPackage(p: PackageSpec): string {
  const device = p.serial === undefined ? '' : `<DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>${p.serial}</SerialNo><Model>T1</Model></DeviceInfo>`;
  const suite = p.suite === undefined ? '' : `<Suite>${p.suite}</Suite>`;
  return `<KeyPackage>${device}
  <Key Id="${p.keyId ?? 'K1'}" Algorithm="${p.algorithm ?? 'urn:ietf:params:xml:ns:keyprov:pskc:hotp'}">
    <Issuer>Acme</Issuer>
    <AlgorithmParameters>${suite}<ResponseFormat Length="${p.length ?? '6'}" Encoding="${p.encoding ?? 'DECIMAL'}"/></AlgorithmParameters>
    <Data><Secret>${p.secretXml}</Secret>${p.dataExtra ?? ''}</Data>
  </Key>
</KeyPackage>`;
}

const plainSecret = (secret: Buffer): string => `<PlainValue>${secret.toString('base64')}</PlainValue>`;

const AES = {
  16: { uri: 'http://www.w3.org/2001/04/xmlenc#aes128-cbc', name: 'aes-128-cbc' },
  24: { uri: 'http://www.w3.org/2001/04/xmlenc#aes192-cbc', name: 'aes-192-cbc' },
  32: { uri: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc', name: 'aes-256-cbc' },
} as const;
type AesLen = keyof typeof AES;

const HMAC = {
  sha1: 'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
  sha256: 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
} as const;

/** XML Encryption CipherValue: IV(16) ‖ AES-CBC ciphertext with PKCS#7 padding. */
function encrypt(key: Buffer, plain: Buffer): Buffer {
  const len = key.length as AesLen;
  const iv = randomBytes(16);
  const c = createCipheriv(AES[len].name, key, iv);
  return Buffer.concat([iv, c.update(plain), c.final()]);
}

function encryptedValue(key: Buffer, cipherValue: Buffer): string {
  const uri = AES[key.length as AesLen].uri;
  return `<EncryptedValue><xenc:EncryptionMethod Algorithm="${uri}"/><xenc:CipherData><xenc:CipherValue>${cipherValue.toString('base64')}</xenc:CipherValue></xenc:CipherData></EncryptedValue>`;
}

interface Pbkdf2Doc {
  xml: string;
  secret: Buffer;
}

/** Assembles a document shaped like RFC 6030 Figure 7 from scratch. */
function pbkdf2Document(opts: {
  password: string;
  keyLength?: AesLen;
  prf?: 'sha1' | 'sha256';
  mac?: 'sha1' | 'sha256';
  iterations?: number;
  algorithm?: string;
  suite?: string;
  dataExtra?: string;
  length?: string;
  secretLength?: number;
}): Pbkdf2Doc {
  const keyLength = opts.keyLength ?? 16;
  const salt = randomBytes(8);
  const iterations = opts.iterations ?? 1000;
  const kek = pbkdf2Sync(opts.password, salt, iterations, keyLength, opts.prf ?? 'sha1');
  const macKey = randomBytes(20);
  const secret = randomBytes(opts.secretLength ?? 20);
  const macKeyCipher = encrypt(kek, macKey);
  const secretCipher = encrypt(kek, secret);
  const valueMac = createHmac(opts.mac ?? 'sha1', macKey).update(secretCipher).digest('base64');
  const prf = opts.prf === 'sha256' ? `<PRF Algorithm="${HMAC.sha256}"/>` : '<PRF/>';
  const xml = container(`
  <EncryptionKey>
    <xenc11:DerivedKey>
      <xenc11:KeyDerivationMethod Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2">
        <pkcs5:PBKDF2-params>
          <Salt><Specified>${salt.toString('base64')}</Specified></Salt>
          <IterationCount>${iterations}</IterationCount>
          <KeyLength>${keyLength}</KeyLength>
          ${prf}
        </pkcs5:PBKDF2-params>
      </xenc11:KeyDerivationMethod>
      <xenc:ReferenceList><xenc:DataReference URI="#ED"/></xenc:ReferenceList>
      <xenc11:MasterKeyName>My Password 1</xenc11:MasterKeyName>
    </xenc11:DerivedKey>
  </EncryptionKey>
  <MACMethod Algorithm="${HMAC[opts.mac ?? 'sha1']}">
    <MACKey>
      <xenc:EncryptionMethod Algorithm="${AES[keyLength].uri}"/>
      <xenc:CipherData><xenc:CipherValue>${macKeyCipher.toString('base64')}</xenc:CipherValue></xenc:CipherData>
    </MACKey>
  </MACMethod>
  ${keyPackage({
    serial: 'PB0001',
    keyId: '123456',
    length: opts.length ?? '8',
    ...(opts.algorithm === undefined ? {} : { algorithm: opts.algorithm }),
    ...(opts.suite === undefined ? {} : { suite: opts.suite }),
    ...(opts.dataExtra === undefined ? {} : { dataExtra: opts.dataExtra }),
    secretXml: `${encryptedValue(kek, secretCipher)}<ValueMAC>${valueMac}</ValueMAC>`,
  })}`);
  return { xml, secret };
}

/** Replaces the character at `pos` of the n-th CipherValue with a different base64 character. */
function flipCipherValue(xml: string, nth: number, pos: number): string {
  let seen = -1;
  return xml.replace(/(<xenc:CipherValue>)([^<]*)(<\/xenc:CipherValue>)/g, (whole, open: string, value: string, close: string) => {
    seen++;
    if (seen !== nth) return whole;
    const ch = value.charAt(pos);
    const replacement = ch === 'A' ? 'B' : 'A';
    return `${open}${value.slice(0, pos)}${replacement}${value.slice(pos + 1)}${close}`;
  });
}

function cipherValues(xml: string): string[] {
  return [...xml.matchAll(/<xenc:CipherValue>([^<]*)<\/xenc:CipherValue>/g)].map((m) => m[1] ?? '');
}

// ---------------------------------------------------------------------------

describe('parsePskc: RFC 6030 fixtures', () => {
  it('totp-plaintext.pskc → TT0000001, 8-digit TOTP at t=59 is 94287082', async () => {
    const keys = await parsePskc(PLAINTEXT, {});
    expect(keys).toHaveLength(1);
    const k = keys[0]!;
    expect(k).toMatchObject({
      serial: 'TT0000001',
      manufacturer: 'Acme',
      kind: 'totp',
      algorithm: 'SHA1',
      digits: 8,
      period: 30,
      t0: 0,
      issuer: 'Acme',
      keyId: 'TT0000001',
    });
    expect(totp(k.secret, 59_000, { algorithm: k.algorithm, digits: k.digits, period: k.period, t0: k.t0 })).toBe('94287082');
  });

  it('accepts a Buffer, with or without a UTF-8 BOM, and UTF-16LE with BOM', async () => {
    expect((await parsePskc(Buffer.from(PLAINTEXT, 'utf8'), {}))[0]!.serial).toBe('TT0000001');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PLAINTEXT, 'utf8')]);
    expect((await parsePskc(bom, {}))[0]!.serial).toBe('TT0000001');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PLAINTEXT.replace('UTF-8', 'UTF-16'), 'utf16le')]);
    expect((await parsePskc(utf16, {}))[0]!.serial).toBe('TT0000001');
  });

  it('RFC 6030 Figure 6 with the pre-shared key → 987654321, HOTP c0 = 84755224', async () => {
    const keys = await parsePskc(FIGURE6, { psk: FIGURE6_PSK });
    expect(keys).toHaveLength(1);
    const k = keys[0]!;
    expect(k).toMatchObject({
      serial: '987654321',
      manufacturer: 'Manufacturer',
      kind: 'hotp',
      algorithm: 'SHA1',
      digits: 8,
      counter: 0n,
      issuer: 'Issuer',
      keyId: '12345678',
    });
    expect(k.secret.toString('ascii')).toBe(RFC_SECRET);
    expect(hotp(k.secret, k.counter, { algorithm: k.algorithm, digits: k.digits })).toBe('84755224');
  });

  it('Figure 6 without a key → pskc_key_required', async () => {
    await expectPskcError(() => parsePskc(FIGURE6, {}), ['pskc_key_required']);
    await expectPskcError(() => parsePskc(FIGURE6, { password: 'qwerty' }), ['pskc_key_required']);
  });

  it('Figure 6 with a wrong pre-shared key → error, never keys', async () => {
    for (let i = 0; i < 20; i++) {
      await expectPskcError(() => parsePskc(FIGURE6, { psk: randomBytes(16) }), ['pskc_decrypt_failed', 'pskc_mac_mismatch']);
    }
    const oneBitOff = Buffer.from(FIGURE6_PSK);
    oneBitOff[15] = (oneBitOff[15] ?? 0) ^ 1;
    await expectPskcError(() => parsePskc(FIGURE6, { psk: oneBitOff }), ['pskc_decrypt_failed', 'pskc_mac_mismatch']);
    await expectPskcError(() => parsePskc(FIGURE6, { psk: FIGURE6_PSK.subarray(0, 15) }), ['pskc_decrypt_failed']);
  });

  it('flipping any single base64 character of each CipherValue makes the whole import fail', async () => {
    const values = cipherValues(FIGURE6);
    expect(values).toHaveLength(2); // MACKey and Secret
    for (let nth = 0; nth < values.length; nth++) {
      const len = values[nth]!.length;
      // Every position: IV bytes, first and last ciphertext blocks, padding.
      for (let pos = 0; pos < len; pos++) {
        const tampered = flipCipherValue(FIGURE6, nth, pos);
        expect(tampered).not.toBe(FIGURE6);
        await expectPskcError(() => parsePskc(tampered, { psk: FIGURE6_PSK }), ['pskc_mac_mismatch', 'pskc_decrypt_failed']);
      }
    }
  });

  it('a tampered Secret CipherValue is caught by the MAC, before any decryption', async () => {
    // Only the Secret (2nd value) is changed, so the MAC key is intact and
    // the failure must be the MAC check, not a padding error.
    for (const pos of [0, 5, 15, 16, 31, 40, 63]) {
      const err = await expectPskcError(() => parsePskc(flipCipherValue(FIGURE6, 1, pos), { psk: FIGURE6_PSK }), ['pskc_mac_mismatch']);
      expect(err.message).toMatch(/ValueMAC/);
    }
  });

  it('flipping a ValueMAC character fails', async () => {
    const mac = 'Su+NvtQfmvfJzF6bmQiJqoLRExc=';
    for (let pos = 0; pos < mac.length - 1; pos++) {
      const ch = mac.charAt(pos);
      const bad = mac.slice(0, pos) + (ch === 'A' ? 'B' : 'A') + mac.slice(pos + 1);
      // The last data character carries two padding bits; a change there that
      // only touches them is refused as non-canonical base64.
      await expectPskcError(() => parsePskc(FIGURE6.replace(mac, bad), { psk: FIGURE6_PSK }), ['pskc_mac_mismatch', 'pskc_invalid_xml']);
    }
  });

  it('missing ValueMAC while MACMethod is present → pskc_mac_mismatch', async () => {
    const noMac = FIGURE6.replace(/<ValueMAC>[^<]*<\/ValueMAC>/, '');
    await expectPskcError(() => parsePskc(noMac, { psk: FIGURE6_PSK }), ['pskc_mac_mismatch']);
  });

  it('encrypted values without any MACMethod are refused', async () => {
    const noMethod = FIGURE6.replace(/<MACMethod[\s\S]*<\/MACMethod>/, '');
    await expectPskcError(() => parsePskc(noMethod, { psk: FIGURE6_PSK }), ['pskc_unsupported']);
  });

  it('two ValueMAC elements are ambiguous → refused', async () => {
    const twice = FIGURE6.replace(/(<ValueMAC>[^<]*<\/ValueMAC>)/, '$1$1');
    await expectPskcError(() => parsePskc(twice, { psk: FIGURE6_PSK }), ['pskc_invalid_xml']);
  });
});

describe('parsePskc: DTD / entity rejection', () => {
  const docs: Record<string, string> = {
    'internal entity': `<?xml version="1.0"?>\n<!DOCTYPE KeyContainer [<!ENTITY s "Acme">]>\n${PLAINTEXT.replace(/^<\?xml[^>]*>\n/, '').replace('<Issuer>Acme</Issuer>', '<Issuer>&s;</Issuer>')}`,
    'external entity (XXE)': `<?xml version="1.0"?>\n<!DOCTYPE KeyContainer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${PLAINTEXT.replace(/^<\?xml[^>]*>\n/, '').replace('<Issuer>Acme</Issuer>', '<Issuer>&xxe;</Issuer>')}`,
    'external DTD': `<?xml version="1.0"?>\n<!DOCTYPE KeyContainer SYSTEM "http://127.0.0.1:9/pskc.dtd">\n${PLAINTEXT.replace(/^<\?xml[^>]*>\n/, '')}`,
    'billion laughs': `<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n${PLAINTEXT.replace(/^<\?xml[^>]*>\n/, '').replace('<Issuer>Acme</Issuer>', '<Issuer>&c;</Issuer>')}`,
    'lower-case doctype': `<!doctype KeyContainer>\n${PLAINTEXT.replace(/^<\?xml[^>]*>\n/, '')}`,
    'bare ENTITY declaration': PLAINTEXT.replace('<KeyPackage>', '<!ENTITY x "y"><KeyPackage>'),
  };

  it.each(Object.entries(docs))('%s → pskc_doctype_forbidden', async (_name, xml) => {
    await expectPskcError(() => parsePskc(xml, {}), ['pskc_doctype_forbidden']);
    await expectPskcError(() => parsePskc(Buffer.from(xml), {}), ['pskc_doctype_forbidden']);
  });

  it('is not fooled by UTF-16', async () => {
    const xml = docs['external entity (XXE)']!;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    await expectPskcError(() => parsePskc(le, {}), ['pskc_doctype_forbidden']);
    const be = Buffer.from(xml, 'utf16le').swap16();
    await expectPskcError(() => parsePskc(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), {}), ['pskc_doctype_forbidden']);
    // Without a BOM it cannot be read as UTF-8 text at all.
    await expectPskcError(() => parsePskc(Buffer.from(xml, 'utf16le'), {}), ['pskc_invalid_xml']);
  });

  it('predefined XML entities in text fields are decoded, undefined ones refused', async () => {
    const amp = PLAINTEXT.replace('<Issuer>Acme</Issuer>', '<Issuer>Acme &amp; Co &#x263A;</Issuer>');
    expect((await parsePskc(amp, {}))[0]!.issuer).toBe('Acme & Co \u263a');
    const undef = PLAINTEXT.replace('<Issuer>Acme</Issuer>', '<Issuer>&nbsp;</Issuer>');
    await expectPskcError(() => parsePskc(undef, {}), ['pskc_invalid_xml']);
  });
});

describe('parsePskc: PBKDF2 (RFC 6030 §6.2, Figure 7 shape)', () => {
  it('RFC 6030 Figure 7 itself decrypts with passphrase "qwerty"', async () => {
    // The RFC's own example (pskc: prefixes, <PRF/> meaning HMAC-SHA1, no Counter).
    const fig7 = FIGURE7;
    const [k] = await parsePskc(fig7, { password: 'qwerty' });
    expect(k).toMatchObject({ serial: '987654321', manufacturer: 'TokenVendorAcme', issuer: 'Example-Issuer', kind: 'hotp', digits: 8, counter: 0n });
    expect(hotp(k!.secret, 0n, { algorithm: 'SHA1', digits: 8 })).toBe('84755224');
    expect(k!.secret.toString('ascii')).toBe(RFC_SECRET);
    await expectPskcError(() => parsePskc(fig7, { password: 'qwertz' }), ['pskc_decrypt_failed', 'pskc_mac_mismatch']);
    await expectPskcError(() => parsePskc(fig7, {}), ['pskc_key_required']);
    await expectPskcError(() => parsePskc(fig7, { psk: Buffer.alloc(16) }), ['pskc_key_required']);
  });

  it('a document encrypted in the test parses back to the same secret', async () => {
    const password = 'correct horse battery staple';
    const doc = pbkdf2Document({ password });
    const keys = await parsePskc(doc.xml, { password });
    expect(keys).toHaveLength(1);
    expect(keys[0]!.secret.equals(doc.secret)).toBe(true);
    expect(keys[0]).toMatchObject({ serial: 'PB0001', kind: 'hotp', digits: 8, algorithm: 'SHA1' });
    await expectPskcError(() => parsePskc(doc.xml, { password: 'wrong' }), ['pskc_decrypt_failed', 'pskc_mac_mismatch'], [doc.secret.toString('base64')]);
  });

  it('AES-256 + HMAC-SHA256 PRF and MAC, TOTP with Suite, TimeInterval and Time', async () => {
    const password = 'correct horse battery staple';
    const doc = pbkdf2Document({
      password,
      keyLength: 32,
      prf: 'sha256',
      mac: 'sha256',
      algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#totp',
      suite: 'HMAC-SHA256',
      length: '6',
      dataExtra: '<Time><PlainValue>1000</PlainValue></Time><TimeInterval><PlainValue>60</PlainValue></TimeInterval>',
    });
    const [k] = await parsePskc(doc.xml, { password });
    expect(k!.secret.equals(doc.secret)).toBe(true);
    expect(k).toMatchObject({ kind: 'totp', algorithm: 'SHA256', digits: 6, period: 60, t0: 1000 });
  });

  it('AES-192 is accepted', async () => {
    const password = 'pw';
    const doc = pbkdf2Document({ password, keyLength: 24 });
    expect((await parsePskc(doc.xml, { password }))[0]!.secret.equals(doc.secret)).toBe(true);
  });

  it('tampering with a PBKDF2-protected document fails', async () => {
    const password = 'pw';
    const doc = pbkdf2Document({ password });
    for (let nth = 0; nth < 2; nth++) {
      for (const pos of [0, 10, 20, 30, 40, 50, 60]) {
        await expectPskcError(() => parsePskc(flipCipherValue(doc.xml, nth, pos), { password }), ['pskc_mac_mismatch', 'pskc_decrypt_failed']);
      }
    }
  });

  it('refuses absurd iteration counts before doing any work', async () => {
    const doc = pbkdf2Document({ password: 'pw' });
    const huge = doc.xml.replace('<IterationCount>1000</IterationCount>', '<IterationCount>4000000000</IterationCount>');
    await expectPskcError(() => parsePskc(huge, { password: 'pw' }), ['pskc_unsupported']);
  });
});

describe('parsePskc: structure and all-or-nothing', () => {
  const secret = Buffer.from(RFC_SECRET);

  it('accepts both TOTP algorithm URIs, defaults, and several packages', async () => {
    const xml = container(
      keyPackage({ serial: 'A', secretXml: plainSecret(secret), algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc:totp' }) +
        keyPackage({ serial: 'B', secretXml: plainSecret(secret), algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#totp', suite: 'HMAC-SHA512', length: '8' }) +
        keyPackage({ serial: 'C', secretXml: plainSecret(secret), dataExtra: '<Counter><PlainValue>42</PlainValue></Counter>' }),
    );
    const keys = await parsePskc(xml, {});
    expect(keys.map((k: PskcKey) => [k.serial, k.kind, k.algorithm, k.digits, k.period, k.t0, k.counter])).toEqual([
      ['A', 'totp', 'SHA1', 6, 30, 0, 0n],
      ['B', 'totp', 'SHA512', 8, 30, 0, 0n],
      ['C', 'hotp', 'SHA1', 6, 30, 0, 42n],
    ]);
    expect(keys[0]).toMatchObject({ manufacturer: 'Acme', model: 'T1', issuer: 'Acme' });
  });

  it('falls back to Key@Id when there is no SerialNo', async () => {
    const xml = container(keyPackage({ keyId: 'ID-7', secretXml: plainSecret(secret) }));
    expect((await parsePskc(xml, {}))[0]!.serial).toBe('ID-7');
  });

  it('one bad package fails the whole file', async () => {
    const good = keyPackage({ serial: 'G', secretXml: plainSecret(secret) });
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), length: '7' })), {}), ['pskc_unsupported']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), encoding: 'HEXADECIMAL' })), {}), ['pskc_unsupported']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), suite: 'HMAC-MD5' })), {}), ['pskc_unsupported']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1' })), {}), ['pskc_unsupported']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: '<PlainValue>not base64!</PlainValue>' })), {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: '' })), {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), dataExtra: '<Counter><PlainValue>-1</PlainValue></Counter>' })), {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), dataExtra: '<TimeInterval><PlainValue>0</PlainValue></TimeInterval>' })), {}), ['pskc_unsupported']);
  });

  it('duplicate serials → pskc_duplicate_serial', async () => {
    const xml = container(keyPackage({ serial: 'S1', secretXml: plainSecret(secret) }) + keyPackage({ serial: 'S1', keyId: 'K2', secretXml: plainSecret(randomBytes(20)) }));
    await expectPskcError(() => parsePskc(xml, {}), ['pskc_duplicate_serial']);
  });

  it('empty containers → pskc_empty', async () => {
    await expectPskcError(() => parsePskc(container(''), {}), ['pskc_empty']);
    await expectPskcError(() => parsePskc('<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>', {}), ['pskc_empty']);
  });

  it('malformed or foreign XML → pskc_invalid_xml, without quoting the document', async () => {
    const secretB64 = Buffer.from(RFC_SECRET).toString('base64');
    await expectPskcError(() => parsePskc(PLAINTEXT.replace('</Secret>', ''), {}), ['pskc_invalid_xml'], [secretB64]);
    await expectPskcError(() => parsePskc('', {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc('not xml at all', {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc('<Other/>', {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc(`${PLAINTEXT}<KeyContainer/>`, {}), ['pskc_invalid_xml']);
    await expectPskcError(() => parsePskc(Buffer.from([0x3c, 0xff, 0xfe, 0x3e]), {}), ['pskc_invalid_xml']);
  });

  it('refuses a KeyContainer version other than 1.0', async () => {
    await expectPskcError(() => parsePskc(PLAINTEXT.replace('Version="1.0"', 'Version="2.0"'), {}), ['pskc_unsupported']);
  });

  it('PskcError carries a code and a name', async () => {
    const err = await expectPskcError(() => parsePskc(container(''), {}), ['pskc_empty']);
    expect(err.name).toBe('PskcError');
    expect(err).toBeInstanceOf(Error);
  });
});

describe('parsePskc: values out of range are refused with a reason', () => {
  const secret = Buffer.from(RFC_SECRET);
  const withData = (dataExtra: string, serial = 'R1'): string => container(keyPackage({ serial, secretXml: plainSecret(secret), dataExtra }));
  const counter = (v: string): string => withData(`<Counter><PlainValue>${v}</PlainValue></Counter>`);

  it('a counter up to 2^53 − 1 is kept exactly', async () => {
    const [k] = await parsePskc(counter('9007199254740991'), {});
    expect(k!.counter).toBe(9_007_199_254_740_991n);
    expect((await parsePskc(counter('+0042'), {}))[0]!.counter).toBe(42n);
  });

  it.each([
    ['2^53', '9007199254740992'],
    ['2^64 − 1', '18446744073709551615'],
    ['2^64', '18446744073709551616'],
    ['a 5000-digit number', '9'.repeat(5000)],
  ])('counter %s → pskc_unsupported, naming the counter and the bound', async (_name, value) => {
    const err = await expectPskcError(() => parsePskc(counter(value), {}), ['pskc_unsupported']);
    expect(err.message).toMatch(/^KeyPackage #1: Counter is above 9007199254740991, the largest counter stored exactly/);
  });

  it('a negative counter → pskc_invalid_xml "must not be negative"', async () => {
    for (const v of ['-1', '-9007199254740993', '-' + '9'.repeat(100)]) {
      const err = await expectPskcError(() => parsePskc(counter(v), {}), ['pskc_invalid_xml']);
      expect(err.message).toMatch(/Counter must not be negative/);
    }
  });

  it('a counter that is not an integer → pskc_invalid_xml', async () => {
    for (const v of ['1.5', '1e3', '0x10', '', ' ', '١٢', '9007199254740993.0', 'NaN', 'Infinity']) {
      const err = await expectPskcError(() => parsePskc(counter(v), {}), ['pskc_invalid_xml']);
      expect(err.message).toMatch(/Counter (is not an integer|has no PlainValue)/);
    }
  });

  it('Time, TimeInterval and TimeDrift outside their ranges are refused; inside, accepted', async () => {
    const el = (name: string, v: string): string => `<${name}><PlainValue>${v}</PlainValue></${name}>`;
    const refused: Array<[string, PskcErrorCode, RegExp]> = [
      [el('Time', '253402300800'), 'pskc_unsupported', /Time is above 253402300799, past the year 9999/],
      [el('Time', '9007199254740993'), 'pskc_unsupported', /Time is above/],
      [el('Time', '-1'), 'pskc_invalid_xml', /Time must not be negative/],
      [el('TimeInterval', '0'), 'pskc_unsupported', /TimeInterval is below 1/],
      [el('TimeInterval', '86401'), 'pskc_unsupported', /TimeInterval is above 86400, one day/],
      [el('TimeInterval', '30.5'), 'pskc_invalid_xml', /TimeInterval is not an integer/],
      [el('TimeDrift', '2147483648'), 'pskc_unsupported', /TimeDrift is above 2147483647/],
      [el('TimeDrift', '-2147483649'), 'pskc_unsupported', /TimeDrift is below -2147483648/],
      [el('TimeDrift', 'x'), 'pskc_invalid_xml', /TimeDrift is not an integer/],
    ];
    for (const [extra, code, message] of refused) {
      const err = await expectPskcError(() => parsePskc(withData(extra), {}), [code]);
      expect(err.message).toMatch(message);
    }
    const [k] = await parsePskc(withData(el('Time', '253402300799') + el('TimeInterval', '86400') + el('TimeDrift', '-3')), {});
    expect(k).toMatchObject({ t0: 253_402_300_799, period: 86_400 });
  });
});

describe('parsePskc: seed length (RFC 4226 R6 and the HMAC block size)', () => {
  const seeded = (bytes: number, suite?: string): string =>
    container(keyPackage({ serial: 'SEED', secretXml: plainSecret(Buffer.alloc(bytes, 0x5a)), ...(suite === undefined ? {} : { suite }) }));

  it.each([1, 15])('a %i-byte seed → "seed shorter than 128 bits"', async (bytes) => {
    const err = await expectPskcError(() => parsePskc(seeded(bytes), {}), ['pskc_unsupported']);
    expect(err.message).toBe('KeyPackage #1: seed shorter than 128 bits (RFC 4226 R6)');
  });

  it('a 16-byte seed is accepted', async () => {
    expect(MIN_SECRET_BYTES).toBe(16);
    const [k] = await parsePskc(seeded(16), {});
    expect(k!.secret.length).toBe(16);
  });

  it('up to the block size of the HMAC is accepted, one byte more is refused', async () => {
    for (const [suite, max] of [['HMAC-SHA1', 64], ['HMAC-SHA256', 64], ['HMAC-SHA512', 128]] as const) {
      expect((await parsePskc(seeded(max, suite), {}))[0]!.secret.length).toBe(max);
      const err = await expectPskcError(() => parsePskc(seeded(max + 1, suite), {}), ['pskc_unsupported']);
      expect(err.message).toMatch(new RegExp(`seed longer than ${max} bytes`));
    }
    expect(MAX_SECRET_BYTES).toEqual({ SHA1: 64, SHA256: 64, SHA512: 128 });
  });

  it('an encrypted short seed is refused as well (checked after decryption)', async () => {
    const doc = pbkdf2Document({ password: 'pw', secretLength: 10 });
    const err = await expectPskcError(() => parsePskc(doc.xml, { password: 'pw' }), ['pskc_unsupported'], [doc.secret.toString('base64')]);
    expect(err.message).toMatch(/seed shorter than 128 bits/);
  });

  it('a short seed in a later package fails the whole file and wipes the earlier secrets', async () => {
    const xml = container(keyPackage({ serial: 'OK', secretXml: plainSecret(Buffer.from(RFC_SECRET)) }) + keyPackage({ serial: 'SHORT', keyId: 'K2', secretXml: plainSecret(Buffer.alloc(8, 1)) }));
    const err = await expectPskcError(() => parsePskc(xml, {}), ['pskc_unsupported']);
    expect(err.message).toMatch(/^KeyPackage #2: seed shorter than 128 bits/);
  });
});

describe('parsePskc: PBKDF2 cost is capped and off the event loop', () => {
  const withIterations = (xml: string, n: string): string => xml.replace('<IterationCount>1000</IterationCount>', `<IterationCount>${n}</IterationCount>`);

  it('10 000 000 iterations are refused at once, before any derivation', async () => {
    const doc = pbkdf2Document({ password: 'pw' });
    const started = performance.now();
    const err = await expectPskcError(() => parsePskc(withIterations(doc.xml, '10000000'), { password: 'pw' }), ['pskc_unsupported']);
    const elapsed = performance.now() - started;
    expect(err.message).toBe('EncryptionKey/DerivedKey: IterationCount is above 1000000, the most PBKDF2 rounds an import runs');
    // 10 M SHA-1 rounds take seconds; a refusal takes well under 50 ms.
    expect(elapsed).toBeLessThan(250);
    await expectPskcError(() => parsePskc(withIterations(doc.xml, String(MAX_PBKDF2_ITERATIONS + 1)), { password: 'pw' }), ['pskc_unsupported']);
    await expectPskcError(() => parsePskc(withIterations(doc.xml, '0'), { password: 'pw' }), ['pskc_unsupported']);
    await expectPskcError(() => parsePskc(withIterations(doc.xml, '1'.repeat(400)), { password: 'pw' }), ['pskc_unsupported']);
  });

  it('a file at the cap imports, and the event loop keeps running while it derives', async () => {
    const doc = pbkdf2Document({ password: 'pw', iterations: MAX_PBKDF2_ITERATIONS });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const [k] = await parsePskc(doc.xml, { password: 'pw' });
      expect(k!.secret.equals(doc.secret)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    // pbkdf2Sync would have held the loop for the whole derivation: no tick at all.
    expect(ticks).toBeGreaterThan(1);
  });

  it('oversized salts and key lengths are refused', async () => {
    const doc = pbkdf2Document({ password: 'pw' });
    const salt = /<Specified>([^<]*)<\/Specified>/.exec(doc.xml)![1]!;
    const bigSalt = doc.xml.replace(salt, randomBytes(65).toString('base64'));
    expect((await expectPskcError(() => parsePskc(bigSalt, { password: 'pw' }), ['pskc_unsupported'])).message).toMatch(/salt is longer than 64 bytes/);
    const bigKey = doc.xml.replace('<KeyLength>16</KeyLength>', '<KeyLength>4096</KeyLength>');
    expect((await expectPskcError(() => parsePskc(bigKey, { password: 'pw' }), ['pskc_unsupported'])).message).toMatch(/KeyLength is above 32, the largest AES key/);
  });
});

// ---------------------------------------------------------------------------
// Fuzz: mutated copies of the valid fixtures either parse or fail with PskcError.


type Mutator = (doc: string, rnd: () => number) => string | Buffer;

const pick = <T,>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const at = (rnd: () => number, s: string): number => Math.floor(rnd() * (s.length + 1));
const insertAt = (s: string, i: number, what: string): string => s.slice(0, i) + what + s.slice(i);

/** A random complete element without children, e.g. `<Counter><PlainValue>0</PlainValue>` → its leaf. */
function randomLeaf(doc: string, rnd: () => number): RegExpExecArray | undefined {
  const leaves = [...doc.matchAll(/<([A-Za-z0-9_:.-]+)(?:\s[^<>]*)?>[^<]*<\/\1>/g)];
  return leaves.length === 0 ? undefined : pick(rnd, leaves);
}

const HOSTILE_TEXT = [
  '9'.repeat(400), '18446744073709551616', '9007199254740992', '-1', '-0', '1e308', '0x7fffffff', '1.0', 'NaN', '',
  '&amp;', '&lt;&gt;', '&#0;', '&#xD800;', '&#x110000;', '&#99999999;', '&lol;', '&', '&#', ']]>', '<![CDATA[AAAA]]>',
  '<!ENTITY x "y">', '<!DOCTYPE x>', '<?pi x?>', '<!-- c -->', '\u0000', '\uFFFE', '\uD800', 'A'.repeat(3000),
];
const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '#text', '@_Algorithm', 'a:b:c'];

const MUTATORS: Record<string, Mutator> = {
  byteFlips: (doc, rnd) => {
    const b = Buffer.from(doc, 'utf8');
    for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    return b;
  },
  truncate: (doc, rnd) => doc.slice(0, at(rnd, doc)),
  truncateBytes: (doc, rnd) => {
    const b = Buffer.from(doc, 'utf8');
    return b.subarray(0, Math.floor(rnd() * b.length));
  },
  duplicateElement: (doc, rnd) => {
    const m = randomLeaf(doc, rnd);
    return m === undefined ? doc : insertAt(doc, m.index + m[0].length, m[0].repeat(1 + Math.floor(rnd() * 3)));
  },
  duplicatePackage: (doc) => doc.replace(/(<(?:pskc:)?KeyPackage>[\s\S]*<\/(?:pskc:)?KeyPackage>)/, '$1$1'),
  hugeNumber: (doc, rnd) => {
    const numbers = [...doc.matchAll(/>([0-9]+)</g)];
    if (numbers.length === 0) return doc;
    const m = pick(rnd, numbers);
    return doc.slice(0, m.index + 1) + pick(rnd, HOSTILE_TEXT.slice(0, 10)) + doc.slice(m.index + 1 + m[1]!.length);
  },
  hostileAttribute: (doc, rnd) => doc.replace(/(Length|Encoding|Algorithm|Version|Id)="[^"]*"/, `$1="${pick(rnd, ['', '99999999999999999999', '-6', '6.0', '&amp;', '&x;', '"', "'", '<'])}"`),
  hostileText: (doc, rnd) => {
    const m = randomLeaf(doc, rnd);
    if (m === undefined) return doc;
    const open = m[0].indexOf('>') + 1;
    return insertAt(doc, m.index + open, pick(rnd, HOSTILE_TEXT));
  },
  anywhere: (doc, rnd) => insertAt(doc, at(rnd, doc), pick(rnd, HOSTILE_TEXT)),
  deepNesting: (doc, rnd) => {
    const depth = pick(rnd, [50, 500, 5000]);
    const m = randomLeaf(doc, rnd);
    if (m === undefined) return doc;
    const open = m[0].indexOf('>') + 1;
    return insertAt(doc, m.index + open, '<n>'.repeat(depth) + 'x' + '</n>'.repeat(depth));
  },
  renameElement: (doc, rnd) => {
    const m = randomLeaf(doc, rnd);
    if (m === undefined) return doc;
    const name = m[1]!;
    const local = name.replace(/^.*:/, '');
    const prefix = name.slice(0, name.length - local.length);
    const to = prefix + pick(rnd, HOSTILE_NAMES);
    return doc.slice(0, m.index) + m[0].replace(`<${name}`, `<${to}`).replace(`</${name}>`, `</${to}>`) + doc.slice(m.index + m[0].length);
  },
  deleteChunk: (doc, rnd) => {
    const i = at(rnd, doc);
    return doc.slice(0, i) + doc.slice(i + Math.floor(rnd() * 200));
  },
  swapChunks: (doc, rnd) => {
    const i = at(rnd, doc);
    const j = at(rnd, doc);
    const [a, b] = i < j ? [i, j] : [j, i];
    return doc.slice(b) + doc.slice(a, b) + doc.slice(0, a);
  },
};

describe('parsePskc: fuzzed fixtures', () => {
  const corpus: Array<{ name: string; xml: string; opts: { psk?: Buffer; password?: string } }> = [
    { name: 'totp-plaintext', xml: PLAINTEXT, opts: {} },
    { name: 'figure6', xml: FIGURE6, opts: { psk: FIGURE6_PSK } },
    { name: 'figure7', xml: FIGURE7, opts: { password: 'qwerty' } },
    {
      name: 'three packages',
      xml: container(
        keyPackage({ serial: 'A', secretXml: plainSecret(Buffer.from(RFC_SECRET)), dataExtra: '<Counter><PlainValue>7</PlainValue></Counter>' }) +
          keyPackage({ serial: 'B', keyId: 'K2', algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#totp', suite: 'HMAC-SHA256', secretXml: plainSecret(randomBytes(32)), dataExtra: '<Time><PlainValue>0</PlainValue></Time><TimeInterval><PlainValue>60</PlainValue></TimeInterval><TimeDrift><PlainValue>-1</PlainValue></TimeDrift>' }) +
          keyPackage({ serial: 'C', keyId: 'K3', secretXml: plainSecret(randomBytes(20)) }),
      ),
      opts: {},
    },
  ];

  it('every fixture parses unmutated', async () => {
    for (const c of corpus) expect((await parsePskc(c.xml, c.opts)).length).toBeGreaterThan(0);
  });

  it('400 mutations: keys within bounds or a PskcError, never another error, each quickly', async () => {
    const rnd = prng(0x6030);
    const names = Object.keys(MUTATORS);
    const outcomes = { parsed: 0, refused: 0 };
    const started = performance.now();
    let slowest = 0;
    for (let i = 0; i < 400; i++) {
      const c = corpus[i % corpus.length]!;
      const name = names[Math.floor(rnd() * names.length)]!;
      // Sometimes a second mutation on top of the first.
      let doc: string | Buffer = MUTATORS[name]!(c.xml, rnd);
      if (typeof doc === 'string' && rnd() < 0.3) doc = pick(rnd, Object.values(MUTATORS))(doc, rnd);
      const t = performance.now();
      let keys: PskcKey[] | undefined;
      try {
        keys = await parsePskc(doc, c.opts);
      } catch (e) {
        if (!(e instanceof PskcError)) throw new Error(`mutation #${i} (${name} of ${c.name}) threw ${String(e)}`);
        outcomes.refused++;
      }
      slowest = Math.max(slowest, performance.now() - t);
      if (keys === undefined) continue;
      outcomes.parsed++;
      for (const k of keys) {
        expect(k.secret.length).toBeGreaterThanOrEqual(MIN_SECRET_BYTES);
        expect(k.secret.length).toBeLessThanOrEqual(MAX_SECRET_BYTES[k.algorithm]);
        expect(k.counter >= 0n && k.counter <= BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
        expect(Number.isSafeInteger(k.t0) && Number.isSafeInteger(k.period) && k.period >= 1).toBe(true);
        expect(k.serial.length).toBeGreaterThan(0);
      }
    }
    // Both outcomes occur, so the mutations neither all break the file nor all miss it.
    expect(outcomes.parsed).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(100);
    expect(slowest).toBeLessThan(1000);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
