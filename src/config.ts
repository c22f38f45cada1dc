import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export type EmailCodeMode = 'when_no_mfa' | 'off';
/** Who must hold an MFA device (MAMORI_REQUIRE_MFA `false` | `true` | `admins`). */
export type RequireMfa = 'off' | 'all' | 'admins';
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
  requireMfa: RequireMfa;
  /** Days a user under the rule may still sign in without MFA, from their first sign-in under it. */
  mfaGraceDays: number;
  /**
   * "Remember this browser": days a browser may skip the second factor after one (0 = not
   * offered, the default; at most 30, src/flows/remembered-browsers.ts).
   */
  rememberBrowserDays: number;
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
  /**
   * Addresses and networks (CIDR) whose `X-Forwarded-*` / `X-Original-*` headers are believed:
   * the client address, and the target of a forward-auth check.
   */
  trustedProxies: string[];
  /** The domain the session cookie is set for (unset: host-only), so one sign-in covers the apps under it. */
  cookieDomain: string | undefined;
  /** The settings file (`MAMORI_CONFIG`): its sections that are not environment variables (forward-auth rules…). */
  file: FileSettings;
  /** Enables POST /api/v1/test/clock. Never in production. */
  testClock: boolean;
  bodyLimitBytes: number;
  /** The bearer token `/metrics` asks for; unset, `/metrics` does not exist. */
  metricsToken: string | undefined;
  /**
   * Administrators needed for the acts that could strip a user's protection (another user's MFA
   * devices, the admin role, disabling): 1 = one (the default), 2 = the two-person rule.
   */
  adminApprovals: 1 | 2;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** The sections of the settings file that no environment variable expresses, each checked by its owner. */
export interface FileSettings {
  /** Where the file was read from, for messages. */
  source: string | undefined;
  forwardAuth: unknown;
}

/**
 * Settings-file keys that stand for an environment variable (the variable wins when both are
 * set). Everything else in the file must be one of the sections of FileSettings.
 */
const FILE_KEYS: Readonly<Record<string, string>> = {
  host: 'MAMORI_HOST',
  port: 'MAMORI_PORT',
  publicUrl: 'MAMORI_PUBLIC_URL',
  dataDir: 'MAMORI_DATA_DIR',
  databaseUrl: 'MAMORI_DATABASE_URL',
  smtpUrl: 'MAMORI_SMTP_URL',
  mailFrom: 'MAMORI_MAIL_FROM',
  requireMfa: 'MAMORI_REQUIRE_MFA',
  mfaGraceDays: 'MAMORI_MFA_GRACE_DAYS',
  emailCode: 'MAMORI_EMAIL_CODE',
  logLevel: 'MAMORI_LOG_LEVEL',
  cookieDomain: 'MAMORI_COOKIE_DOMAIN',
  trustedProxies: 'MAMORI_TRUSTED_PROXIES',
  issuer: 'MAMORI_ISSUER',
  sessionIdleMinutes: 'MAMORI_SESSION_IDLE_MINUTES',
  sessionAbsoluteHours: 'MAMORI_SESSION_ABSOLUTE_HOURS',
  mfaLockMinutes: 'MAMORI_MFA_LOCK_MINUTES',
  rememberBrowserDays: 'MAMORI_REMEMBER_BROWSER_DAYS',
  adminApprovals: 'MAMORI_ADMIN_APPROVALS',
};
const FILE_SECTIONS = new Set(['forwardAuth']);

/**
 * Reads MAMORI_CONFIG (YAML, of which JSON is a subset) into environment-variable form plus its
 * sections. Secrets (the master key, tokens) are deliberately not settable here: a settings file
 * is often committed or shared, the environment or a 0600 file is where secrets go.
 */
function readSettingsFile(env: Env): { vars: Env; file: FileSettings } {
  const source = env.MAMORI_CONFIG || undefined;
  const file: FileSettings = { source, forwardAuth: undefined };
  if (source === undefined) return { vars: {}, file };
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new ConfigError('MAMORI_CONFIG', `cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError('MAMORI_CONFIG', `${source} is not valid YAML or JSON: ${err instanceof Error ? err.message.split('\n')[0] : ''}`);
  }
  if (doc === null || doc === undefined) return { vars: {}, file };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError('MAMORI_CONFIG', `${source} must hold a mapping of settings`);
  const vars: Env = {};
  for (const [key, value] of Object.entries(doc)) {
    const variable = FILE_KEYS[key];
    if (variable !== undefined) {
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) vars[variable] = value.join(',');
      else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') vars[variable] = String(value);
      else throw new ConfigError('MAMORI_CONFIG', `${source}: "${key}" must be a string, a number or true/false`);
    } else if (FILE_SECTIONS.has(key)) {
      if (key === 'forwardAuth') file.forwardAuth = value;
    } else {
      throw new ConfigError('MAMORI_CONFIG', `${source}: unknown setting "${key}"`);
    }
  }
  return { vars, file };
}

function trustedProxiesVar(env: Env): string[] {
  const raw = env.MAMORI_TRUSTED_PROXIES;
  if (raw === undefined) return ['127.0.0.1/32', '::1/128'];
  const list = raw.split(',').map((v) => v.trim()).filter(Boolean);
  const check = new BlockList();
  for (const entry of list) {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || rest.length > 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits)) || prefix > (family === 6 ? 128 : 32)) {
      throw new ConfigError('MAMORI_TRUSTED_PROXIES', `"${entry}" is not an address or a network such as 10.0.0.0/8`);
    }
    check.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** A registrable-looking domain that the public URL's host is, or lies under. */
function cookieDomainVar(env: Env, publicHost: string): string | undefined {
  const raw = env.MAMORI_COOKIE_DOMAIN;
  if (raw === undefined || raw === '') return undefined;
  const domain = raw.trim().toLowerCase().replace(/^\./, '');
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(domain) || isIP(domain) !== 0) {
    throw new ConfigError('MAMORI_COOKIE_DOMAIN', `"${raw}" is not a domain name`);
  }
  if (publicHost !== domain && !publicHost.endsWith(`.${domain}`)) {
    throw new ConfigError('MAMORI_COOKIE_DOMAIN', `the public URL's host ${publicHost} is not ${domain} or under it, so the browser would refuse the cookie`);
  }
  return domain;
}

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

/** MAMORI_REQUIRE_MFA: the contract's words (`true`, `false`, `admins`), and 1/0 as boolVar takes them. */
function requireMfaVar(env: Env): RequireMfa {
  const raw = env.MAMORI_REQUIRE_MFA;
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return 'off';
  if (raw === 'true' || raw === '1') return 'all';
  if (raw === 'admins') return 'admins';
  throw new ConfigError('MAMORI_REQUIRE_MFA', `expected true, false or admins, got "${raw}"`);
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
export function loadConfig(given: Env = process.env): Config {
  if (given.MAMORI_TRUST_PROXY !== undefined) {
    throw new ConfigError('MAMORI_TRUST_PROXY', 'is no longer read: list the reverse proxies in MAMORI_TRUSTED_PROXIES instead (addresses or networks, e.g. 10.0.0.0/8)');
  }
  const settings = readSettingsFile(given);
  const env: Env = { ...settings.vars, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
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
    requireMfa: requireMfaVar(env),
    mfaGraceDays: intVar(env, 'MAMORI_MFA_GRACE_DAYS', 0, 0, 365),
    rememberBrowserDays: intVar(env, 'MAMORI_REMEMBER_BROWSER_DAYS', 0, 0, 30),
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
    trustedProxies: trustedProxiesVar(env),
    cookieDomain: cookieDomainVar(env, publicOrigin.hostname),
    file: settings.file,
    testClock: boolVar(env, 'MAMORI_TEST_CLOCK', false),
    bodyLimitBytes: intVar(env, 'MAMORI_BODY_LIMIT', 64 * 1024, 1024, 10 * 1024 * 1024),
    metricsToken: tokenVar(env, 'MAMORI_METRICS_TOKEN', 32),
    adminApprovals: intVar(env, 'MAMORI_ADMIN_APPROVALS', 1, 1, 2) === 2 ? 2 : 1,
  };
}
