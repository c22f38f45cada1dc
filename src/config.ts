import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type EmailCodeMode = 'when_no_mfa' | 'off';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  /** True when MAMORI_PUBLIC_URL was not given: `serve` then follows the port it really got. */
  publicUrlDefaulted: boolean;
  dataDir: string;
  databaseUrl: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Base64 of 32 bytes; the newest first. Older keys only decrypt (see `mamori keys rotate`). */
  masterKeys: Buffer[];
  requireMfa: boolean;
  emailCode: EmailCodeMode;
  logLevel: LogLevel;
  issuer: string;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  /** Failed sign-ins per client address per window; 0 = off. */
  ipFailureLimit: number;
  ipFailureWindowMinutes: number;
  /** Minutes after which an MFA lock lifts by itself; 0 = only an administrator lifts it. */
  mfaLockMinutes: number;
  resyncWindowMinutes: number;
  trustProxy: boolean;
  /** Enables POST /api/v1/test/clock. Never in production. */
  testClock: boolean;
  bodyLimitBytes: number;
  /** The bearer token `/metrics` asks for; unset, `/metrics` does not exist. */
  metricsToken: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function enumVar<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function urlVar(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

function decodeKey(name: string, b64: string): Buffer {
  const key = Buffer.from(b64.trim(), 'base64');
  if (key.length !== 32 || key.toString('base64') !== b64.trim()) {
    throw new ConfigError(name, 'must be the base64 encoding of exactly 32 bytes');
  }
  return key;
}

/** A shared secret given in the environment: long enough not to be guessed, never echoed back. */
function tokenVar(env: Env, name: string, minLength: number): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters (e.g. openssl rand -base64 32)`);
  return raw;
}

/** Creates a file with a fresh secret (mode 0600) unless it exists, and returns its content. */
export function ensureSecretFile(file: string, make: () => string): string {
  if (!existsSync(file)) {
    writeFileSync(file, make() + '\n', { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

export function devPreviousKeysFile(dataDir: string): string {
  return path.join(dataDir, 'master.key.previous');
}

export function devMasterKeyFile(dataDir: string): string {
  return path.join(dataDir, 'master.key');
}

/**
 * Reads and checks the environment. Every problem names the variable, so an operator can fix it
 * from the first line of output.
 */
export function loadConfig(env: Env = process.env): Config {
  const host = env.MAMORI_HOST || '127.0.0.1';
  const port = intVar(env, 'MAMORI_PORT', 8080, 0, 65535);
  const publicUrl = urlVar(env, 'MAMORI_PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`;
  const publicOrigin = new URL(publicUrl);
  if (publicOrigin.pathname !== '/' || publicOrigin.search || publicOrigin.hash) {
    throw new ConfigError('MAMORI_PUBLIC_URL', 'must be an origin without a path, e.g. https://id.example.com');
  }
  const dataDir = path.resolve(env.MAMORI_DATA_DIR || './data');
  const databaseUrl = urlVar(env, 'MAMORI_DATABASE_URL', ['postgres:', 'postgresql:']);
  const smtpUrl = urlVar(env, 'MAMORI_SMTP_URL', ['smtp:', 'smtps:']);
  const mailFrom = env.MAMORI_MAIL_FROM || 'Mamori <no-reply@localhost>';
  if (!/^[^\r\n]*@[^\r\n]+$/.test(mailFrom)) {
    throw new ConfigError('MAMORI_MAIL_FROM', 'must be an address like "Mamori <no-reply@example.com>"');
  }

  let masterKeys: Buffer[];
  if (env.MAMORI_MASTER_KEY) {
    masterKeys = [decodeKey('MAMORI_MASTER_KEY', env.MAMORI_MASTER_KEY)];
  } else {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const b64 = ensureSecretFile(devMasterKeyFile(dataDir), () => randomBytes(32).toString('base64'));
    masterKeys = [decodeKey(`MAMORI_MASTER_KEY (from ${devMasterKeyFile(dataDir)})`, b64)];
    // Keys replaced by `mamori keys rotate --generate` stay readable until every row is re-sealed.
    const previous = devPreviousKeysFile(dataDir);
    if (existsSync(previous)) {
      for (const line of readFileSync(previous, 'utf8').split('\n').filter(Boolean)) masterKeys.push(decodeKey(previous, line));
    }
  }
  for (const [i, old] of (env.MAMORI_OLD_MASTER_KEYS ?? '').split(',').filter(Boolean).entries()) {
    masterKeys.push(decodeKey(`MAMORI_OLD_MASTER_KEYS[${i}]`, old));
  }

  return {
    host,
    port,
    publicUrl: publicOrigin.origin,
    publicUrlDefaulted: !env.MAMORI_PUBLIC_URL,
    dataDir,
    databaseUrl,
    smtpUrl,
    mailFrom,
    masterKeys,
    requireMfa: boolVar(env, 'MAMORI_REQUIRE_MFA', false),
    emailCode: enumVar(env, 'MAMORI_EMAIL_CODE', ['when_no_mfa', 'off'] as const, 'when_no_mfa'),
    logLevel: enumVar(
      env,
      'MAMORI_LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    issuer: env.MAMORI_ISSUER || 'Mamori',
    sessionIdleMinutes: intVar(env, 'MAMORI_SESSION_IDLE_MINUTES', 30, 1, 24 * 60),
    sessionAbsoluteHours: intVar(env, 'MAMORI_SESSION_ABSOLUTE_HOURS', 12, 1, 24 * 30),
    ipFailureLimit: intVar(env, 'MAMORI_IP_FAILURE_LIMIT', 100, 0, 1_000_000),
    ipFailureWindowMinutes: intVar(env, 'MAMORI_IP_FAILURE_WINDOW_MINUTES', 10, 1, 24 * 60),
    mfaLockMinutes: intVar(env, 'MAMORI_MFA_LOCK_MINUTES', 0, 0, 7 * 24 * 60),
    resyncWindowMinutes: intVar(env, 'MAMORI_RESYNC_WINDOW_MINUTES', 10, 1, 24 * 60),
    trustProxy: boolVar(env, 'MAMORI_TRUST_PROXY', false),
    testClock: boolVar(env, 'MAMORI_TEST_CLOCK', false),
    bodyLimitBytes: intVar(env, 'MAMORI_BODY_LIMIT', 64 * 1024, 1024, 10 * 1024 * 1024),
    metricsToken: tokenVar(env, 'MAMORI_METRICS_TOKEN', 32),
  };
}
