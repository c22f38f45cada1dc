import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import {
  findConsecutivePair,
  findCounter,
  hotp,
  MAX_WINDOW,
  timeStep,
  totp,
  type OtpAlgorithm,
} from '../../src/methods/totp/otp.js';

interface OtpVectors {
  hotp: {
    secretAscii: string;
    secretHex: string;
    algorithm: OtpAlgorithm;
    digits: 6;
    codes: string[];
    codes8: string[];
  };
  totp: {
    period: number;
    t0: number;
    digits: 8;
    secrets: Record<OtpAlgorithm, { ascii: string }>;
    vectors: Array<{ time: number } & Record<OtpAlgorithm, string>>;
  };
}

// The project's own copy of RFC 4226 App. D and RFC 6238 App. B (test/fixtures/README.md).
const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/otp.json', import.meta.url), 'utf8'),
) as OtpVectors;

const ALGS: OtpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
const hotpKey = Buffer.from(vectors.hotp.secretAscii, 'ascii');
const totpKey = (alg: OtpAlgorithm): Buffer => Buffer.from(vectors.totp.secrets[alg].ascii, 'ascii');
const six = { algorithm: 'SHA1', digits: 6 } as const;
const eight = { algorithm: 'SHA1', digits: 8 } as const;

describe('hotp (RFC 4226 Appendix D)', () => {
  it('hex and ascii secrets agree', () => {
    expect(hotpKey.equals(Buffer.from(vectors.hotp.secretHex, 'hex'))).toBe(true);
  });

  it.each(vectors.hotp.codes.map((code, i) => [i, code] as const))('6 digits, counter %i → %s', (i, code) => {
    expect(hotp(hotpKey, BigInt(i), six)).toBe(code);
  });

  it.each(vectors.hotp.codes8.map((code, i) => [i, code] as const))('8 digits, counter %i → %s', (i, code) => {
    expect(hotp(hotpKey, BigInt(i), eight)).toBe(code);
  });

  it('rejects out-of-range counters, empty keys and bad options', () => {
    expect(() => hotp(hotpKey, -1n, six)).toThrow(RangeError);
    expect(() => hotp(hotpKey, 1n << 64n, six)).toThrow(RangeError);
    expect(hotp(hotpKey, (1n << 64n) - 1n, six)).toMatch(/^[0-9]{6}$/);
    expect(() => hotp(Buffer.alloc(0), 0n, six)).toThrow(TypeError);
    expect(() => hotp(hotpKey, 0n, { algorithm: 'MD5' as OtpAlgorithm, digits: 6 })).toThrow(TypeError);
    expect(() => hotp(hotpKey, 0n, { algorithm: 'SHA1', digits: 7 as 6 })).toThrow(TypeError);
  });
});

describe('totp (RFC 6238 Appendix B)', () => {
  const rows = vectors.totp.vectors.flatMap((v) => ALGS.map((alg) => [v.time, alg, v[alg]] as const));

  it.each(rows)('t=%i %s → %s', (time, alg, code) => {
    const opts = { algorithm: alg, digits: vectors.totp.digits, period: vectors.totp.period, t0: vectors.totp.t0 };
    expect(totp(totpKey(alg), time * 1000, opts)).toBe(code);
  });

  it('6-digit TOTP is the last 6 digits of the 8-digit code (t=59)', () => {
    expect(totp(totpKey('SHA1'), 59_000, { ...six, period: 30 })).toBe('287082');
  });

  it('covers the rows the checklist insists on', () => {
    const times = vectors.totp.vectors.map((v) => v.time);
    expect(times).toContain(20_000_000_000);
    expect(times).toContain(1_111_111_109);
  });
});

describe('timeStep', () => {
  it('matches the RFC 6238 T column, including steps above 2^32 seconds', () => {
    expect(timeStep(59_000, 30)).toBe(1n);
    expect(timeStep(1_111_111_109_000, 30)).toBe(0x23523ecn);
    expect(timeStep(2_000_000_000_000, 30)).toBe(0x3f940aan);
    expect(timeStep(20_000_000_000_000, 30)).toBe(0x27bc86aan);
  });

  it('is correct past 2038 (2^31 seconds)', () => {
    const s = 2 ** 31 + 15;
    expect(timeStep(s * 1000, 30)).toBe(BigInt(Math.floor(s / 30)));
  });

  it('floors milliseconds and honours t0 (with floor, not truncation, before t0)', () => {
    expect(timeStep(29_999, 30)).toBe(0n);
    expect(timeStep(30_000, 30)).toBe(1n);
    expect(timeStep(100_000, 30, 40)).toBe(2n);
    expect(timeStep(0, 30, 1)).toBe(-1n);
  });

  it('rejects nonsense periods and times', () => {
    expect(() => timeStep(0, 0)).toThrow(RangeError);
    expect(() => timeStep(0, 1.5)).toThrow(RangeError);
    expect(() => timeStep(Number.NaN, 30)).toThrow(RangeError);
  });
});

describe('findCounter', () => {
  const codes = vectors.hotp.codes;

  it('finds the matching counter inside the window', () => {
    expect(findCounter(hotpKey, codes[0]!, 0n, 9n, six)).toBe(0n);
    expect(findCounter(hotpKey, codes[5]!, 0n, 9n, six)).toBe(5n);
    expect(findCounter(hotpKey, codes[9]!, 9n, 9n, six)).toBe(9n);
  });

  it('refuses codes outside the window (forward-only HOTP, SEC-16)', () => {
    // stored = 0 after using c0: window (0, 10] must refuse c0 and accept c5.
    expect(findCounter(hotpKey, codes[0]!, 1n, 10n, six)).toBeNull();
    expect(findCounter(hotpKey, codes[5]!, 1n, 10n, six)).toBe(5n);
    // stored = 5: c1 is in the past.
    expect(findCounter(hotpKey, codes[1]!, 6n, 15n, six)).toBeNull();
  });

  it('skips negative counters (stored = -1 at import)', () => {
    expect(findCounter(hotpKey, codes[0]!, -5n, 3n, six)).toBe(0n);
    expect(findCounter(hotpKey, codes[0]!, -10n, -1n, six)).toBeNull();
  });

  it('TOTP ±1 step around t=1111111109 (SEC-15): 8-digit code accepted, 7-digit prefix refused', () => {
    const opts = { algorithm: 'SHA1', digits: 8 } as const;
    const step = timeStep(1_111_111_109_000, 30);
    const key = totpKey('SHA1');
    expect(findCounter(key, '07081804', step - 1n, step + 1n, opts)).toBe(step);
    expect(findCounter(key, '7081804', step - 1n, step + 1n, opts)).toBeNull();
    expect(findCounter(key, '007081804', step - 1n, step + 1n, opts)).toBeNull();
    // A code from two steps earlier is outside ±1.
    const old = hotp(key, step - 2n, opts);
    expect(findCounter(key, old, step - 1n, step + 1n, opts)).toBeNull();
  });

  it('refuses non-digit and wrong-length input without throwing', () => {
    for (const bad of ['', '75522', '7552244', '75522a', '７５５２２４', ' 755224', '755 224', '+55224', '-55224', '7.5e+5']) {
      expect(findCounter(hotpKey, bad, 0n, 9n, six)).toBeNull();
    }
    expect(findCounter(hotpKey, 755224 as unknown as string, 0n, 9n, six)).toBeNull();
  });

  it('returns the first match when a code repeats inside the window', () => {
    // Scan until two counters share a code, then check the first is reported.
    const seen = new Map<string, bigint>();
    let pair: [bigint, bigint, string] | undefined;
    for (let c = 0n; c < 2_000_000n && pair === undefined; c++) {
      const code = hotp(hotpKey, c, six);
      const prev = seen.get(code);
      if (prev !== undefined && c - prev < BigInt(MAX_WINDOW)) pair = [prev, c, code];
      seen.set(code, c);
    }
    expect(pair).toBeDefined();
    const [a, b, code] = pair!;
    expect(findCounter(hotpKey, code, a, b, six)).toBe(a);
  });

  it('caps the window at MAX_WINDOW counters', () => {
    expect(MAX_WINDOW).toBe(2000);
    expect(findCounter(hotpKey, codes[0]!, 0n, 1999n, six)).toBe(0n);
    expect(() => findCounter(hotpKey, codes[0]!, 0n, 2000n, six)).toThrow(RangeError);
    expect(() => findCounter(hotpKey, 'x', 0n, 1n << 40n, six)).toThrow(RangeError);
    expect(findCounter(hotpKey, codes[0]!, 5n, 4n, six)).toBeNull();
  });
});

describe('findConsecutivePair', () => {
  const c = vectors.hotp.codes;

  it('finds N for codes N and N+1', () => {
    expect(findConsecutivePair(hotpKey, c[0]!, c[1]!, 0n, 9n, six)).toBe(0n);
    expect(findConsecutivePair(hotpKey, c[4]!, c[5]!, 0n, 9n, six)).toBe(4n);
    // N may be the last counter of the window; N+1 lies just past it.
    expect(findConsecutivePair(hotpKey, c[8]!, c[9]!, 0n, 8n, six)).toBe(8n);
    expect(findConsecutivePair(hotpKey, c[0]!, c[1]!, -3n, 2n, six)).toBe(0n);
  });

  it('works for TOTP enrollment (SEC-14) with 8-digit RFC codes', () => {
    const key = totpKey('SHA1');
    const step = timeStep(59_000, 30);
    const opts = { algorithm: 'SHA1', digits: 8 } as const;
    const next = hotp(key, step + 1n, opts);
    expect(findConsecutivePair(key, '94287082', next, step - 1n, step + 1n, opts)).toBe(step);
  });

  it('refuses the same code twice', () => {
    expect(findConsecutivePair(hotpKey, c[3]!, c[3]!, 0n, 9n, six)).toBeNull();
  });

  it('refuses reversed order (N+1 then N)', () => {
    expect(findConsecutivePair(hotpKey, c[5]!, c[4]!, 0n, 9n, six)).toBeNull();
  });

  it('refuses non-adjacent codes (N then N+2)', () => {
    expect(findConsecutivePair(hotpKey, c[2]!, c[4]!, 0n, 9n, six)).toBeNull();
    expect(findConsecutivePair(hotpKey, c[0]!, c[9]!, 0n, 9n, six)).toBeNull();
  });

  it('refuses pairs whose N lies outside [from, to]', () => {
    expect(findConsecutivePair(hotpKey, c[5]!, c[6]!, 0n, 4n, six)).toBeNull();
    expect(findConsecutivePair(hotpKey, c[1]!, c[2]!, 2n, 9n, six)).toBeNull();
  });

  it('refuses malformed codes and caps the window', () => {
    expect(findConsecutivePair(hotpKey, '75522', c[1]!, 0n, 9n, six)).toBeNull();
    expect(findConsecutivePair(hotpKey, c[0]!, 'abcdef', 0n, 9n, six)).toBeNull();
    expect(() => findConsecutivePair(hotpKey, c[0]!, c[1]!, 0n, 2000n, six)).toThrow(RangeError);
  });
});
