import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parsePskc, PskcError, type PskcErrorCode, type PskcKey } from '../../src/hardware-tokens/pskc.js';
import { hotp, totp } from '../../src/methods/totp/otp.js';

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

function expectPskcError(fn: () => unknown, codes: PskcErrorCode[], extraCanaries: string[] = []): PskcError {
  let result: unknown;
  try {
    result = fn();
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
}): Pbkdf2Doc {
  const keyLength = opts.keyLength ?? 16;
  const salt = randomBytes(8);
  const iterations = opts.iterations ?? 1000;
  const kek = pbkdf2Sync(opts.password, salt, iterations, keyLength, opts.prf ?? 'sha1');
  const macKey = randomBytes(20);
  const secret = randomBytes(20);
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
  it('totp-plaintext.pskc → TT0000001, 8-digit TOTP at t=59 is 94287082', () => {
    const keys = parsePskc(PLAINTEXT, {});
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

  it('accepts a Buffer, with or without a UTF-8 BOM, and UTF-16LE with BOM', () => {
    expect(parsePskc(Buffer.from(PLAINTEXT, 'utf8'), {})[0]!.serial).toBe('TT0000001');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PLAINTEXT, 'utf8')]);
    expect(parsePskc(bom, {})[0]!.serial).toBe('TT0000001');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PLAINTEXT.replace('UTF-8', 'UTF-16'), 'utf16le')]);
    expect(parsePskc(utf16, {})[0]!.serial).toBe('TT0000001');
  });

  it('RFC 6030 Figure 6 with the pre-shared key → 987654321, HOTP c0 = 84755224', () => {
    const keys = parsePskc(FIGURE6, { psk: FIGURE6_PSK });
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

  it('Figure 6 without a key → pskc_key_required', () => {
    expectPskcError(() => parsePskc(FIGURE6, {}), ['pskc_key_required']);
    expectPskcError(() => parsePskc(FIGURE6, { password: 'qwerty' }), ['pskc_key_required']);
  });

  it('Figure 6 with a wrong pre-shared key → error, never keys', () => {
    for (let i = 0; i < 20; i++) {
      expectPskcError(() => parsePskc(FIGURE6, { psk: randomBytes(16) }), ['pskc_decrypt_failed', 'pskc_mac_mismatch']);
    }
    const oneBitOff = Buffer.from(FIGURE6_PSK);
    oneBitOff[15] = (oneBitOff[15] ?? 0) ^ 1;
    expectPskcError(() => parsePskc(FIGURE6, { psk: oneBitOff }), ['pskc_decrypt_failed', 'pskc_mac_mismatch']);
    expectPskcError(() => parsePskc(FIGURE6, { psk: FIGURE6_PSK.subarray(0, 15) }), ['pskc_decrypt_failed']);
  });

  it('flipping any single base64 character of each CipherValue makes the whole import fail', () => {
    const values = cipherValues(FIGURE6);
    expect(values).toHaveLength(2); // MACKey and Secret
    for (let nth = 0; nth < values.length; nth++) {
      const len = values[nth]!.length;
      // Every position: IV bytes, first and last ciphertext blocks, padding.
      for (let pos = 0; pos < len; pos++) {
        const tampered = flipCipherValue(FIGURE6, nth, pos);
        expect(tampered).not.toBe(FIGURE6);
        expectPskcError(() => parsePskc(tampered, { psk: FIGURE6_PSK }), ['pskc_mac_mismatch', 'pskc_decrypt_failed']);
      }
    }
  });

  it('a tampered Secret CipherValue is caught by the MAC, before any decryption', () => {
    // Only the Secret (2nd value) is changed, so the MAC key is intact and
    // the failure must be the MAC check, not a padding error.
    for (const pos of [0, 5, 15, 16, 31, 40, 63]) {
      const err = expectPskcError(() => parsePskc(flipCipherValue(FIGURE6, 1, pos), { psk: FIGURE6_PSK }), ['pskc_mac_mismatch']);
      expect(err.message).toMatch(/ValueMAC/);
    }
  });

  it('flipping a ValueMAC character fails', () => {
    const mac = 'Su+NvtQfmvfJzF6bmQiJqoLRExc=';
    for (let pos = 0; pos < mac.length - 1; pos++) {
      const ch = mac.charAt(pos);
      const bad = mac.slice(0, pos) + (ch === 'A' ? 'B' : 'A') + mac.slice(pos + 1);
      // The last data character carries two padding bits; a change there that
      // only touches them is refused as non-canonical base64.
      expectPskcError(() => parsePskc(FIGURE6.replace(mac, bad), { psk: FIGURE6_PSK }), ['pskc_mac_mismatch', 'pskc_invalid_xml']);
    }
  });

  it('missing ValueMAC while MACMethod is present → pskc_mac_mismatch', () => {
    const noMac = FIGURE6.replace(/<ValueMAC>[^<]*<\/ValueMAC>/, '');
    expectPskcError(() => parsePskc(noMac, { psk: FIGURE6_PSK }), ['pskc_mac_mismatch']);
  });

  it('encrypted values without any MACMethod are refused', () => {
    const noMethod = FIGURE6.replace(/<MACMethod[\s\S]*<\/MACMethod>/, '');
    expectPskcError(() => parsePskc(noMethod, { psk: FIGURE6_PSK }), ['pskc_unsupported']);
  });

  it('two ValueMAC elements are ambiguous → refused', () => {
    const twice = FIGURE6.replace(/(<ValueMAC>[^<]*<\/ValueMAC>)/, '$1$1');
    expectPskcError(() => parsePskc(twice, { psk: FIGURE6_PSK }), ['pskc_invalid_xml']);
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

  it.each(Object.entries(docs))('%s → pskc_doctype_forbidden', (_name, xml) => {
    expectPskcError(() => parsePskc(xml, {}), ['pskc_doctype_forbidden']);
    expectPskcError(() => parsePskc(Buffer.from(xml), {}), ['pskc_doctype_forbidden']);
  });

  it('is not fooled by UTF-16', () => {
    const xml = docs['external entity (XXE)']!;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    expectPskcError(() => parsePskc(le, {}), ['pskc_doctype_forbidden']);
    const be = Buffer.from(xml, 'utf16le').swap16();
    expectPskcError(() => parsePskc(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), {}), ['pskc_doctype_forbidden']);
    // Without a BOM it cannot be read as UTF-8 text at all.
    expectPskcError(() => parsePskc(Buffer.from(xml, 'utf16le'), {}), ['pskc_invalid_xml']);
  });

  it('predefined XML entities in text fields are decoded, undefined ones refused', () => {
    const amp = PLAINTEXT.replace('<Issuer>Acme</Issuer>', '<Issuer>Acme &amp; Co &#x263A;</Issuer>');
    expect(parsePskc(amp, {})[0]!.issuer).toBe('Acme & Co \u263a');
    const undef = PLAINTEXT.replace('<Issuer>Acme</Issuer>', '<Issuer>&nbsp;</Issuer>');
    expectPskcError(() => parsePskc(undef, {}), ['pskc_invalid_xml']);
  });
});

describe('parsePskc: PBKDF2 (RFC 6030 §6.2, Figure 7 shape)', () => {
  it('RFC 6030 Figure 7 itself decrypts with passphrase "qwerty"', () => {
    // The RFC's own example (pskc: prefixes, <PRF/> meaning HMAC-SHA1, no Counter).
    const fig7 = FIGURE7;
    const [k] = parsePskc(fig7, { password: 'qwerty' });
    expect(k).toMatchObject({ serial: '987654321', manufacturer: 'TokenVendorAcme', issuer: 'Example-Issuer', kind: 'hotp', digits: 8, counter: 0n });
    expect(hotp(k!.secret, 0n, { algorithm: 'SHA1', digits: 8 })).toBe('84755224');
    expect(k!.secret.toString('ascii')).toBe(RFC_SECRET);
    expectPskcError(() => parsePskc(fig7, { password: 'qwertz' }), ['pskc_decrypt_failed', 'pskc_mac_mismatch']);
    expectPskcError(() => parsePskc(fig7, {}), ['pskc_key_required']);
    expectPskcError(() => parsePskc(fig7, { psk: Buffer.alloc(16) }), ['pskc_key_required']);
  });

  it('a document encrypted in the test parses back to the same secret', () => {
    const password = 'correct horse battery staple';
    const doc = pbkdf2Document({ password });
    const keys = parsePskc(doc.xml, { password });
    expect(keys).toHaveLength(1);
    expect(keys[0]!.secret.equals(doc.secret)).toBe(true);
    expect(keys[0]).toMatchObject({ serial: 'PB0001', kind: 'hotp', digits: 8, algorithm: 'SHA1' });
    expectPskcError(() => parsePskc(doc.xml, { password: 'wrong' }), ['pskc_decrypt_failed', 'pskc_mac_mismatch'], [doc.secret.toString('base64')]);
  });

  it('AES-256 + HMAC-SHA256 PRF and MAC, TOTP with Suite, TimeInterval and Time', () => {
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
    const [k] = parsePskc(doc.xml, { password });
    expect(k!.secret.equals(doc.secret)).toBe(true);
    expect(k).toMatchObject({ kind: 'totp', algorithm: 'SHA256', digits: 6, period: 60, t0: 1000 });
  });

  it('AES-192 is accepted', () => {
    const password = 'pw';
    const doc = pbkdf2Document({ password, keyLength: 24 });
    expect(parsePskc(doc.xml, { password })[0]!.secret.equals(doc.secret)).toBe(true);
  });

  it('tampering with a PBKDF2-protected document fails', () => {
    const password = 'pw';
    const doc = pbkdf2Document({ password });
    for (let nth = 0; nth < 2; nth++) {
      for (const pos of [0, 10, 20, 30, 40, 50, 60]) {
        expectPskcError(() => parsePskc(flipCipherValue(doc.xml, nth, pos), { password }), ['pskc_mac_mismatch', 'pskc_decrypt_failed']);
      }
    }
  });

  it('refuses absurd iteration counts before doing any work', () => {
    const doc = pbkdf2Document({ password: 'pw' });
    const huge = doc.xml.replace('<IterationCount>1000</IterationCount>', '<IterationCount>4000000000</IterationCount>');
    expectPskcError(() => parsePskc(huge, { password: 'pw' }), ['pskc_unsupported']);
  });
});

describe('parsePskc: structure and all-or-nothing', () => {
  const secret = Buffer.from(RFC_SECRET);

  it('accepts both TOTP algorithm URIs, defaults, and several packages', () => {
    const xml = container(
      keyPackage({ serial: 'A', secretXml: plainSecret(secret), algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc:totp' }) +
        keyPackage({ serial: 'B', secretXml: plainSecret(secret), algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#totp', suite: 'HMAC-SHA512', length: '8' }) +
        keyPackage({ serial: 'C', secretXml: plainSecret(secret), dataExtra: '<Counter><PlainValue>42</PlainValue></Counter>' }),
    );
    const keys = parsePskc(xml, {});
    expect(keys.map((k: PskcKey) => [k.serial, k.kind, k.algorithm, k.digits, k.period, k.t0, k.counter])).toEqual([
      ['A', 'totp', 'SHA1', 6, 30, 0, 0n],
      ['B', 'totp', 'SHA512', 8, 30, 0, 0n],
      ['C', 'hotp', 'SHA1', 6, 30, 0, 42n],
    ]);
    expect(keys[0]).toMatchObject({ manufacturer: 'Acme', model: 'T1', issuer: 'Acme' });
  });

  it('falls back to Key@Id when there is no SerialNo', () => {
    const xml = container(keyPackage({ keyId: 'ID-7', secretXml: plainSecret(secret) }));
    expect(parsePskc(xml, {})[0]!.serial).toBe('ID-7');
  });

  it('one bad package fails the whole file', () => {
    const good = keyPackage({ serial: 'G', secretXml: plainSecret(secret) });
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), length: '7' })), {}), ['pskc_unsupported']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), encoding: 'HEXADECIMAL' })), {}), ['pskc_unsupported']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), suite: 'HMAC-MD5' })), {}), ['pskc_unsupported']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), algorithm: 'urn:ietf:params:xml:ns:keyprov:pskc#OCRA-1' })), {}), ['pskc_unsupported']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: '<PlainValue>not base64!</PlainValue>' })), {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: '' })), {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), dataExtra: '<Counter><PlainValue>-1</PlainValue></Counter>' })), {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc(container(good + keyPackage({ serial: 'X', secretXml: plainSecret(secret), dataExtra: '<TimeInterval><PlainValue>0</PlainValue></TimeInterval>' })), {}), ['pskc_unsupported']);
  });

  it('duplicate serials → pskc_duplicate_serial', () => {
    const xml = container(keyPackage({ serial: 'S1', secretXml: plainSecret(secret) }) + keyPackage({ serial: 'S1', keyId: 'K2', secretXml: plainSecret(randomBytes(20)) }));
    expectPskcError(() => parsePskc(xml, {}), ['pskc_duplicate_serial']);
  });

  it('empty containers → pskc_empty', () => {
    expectPskcError(() => parsePskc(container(''), {}), ['pskc_empty']);
    expectPskcError(() => parsePskc('<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>', {}), ['pskc_empty']);
  });

  it('malformed or foreign XML → pskc_invalid_xml, without quoting the document', () => {
    const secretB64 = Buffer.from(RFC_SECRET).toString('base64');
    expectPskcError(() => parsePskc(PLAINTEXT.replace('</Secret>', ''), {}), ['pskc_invalid_xml'], [secretB64]);
    expectPskcError(() => parsePskc('', {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc('not xml at all', {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc('<Other/>', {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc(`${PLAINTEXT}<KeyContainer/>`, {}), ['pskc_invalid_xml']);
    expectPskcError(() => parsePskc(Buffer.from([0x3c, 0xff, 0xfe, 0x3e]), {}), ['pskc_invalid_xml']);
  });

  it('refuses a KeyContainer version other than 1.0', () => {
    expectPskcError(() => parsePskc(PLAINTEXT.replace('Version="1.0"', 'Version="2.0"'), {}), ['pskc_unsupported']);
  });

  it('PskcError carries a code and a name', () => {
    const err = expectPskcError(() => parsePskc(container(''), {}), ['pskc_empty']);
    expect(err.name).toBe('PskcError');
    expect(err).toBeInstanceOf(Error);
  });
});
