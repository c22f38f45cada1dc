import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { hotp, totp } from '../../src/methods/totp/otp.js';
import { base32Encode } from '../../src/methods/totp/otpauth.js';

// Cross-check against an independent implementation (OATH Toolkit). The
// Debian package is `oathtool`; without it the suite is skipped, not failed.
const OATHTOOL = '/usr/bin/oathtool';
const hasOathtool = existsSync(OATHTOOL);

function oathtool(args: string[]): string {
  return execFileSync(OATHTOOL, args, { encoding: 'utf8', timeout: 10_000 }).trim();
}

describe('interop with oathtool', () => {
  // One random secret per run; the base32 form (unpadded, as in our URIs)
  // goes to oathtool, so the encoder is exercised too.
  const secret = randomBytes(20);
  const b32 = base32Encode(secret);
  const times = [0, 59, 1_111_111_109, 1_234_567_890, 2_000_000_000, 2_147_483_647, 2_147_483_648, 4_102_444_800, 20_000_000_000];

  it.skipIf(!hasOathtool)(`6-digit TOTP matches oathtool --totp at fixed times (install: apt-get install -y oathtool)`, () => {
    for (const t of times) {
      const ours = totp(secret, t * 1000, { algorithm: 'SHA1', digits: 6, period: 30 });
      expect(ours, `t=${t}`).toBe(oathtool(['--totp', '-b', b32, '-N', `@${t}`]));
    }
  });

  it.skipIf(!hasOathtool)('TOTP matches with a UTC date string, as in the brief', () => {
    const t = 1_700_000_000;
    const utc = new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    expect(totp(secret, t * 1000, { algorithm: 'SHA1', digits: 6, period: 30 })).toBe(
      oathtool(['--totp', '-b', b32, '--now', utc]),
    );
  });

  it.skipIf(!hasOathtool)('8-digit SHA256/SHA512 TOTP and a 60 s step also match', () => {
    for (const alg of ['SHA256', 'SHA512'] as const) {
      for (const t of [59, 1_111_111_109, 20_000_000_000]) {
        const ours = totp(secret, t * 1000, { algorithm: alg, digits: 8, period: 60 });
        expect(ours, `${alg} t=${t}`).toBe(
          oathtool([`--totp=${alg.toLowerCase()}`, '-d', '8', '-s', '60s', '-b', b32, '-N', `@${t}`]),
        );
      }
    }
  });

  it.skipIf(!hasOathtool)('6-digit HOTP matches oathtool -c N', () => {
    for (const n of [0, 1, 2, 9, 10, 1000, 123_456, 4_294_967_295, 4_294_967_296]) {
      expect(hotp(secret, BigInt(n), { algorithm: 'SHA1', digits: 6 }), `c=${n}`).toBe(
        oathtool(['-b', b32, '-c', String(n)]),
      );
    }
  });

  it.skipIf(hasOathtool)('oathtool not installed: interop checks skipped (apt-get install -y oathtool)', () => {
    expect(hasOathtool).toBe(false);
  });
});
