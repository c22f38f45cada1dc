import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HASH_LIMITS, IMPORT_FORMATS, importHash, importedFormat } from '../../src/methods/password/legacy.js';
import { PasswordHasher } from '../../src/methods/password/hasher.js';

interface Fixtures {
  rfc7914_pbkdf2_hmac_sha256: Array<{ P: string; S: string; c: number; dkLen: number; DK: string }>;
  rfc7914_scrypt: Array<{ P: string; S: string; N: number; r: number; p: number; dkLen: number; DK: string; heavy?: boolean }>;
  bcrypt: Array<{ password: string; hash: string }>;
  argon2: Array<{ password: string; hash: string }>;
  better_auth_scrypt: Array<{ password: string; nfkc?: string; hash: string }>;
  keycloak_pbkdf2_sha256_credential: { password: string; credential: { type: string; secretData: string; credentialData: string } };
}

const fx = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/password-hashes.json'), 'utf8')) as Fixtures;
const hasher = new PasswordHasher();
const b64 = (s: string | Buffer, pad = true) => {
  const out = Buffer.from(s).toString('base64');
  return pad ? out : out.replace(/=+$/, '');
};
const hexB64 = (hex: string, pad = true) => b64(Buffer.from(hex, 'hex'), pad);

/** The stored form, or the test fails with the refusal. */
function stored(format: string, hash: string): string {
  const r = importHash(format, hash);
  if ('refused' in r) throw new Error(`refused ${format}: ${r.refused}`);
  return r.stored;
}

function refusal(format: string, hash: string): string {
  const r = importHash(format, hash);
  if (!('refused' in r)) throw new Error(`accepted ${format} ${hash}`);
  return r.refused;
}

const phcScrypt = (v: { S: string; N: number; r: number; p: number; DK: string }) => `$scrypt$ln=${Math.log2(v.N)},r=${v.r},p=${v.p}$${b64(v.S, false)}$${hexB64(v.DK, false)}`;

describe('imported password hashes (checked at import, verified natively at sign-in)', () => {
  it('PBKDF2-HMAC-SHA256: the RFC 7914 §11 vectors, in the <iterations>$<salt>$<hash> layout', async () => {
    for (const v of fx.rfc7914_pbkdf2_hmac_sha256) {
      const s = stored('pbkdf2-sha256', `${v.c}$${b64(v.S)}$${hexB64(v.DK)}`);
      expect(s.startsWith('{pbkdf2-sha256}')).toBe(true);
      expect(await hasher.verify(s, v.P)).toBe(true);
      expect(await hasher.verify(s, `${v.P}x`)).toBe(false);
      expect(hasher.needsRehash(s)).toBe(true);
      expect(importedFormat(s)).toBe('pbkdf2-sha256');
    }
  });

  it('scrypt: the RFC 7914 §12 vectors as PHC strings; the 1 GiB vector is at the limit, beyond it refused', async () => {
    for (const v of fx.rfc7914_scrypt.filter((x) => !x.heavy)) {
      const s = stored('scrypt', phcScrypt(v));
      expect(await hasher.verify(s, v.P)).toBe(true);
      expect(await hasher.verify(s, `${v.P}!`)).toBe(false);
    }
    // N = 2^20, r = 8 needs 1 GiB: accepted (the limit), not computed here.
    const heavy = fx.rfc7914_scrypt.find((x) => x.heavy)!;
    expect(stored('scrypt', phcScrypt(heavy))).toMatch(/^\{scrypt\}\$scrypt\$ln=20,/);
    expect(refusal('scrypt', phcScrypt({ ...heavy, N: 2 ** 21 }))).toMatch(/ln must be/);
    expect(refusal('scrypt', phcScrypt({ ...heavy, r: 9 }))).toMatch(/above the limit/);
    expect(refusal('scrypt', phcScrypt({ ...heavy, N: 16, p: 17 }))).toMatch(/p must be/);
    expect(refusal('scrypt', '$scrypt$ln=14,r=8$c2FsdA$AAAA')).toMatch(/expected/);
  });

  it('bcrypt: well-known $2a$, $2b$ and $2y$ vectors; $2x$ and absurd costs refused', async () => {
    for (const v of fx.bcrypt) {
      const s = stored('bcrypt', v.hash);
      expect(await hasher.verify(s, v.password)).toBe(true);
      expect(await hasher.verify(s, `${v.password}x`)).toBe(false);
    }
    const [first] = fx.bcrypt;
    expect(refusal('bcrypt', first!.hash.replace('$2a$', '$2x$'))).toMatch(/\$2a\$, \$2b\$ or \$2y\$/);
    expect(refusal('bcrypt', first!.hash.replace('$05$', '$17$'))).toMatch(/cost must be 4 to 16/);
    expect(refusal('bcrypt', first!.hash.replace('$05$', '$03$'))).toMatch(/cost must be 4 to 16/);
    expect(refusal('bcrypt', first!.hash.slice(0, -1))).toMatch(/53 characters/);
  });

  it('argon2i and argon2id PHC strings (the reference implementation vectors); argon2d and absurd costs refused', async () => {
    for (const v of fx.argon2) {
      const s = stored('argon2', v.hash);
      // Imported argon2id is re-hashed too: it may have other parameters, and it hashed the password as typed.
      expect(hasher.needsRehash(s)).toBe(true);
      expect(await hasher.verify(s, v.password)).toBe(true);
      expect(await hasher.verify(s, 'Password')).toBe(false);
    }
    const id = fx.argon2[1]!.hash;
    expect(refusal('argon2', id.replace('$argon2id$', '$argon2d$'))).toMatch(/PHC string/);
    expect(refusal('argon2', id.replace('m=65536', `m=${HASH_LIMITS.argon2MemoryKiB * 2}`))).toMatch(/above the limit/);
    expect(refusal('argon2', id.replace('t=2', 't=100'))).toMatch(/t must be/);
    expect(refusal('argon2', id.replace('p=4', 'p=0'))).toMatch(/p must be/);
    expect(refusal('argon2', id.replace('c29tZXNhbHQ', 'c29t'))).toMatch(/salt must be at least 8 bytes/);
  });

  it("Better Auth's <salt hex>:<key hex> (N=16384, r=16, p=1, 64 bytes), NFKC as Better Auth normalises", async () => {
    for (const v of fx.better_auth_scrypt) {
      const s = stored('better-auth-scrypt', v.hash);
      expect(await hasher.verify(s, v.password)).toBe(true);
      if (v.nfkc) expect(await hasher.verify(s, v.nfkc)).toBe(true);
      expect(await hasher.verify(s, `${v.password} `)).toBe(false);
    }
    const h = fx.better_auth_scrypt[0]!.hash;
    expect(refusal('better-auth-scrypt', h.replace(':', ''))).toMatch(/<salt hex>:<key hex>/);
    expect(refusal('better-auth-scrypt', h.slice(0, -2))).toMatch(/64-byte key/);
  });

  it("Keycloak's pbkdf2-sha256 credential (hashIterations, salt, value), joined as the import wants it", async () => {
    const { password, credential } = fx.keycloak_pbkdf2_sha256_credential;
    const secret = JSON.parse(credential.secretData) as { value: string; salt: string };
    const data = JSON.parse(credential.credentialData) as { hashIterations: number; algorithm: string };
    expect(data.algorithm).toBe('pbkdf2-sha256');
    const s = stored('pbkdf2-sha256', `${data.hashIterations}$${secret.salt}$${secret.value}`);
    expect(await hasher.verify(s, password)).toBe(true);
    expect(await hasher.verify(s, 'password')).toBe(false);
    expect(refusal('pbkdf2-sha256', `${HASH_LIMITS.pbkdf2MaxIterations + 1}$${secret.salt}$${secret.value}`)).toMatch(/iterations must be/);
    expect(refusal('pbkdf2-sha256', `27500$${secret.salt}$${secret.value.slice(0, 8)}`)).toMatch(/16 to 128 bytes/);
    expect(refusal('pbkdf2-sha256', `27500$no base64!$${secret.value}`)).toMatch(/expected/);
  });

  it('refuses unknown formats and malformed strings at import, never throwing', () => {
    expect(refusal('md5', 'x')).toMatch(/unknown password format/);
    expect(refusal('bcrypt', 'x'.repeat(HASH_LIMITS.maxLength + 1))).toMatch(/longer than/);
    // Random and hostile strings: each call answers, none throws.
    const samples = ['', '$', '$$$$', ':', '{bcrypt}$2b$', '\u0000\n', '$argon2id$v=19$m=,t=,p=$$', '1$=$=', '$scrypt$ln=99999999999,r=1,p=1$$AAAA'];
    for (let i = 0; i < 200; i++) samples.push(randomBytes(1 + (i % 90)).toString(i % 2 ? 'base64' : 'latin1'));
    for (const format of IMPORT_FORMATS) {
      for (const s of samples) expect(() => importHash(format, s)).not.toThrow();
    }
  });

  it('a stored string that does not parse, or exceeds the limits, is no match (never an exception at sign-in)', async () => {
    for (const s of ['{bcrypt}garbage', '{nope}x', '{', '{scrypt}$scrypt$ln=30,r=8,p=1$c2FsdA$' + 'A'.repeat(43), '{pbkdf2-sha256}99999999$c2FsdA==$' + 'A'.repeat(44)]) {
      expect(await hasher.verify(s, 'anything')).toBe(false);
      expect(hasher.needsRehash(s)).toBe(true);
    }
  });

  it('native argon2id hashes are unchanged: verified with NFKC, no re-hash at current parameters', async () => {
    const h = await hasher.hash('Ｐａｓｓｗｏｒｄ ｆｕｌｌｗｉｄｔｈ');
    expect(hasher.needsRehash(h)).toBe(false);
    expect(importedFormat(h)).toBeUndefined();
    expect(await hasher.verify(h, 'Password fullwidth')).toBe(true);
    expect(await hasher.verify(null, 'anything')).toBe(false);
  });

  it('a hasher of other parameters hashes with them and asks to re-hash the production ones, and the other way round', async () => {
    const quick = new PasswordHasher(undefined, { memoryCost: 1024, timeCost: 1, parallelism: 1 });
    const q = await quick.hash('correct horse battery staple');
    const p = await hasher.hash('correct horse battery staple');
    expect(q).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(p).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect([quick.needsRehash(q), quick.needsRehash(p), hasher.needsRehash(q), hasher.needsRehash(p)]).toEqual([false, true, true, false]);
    // Either verifies the other's hash: the parameters travel in the hash.
    expect(await hasher.verify(q, 'correct horse battery staple')).toBe(true);
    expect(await quick.verify(p, 'correct horse battery staple')).toBe(true);
    expect(await quick.verify(null, 'correct horse battery staple')).toBe(false);
  });
});
