import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import {
  base32Decode,
  base32Encode,
  otpauthUri,
  parseOtpauthUri,
} from '../../src/methods/totp/otpauth.js';

describe('base32 (RFC 4648 §10 test vectors)', () => {
  // The RFC vectors are padded; our encoder omits padding (Key URI format).
  const rfc: Array<[string, string]> = [
    ['', ''],
    ['f', 'MY======'],
    ['fo', 'MZXQ===='],
    ['foo', 'MZXW6==='],
    ['foob', 'MZXW6YQ='],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI======'],
  ];

  it.each(rfc)('encode(%j) = %s without padding', (plain, encoded) => {
    expect(base32Encode(Buffer.from(plain, 'ascii'))).toBe(encoded.replace(/=+$/, ''));
  });

  it.each(rfc)('decode accepts padded and unpadded forms of %j', (plain, encoded) => {
    expect(base32Decode(encoded).toString('ascii')).toBe(plain);
    expect(base32Decode(encoded.replace(/=+$/, '')).toString('ascii')).toBe(plain);
  });

  it('RFC 4226 / RFC 6238 secrets', () => {
    expect(base32Encode(Buffer.from('12345678901234567890'))).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====').toString()).toBe(
      '12345678901234567890123456789012',
    );
    expect(base32Decode('GEZDGNBVGY3TQOJQ'.repeat(6) + 'GEZDGNA=').toString()).toBe(
      '1234567890123456789012345678901234567890123456789012345678901234',
    );
  });

  it('is case-insensitive and ignores spaces (as apps display secrets)', () => {
    expect(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq').toString()).toBe('12345678901234567890');
  });

  it('round-trips random buffers of every length 0..64', () => {
    for (let n = 0; n <= 64; n++) {
      const buf = randomBytes(n);
      const enc = base32Encode(buf);
      expect(enc).toMatch(/^[A-Z2-7]*$/);
      expect(base32Decode(enc).equals(buf)).toBe(true);
    }
  });

  it('a 20-byte secret is 32 characters (SEC-11)', () => {
    expect(base32Encode(randomBytes(20))).toHaveLength(32);
  });

  it('throws on invalid characters and impossible lengths, without echoing input', () => {
    for (const bad of ['GEZDGNB0', 'GEZDGNB1', 'GEZDGNB8', 'MZXW6YT!', 'MZ=XW6YTB', 'A', 'ABC', 'ABCDEFGHI']) {
      expect(() => base32Decode(bad)).toThrow(TypeError);
    }
    try {
      base32Decode('SECRETSECRET0');
    } catch (e) {
      expect((e as Error).message).not.toContain('SECRET');
    }
  });
});

describe('otpauth URI (checklist §4)', () => {
  const secret = Buffer.from('12345678901234567890');

  it('matches the checklist example exactly', () => {
    const uri = otpauthUri({
      type: 'totp',
      issuer: 'Acme',
      account: 'alice@example.com',
      secret,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    expect(uri).toBe(
      'otpauth://totp/Acme:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('defaults period to 30 and parses back: secret is 20 bytes, label issuer == issuer', () => {
    const uri = otpauthUri({ type: 'totp', issuer: 'Acme', account: 'bob', secret, algorithm: 'SHA1', digits: 6 });
    expect(uri).toContain('&period=30');
    const parsed = parseOtpauthUri(uri);
    expect(parsed.secret).toHaveLength(20);
    expect(parsed.secret.equals(secret)).toBe(true);
    const label = decodeURIComponent(new URL(uri).pathname.slice(1));
    expect(label.split(':')[0]).toBe(new URL(uri).searchParams.get('issuer'));
    expect(parsed).toMatchObject({ type: 'totp', issuer: 'Acme', account: 'bob', algorithm: 'SHA1', digits: 6, period: 30 });
  });

  it('has no base32 padding even for secrets that are not multiples of 5 bytes', () => {
    const uri = otpauthUri({
      type: 'totp',
      issuer: 'Acme',
      account: 'a',
      secret: Buffer.from('12345678901234567890123456789012'),
      algorithm: 'SHA256',
      digits: 8,
    });
    expect(uri).not.toContain('%3D');
    expect(uri).not.toMatch(/secret=[A-Z2-7]*=/);
    expect(new URL(uri).searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA');
  });

  it('URI-encodes both label parts and the issuer parameter (UTF-8, spaces as %20)', () => {
    const uri = otpauthUri({
      type: 'totp',
      issuer: 'Big Corp & Söhne',
      account: 'jörg+test@example.com',
      secret,
      algorithm: 'SHA1',
      digits: 6,
    });
    expect(uri.startsWith('otpauth://totp/Big%20Corp%20%26%20S%C3%B6hne:j%C3%B6rg%2Btest%40example.com?')).toBe(true);
    expect(uri).toContain('&issuer=Big%20Corp%20%26%20S%C3%B6hne&');
    expect(uri).not.toContain('+');
    const parsed = parseOtpauthUri(uri);
    expect(parsed.issuer).toBe('Big Corp & Söhne');
    expect(parsed.account).toBe('jörg+test@example.com');
  });

  it('hotp carries counter and no period', () => {
    const uri = otpauthUri({ type: 'hotp', issuer: 'Acme', account: 'tok', secret, algorithm: 'SHA1', digits: 6, counter: 42n });
    expect(uri).toMatch(/^otpauth:\/\/hotp\/Acme:tok\?/);
    expect(uri).toContain('&counter=42');
    expect(uri).not.toContain('period=');
    expect(parseOtpauthUri(uri)).toMatchObject({ type: 'hotp', counter: 42n });
    expect(parseOtpauthUri(uri).period).toBeUndefined();
  });

  it('refuses colons in the label parts and inconsistent parameters', () => {
    const base = { type: 'totp', issuer: 'Acme', account: 'a', secret, algorithm: 'SHA1', digits: 6 } as const;
    expect(() => otpauthUri({ ...base, issuer: 'Ac:me' })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, account: 'a:b' })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, issuer: '' })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, secret: Buffer.alloc(0) })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, counter: 1n })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, type: 'hotp' })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, period: 0 })).toThrow(TypeError);
    expect(() => otpauthUri({ ...base, digits: 7 as 6 })).toThrow(TypeError);
  });

  it('parser applies the documented defaults and accepts spaces after the colon', () => {
    const p = parseOtpauthUri('otpauth://totp/Example:%20alice@google.com?secret=JBSWY3DPEHPK3PXP');
    expect(p).toMatchObject({ type: 'totp', issuer: 'Example', account: 'alice@google.com', algorithm: 'SHA1', digits: 6, period: 30 });
    expect(parseOtpauthUri('otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP').issuer).toBeUndefined();
  });

  it('parser refuses malformed or hostile URIs', () => {
    const bad = [
      'https://totp/Acme:a?secret=JBSWY3DPEHPK3PXP',
      'otpauth://xotp/Acme:a?secret=JBSWY3DPEHPK3PXP',
      'otpauth://totp/Acme:a?issuer=Acme',
      'otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PX1',
      'otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&issuer=Evil',
      'otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP',
      'otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&digits=7',
      'otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5',
      'otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&period=0',
      'otpauth://hotp/Acme:a?secret=JBSWY3DPEHPK3PXP',
      'otpauth://totp/Acme:a:b?secret=JBSWY3DPEHPK3PXP',
      'otpauth://totp/%E0%A4%A?secret=JBSWY3DPEHPK3PXP',
    ];
    for (const uri of bad) expect(() => parseOtpauthUri(uri), uri).toThrow(TypeError);
  });

  it('parse errors never quote the secret', () => {
    try {
      parseOtpauthUri('otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP&issuer=Evil');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('JBSWY3DPEHPK3PXP');
    }
  });
});
