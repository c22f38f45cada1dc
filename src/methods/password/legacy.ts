import { pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
import { verify as argon2Verify } from '@node-rs/argon2';
// bcryptjs: pure JavaScript, its async form works in slices between other events. (@node-rs/bcrypt's
// prebuilt binaries for other platforms are missing from this registry, which breaks `npm ci`.)
import { compare as bcryptVerify } from 'bcryptjs';
import { normalizePassword } from './policy.js';

/**
 * Password hashes made by other systems, kept as they are at import (no hashing then, so 100 000
 * users import in seconds) and checked natively at the user's next sign-in, which re-hashes to
 * argon2id. A stored imported hash is `{<format>}<the hash as imported>` (Spring Security's
 * `{id}` convention): native Mamori hashes never start with `{`, so the prefix alone tells the
 * hasher how to verify, and the original string stays readable for an audit of the migration.
 */
export const IMPORT_FORMATS = ['argon2', 'bcrypt', 'scrypt', 'better-auth-scrypt', 'pbkdf2-sha256'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * Upper bounds on the cost an imported hash may ask for. An importer (or a hostile file) could
 * otherwise store a hash whose every check takes minutes or gigabytes, turning each sign-in
 * attempt at that account into a denial of service. Well above what the source systems use by
 * default (Authelia argon2id m=64 MiB t=3 p=4, bcrypt 10–12, scrypt ln=14–17, Keycloak 27 500 to
 * 600 000 PBKDF2 iterations).
 */
export const HASH_LIMITS = {
  argon2MemoryKiB: 262_144,
  argon2Time: 16,
  argon2Parallelism: 16,
  bcryptMinCost: 4,
  bcryptMaxCost: 16,
  scryptMaxLogN: 20,
  scryptMaxR: 32,
  scryptMaxP: 16,
  /** scrypt needs 128·N·r bytes of memory. */
  scryptMaxMemoryBytes: 1024 * 1024 * 1024,
  pbkdf2MaxIterations: 10_000_000,
  saltMaxBytes: 128,
  keyMinBytes: 16,
  keyMaxBytes: 128,
  /** A hash string longer than this is no hash any of these systems writes. */
  maxLength: 1024,
} as const;

/** Better Auth's fixed parameters (its `account.password`). */
const BETTER_AUTH = { N: 16384, r: 16, p: 1, keyBytes: 64 } as const;

type Parsed =
  | { kind: 'argon2'; phc: string }
  | { kind: 'bcrypt'; hash: string }
  /** `nfkc`: the source normalised the password before hashing (Better Auth); the others hashed it as typed. */
  | { kind: 'scrypt'; N: number; r: number; p: number; salt: Buffer; key: Buffer; nfkc: boolean }
  | { kind: 'pbkdf2-sha256'; iterations: number; salt: Buffer; key: Buffer };

type ParseResult = { ok: Parsed } | { refused: string };

const refuse = (refused: string): ParseResult => ({ refused });

/** Standard base64, padded or not; undefined for anything else (no lenient decoding of typos). */
function base64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const bare = s.replace(/=+$/, '');
  if (bare.length % 4 === 1) return undefined;
  if (s.length !== bare.length && s.length % 4 !== 0) return undefined;
  return Buffer.from(bare, 'base64');
}

function keyAndSalt(salt: Buffer | undefined, key: Buffer | undefined, what: string): { salt: Buffer; key: Buffer } | string {
  if (!salt || !key) return `${what}: the salt and the hash must be base64`;
  if (salt.length > HASH_LIMITS.saltMaxBytes) return `${what}: the salt is longer than ${HASH_LIMITS.saltMaxBytes} bytes`;
  if (key.length < HASH_LIMITS.keyMinBytes || key.length > HASH_LIMITS.keyMaxBytes) {
    return `${what}: the hash must be ${HASH_LIMITS.keyMinBytes} to ${HASH_LIMITS.keyMaxBytes} bytes`;
  }
  return { salt, key };
}

function parseArgon2(hash: string): ParseResult {
  const m = /^\$argon2(id|i)\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
  if (!m) return refuse('argon2: expected a PHC string $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash> (or $argon2i$)');
  const [memory, time, parallelism] = [Number(m[3]), Number(m[4]), Number(m[5])];
  if (memory > HASH_LIMITS.argon2MemoryKiB) return refuse(`argon2: m=${memory} is above the limit of ${HASH_LIMITS.argon2MemoryKiB} KiB`);
  if (time < 1 || time > HASH_LIMITS.argon2Time) return refuse(`argon2: t must be 1 to ${HASH_LIMITS.argon2Time}`);
  if (parallelism < 1 || parallelism > HASH_LIMITS.argon2Parallelism) return refuse(`argon2: p must be 1 to ${HASH_LIMITS.argon2Parallelism}`);
  // Argon2 itself requires m ≥ 8·p KiB; refused here rather than failing at every sign-in.
  if (memory < 8 * parallelism) return refuse('argon2: m must be at least 8·p');
  const checked = keyAndSalt(base64(m[6]!), base64(m[7]!), 'argon2');
  if (typeof checked === 'string') return refuse(checked);
  if (checked.salt.length < 8) return refuse('argon2: the salt must be at least 8 bytes');
  return { ok: { kind: 'argon2', phc: hash } };
}

function parseBcrypt(hash: string): ParseResult {
  // $2x$ marks hashes of PHP's pre-2011 sign-extension bug: they cannot be verified correctly.
  const m = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(hash);
  if (!m) return refuse('bcrypt: expected $2a$, $2b$ or $2y$, a two-digit cost and 53 characters');
  const cost = Number(m[1]);
  if (cost < HASH_LIMITS.bcryptMinCost || cost > HASH_LIMITS.bcryptMaxCost) {
    return refuse(`bcrypt: the cost must be ${HASH_LIMITS.bcryptMinCost} to ${HASH_LIMITS.bcryptMaxCost}`);
  }
  return { ok: { kind: 'bcrypt', hash } };
}

function scryptParams(N: number, r: number, p: number): string | undefined {
  if (r < 1 || r > HASH_LIMITS.scryptMaxR) return `r must be 1 to ${HASH_LIMITS.scryptMaxR}`;
  if (p < 1 || p > HASH_LIMITS.scryptMaxP) return `p must be 1 to ${HASH_LIMITS.scryptMaxP}`;
  if (128 * N * r > HASH_LIMITS.scryptMaxMemoryBytes) return `128·N·r is above the limit of ${HASH_LIMITS.scryptMaxMemoryBytes / 2 ** 20} MiB`;
  return undefined;
}

/** PHC style, as passlib and others write it: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`. */
function parseScrypt(hash: string): ParseResult {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]*={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(hash);
  if (!m) return refuse('scrypt: expected $scrypt$ln=…,r=…,p=…$<salt base64>$<hash base64>');
  const ln = Number(m[1]);
  if (ln < 1 || ln > HASH_LIMITS.scryptMaxLogN) return refuse(`scrypt: ln must be 1 to ${HASH_LIMITS.scryptMaxLogN}`);
  const [N, r, p] = [2 ** ln, Number(m[2]), Number(m[3])];
  const bad = scryptParams(N, r, p);
  if (bad) return refuse(`scrypt: ${bad}`);
  const checked = keyAndSalt(base64(m[4]!), base64(m[5]!), 'scrypt');
  if (typeof checked === 'string') return refuse(checked);
  return { ok: { kind: 'scrypt', N, r, p, ...checked, nfkc: false } };
}

/**
 * Better Auth's `<salt>:<key>`: the salt is 16 random bytes written as hex, and Better Auth feeds
 * that hex *text* (not the bytes) to scrypt, after NFKC-normalising the password.
 */
function parseBetterAuth(hash: string): ParseResult {
  const m = /^([0-9a-fA-F]{2,256}):([0-9a-fA-F]{128})$/.exec(hash);
  if (!m) return refuse('better-auth-scrypt: expected <salt hex>:<key hex> with a 64-byte key');
  return { ok: { kind: 'scrypt', N: BETTER_AUTH.N, r: BETTER_AUTH.r, p: BETTER_AUTH.p, salt: Buffer.from(m[1]!, 'utf8'), key: Buffer.from(m[2]!, 'hex'), nfkc: true } };
}

/** Keycloak's pbkdf2-sha256 credential, joined as `<hashIterations>$<salt>$<value>` (both base64). */
function parsePbkdf2(hash: string): ParseResult {
  const m = /^(\d{1,9})\$([A-Za-z0-9+/]*={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(hash);
  if (!m) return refuse('pbkdf2-sha256: expected <iterations>$<salt base64>$<hash base64>');
  const iterations = Number(m[1]);
  if (iterations < 1 || iterations > HASH_LIMITS.pbkdf2MaxIterations) return refuse(`pbkdf2-sha256: iterations must be 1 to ${HASH_LIMITS.pbkdf2MaxIterations}`);
  const checked = keyAndSalt(base64(m[2]!), base64(m[3]!), 'pbkdf2-sha256');
  if (typeof checked === 'string') return refuse(checked);
  return { ok: { kind: 'pbkdf2-sha256', iterations, ...checked } };
}

const PARSERS: Record<ImportFormat, (hash: string) => ParseResult> = {
  argon2: parseArgon2,
  bcrypt: parseBcrypt,
  scrypt: parseScrypt,
  'better-auth-scrypt': parseBetterAuth,
  'pbkdf2-sha256': parsePbkdf2,
};

const isFormat = (f: string): f is ImportFormat => (IMPORT_FORMATS as readonly string[]).includes(f);

function parse(format: string, hash: string): ParseResult {
  if (!isFormat(format)) return refuse(`unknown password format (one of ${IMPORT_FORMATS.join(', ')})`);
  if (hash.length > HASH_LIMITS.maxLength) return refuse(`${format}: the hash is longer than ${HASH_LIMITS.maxLength} characters`);
  return PARSERS[format](hash);
}

/**
 * Checks a foreign hash at import, without hashing anything: its shape, its encoding and that its
 * cost is within HASH_LIMITS. Returns what users.password_hash stores, or why the line is refused.
 */
export function importHash(format: string, hash: string): { stored: string } | { refused: string } {
  const r = parse(format, hash);
  return 'refused' in r ? r : { stored: `{${format}}${hash}` };
}

/** True for a stored hash that came from an import (native argon2id hashes never start with `{`). */
export function isImportedHash(stored: string): boolean {
  return stored.startsWith('{');
}

/** The import format of a stored imported hash, for the audit event of its re-hash. */
export function importedFormat(stored: string): ImportFormat | undefined {
  const f = /^\{([a-z0-9-]+)\}/.exec(stored)?.[1];
  return f !== undefined && isFormat(f) ? f : undefined;
}

function scryptKey(password: Buffer, salt: Buffer, keylen: number, N: number, r: number, p: number): Promise<Buffer> {
  // Node refuses to use more than maxmem (32 MiB by default); twice the need is what Better Auth sets.
  const maxmem = 2 * 128 * N * r + 1024 * 1024;
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))));
}

function pbkdf2Key(password: Buffer, salt: Buffer, iterations: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2(password, salt, iterations, keylen, 'sha256', (err, key) => (err ? reject(err) : resolve(key))));
}

async function verifyParsed(h: Parsed, password: string): Promise<boolean> {
  switch (h.kind) {
    case 'argon2':
      return argon2Verify(h.phc, password);
    case 'bcrypt':
      // $2y$ is PHP's name for $2b$; the library checks all three the same way.
      return bcryptVerify(password, h.hash);
    case 'scrypt': {
      const key = await scryptKey(Buffer.from(h.nfkc ? normalizePassword(password) : password, 'utf8'), h.salt, h.key.length, h.N, h.r, h.p);
      return timingSafeEqual(key, h.key);
    }
    case 'pbkdf2-sha256': {
      const key = await pbkdf2Key(Buffer.from(password, 'utf8'), h.salt, h.iterations, h.key.length);
      return timingSafeEqual(key, h.key);
    }
  }
}

/**
 * Checks a password against a stored imported hash, each format as its source system checks it
 * (the password as typed; NFKC for Better Auth, which normalises). All of the work runs on
 * libuv's pool, off the event loop. Never throws: a stored string that does not parse (it was
 * edited in the database, say) is simply no match.
 */
export async function verifyImportedHash(stored: string, password: string): Promise<boolean> {
  const m = /^\{([a-z0-9-]+)\}([\s\S]*)$/.exec(stored);
  if (!m) return false;
  const r = parse(m[1]!, m[2]!);
  if ('refused' in r) return false;
  try {
    return await verifyParsed(r.ok, password);
  } catch {
    return false;
  }
}
