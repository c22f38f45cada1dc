import { Compile } from 'typebox/compile';
import { importHash } from '../methods/password/legacy.js';
import { base32Decode } from '../methods/totp/otpauth.js';
import { Email, Locale, Name, Role } from '../schemas/fields.js';
import { GROUP_NAME_RULE, MAX_GROUPS } from '../schemas/groups.js';
import { GROUP_NAME, ROLE_GROUPS } from '../store/groups.js';
import { normalizeEmail } from '../store/users.js';
import { LineSplitter, linesOf, type FileLine } from './import-lines.js';

/**
 * The bulk import's format (docs/moving-in.md): one JSON object a line, each line checked on
 * its own into what it imports or why it is refused. The import itself (src/flows/user-import.ts)
 * writes what these checks accept.
 */

export interface RefusedLine {
  /** 1-based, counting every line of the file (blank ones too), as an editor shows them. */
  line: number;
  reason: string;
}

/** What one accepted line becomes. */
export interface ImportLine {
  line: number;
  email: string;
  name: string;
  role: 'admin' | 'user';
  locale: 'en' | 'ja';
  disabled: boolean;
  groups: string[];
  /** What users.password_hash stores (`{format}hash`), or null: no password. */
  passwordHash: string | null;
  totp: { secret: Buffer; algorithm: 'SHA1' | 'SHA256' | 'SHA512'; digits: 6 | 8; period: number; name: string } | null;
}

const FIELDS = new Set(['email', 'name', 'role', 'locale', 'disabled', 'groups', 'password', 'totp']);
const PASSWORD_FIELDS = new Set(['format', 'hash']);
const TOTP_FIELDS = new Set(['secret', 'digits', 'period', 'algorithm', 'name']);
const ALGORITHMS = new Set(['SHA1', 'SHA256', 'SHA512']);
/** RFC 4226 §4 asks for at least 128 bits and recommends 160; apps commonly issued 80-bit seeds. */
const TOTP_SECRET_MIN_BYTES = 10;
const TOTP_SECRET_MAX_BYTES = 64;
const TOTP_PERIOD = { min: 10, max: 300 } as const;
const DEFAULT_TOTP_NAME = 'Authenticator app';
/** Compiled once: a million lines checked with the interpreted Value.Check cost seconds. */
const isEmail = Compile(Email);
const isName = Compile(Name);
const isRole = Compile(Role);
const isLocale = Compile(Locale);

/** A field name as the file spelled it, quoted and escaped: a reason is one line whatever the input holds. */
const quote = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownField(o: Record<string, unknown>, allowed: Set<string>, prefix = ''): string | undefined {
  for (const k of Object.keys(o)) if (!allowed.has(k)) return `unknown field ${quote(prefix + k)}`;
  return undefined;
}

function checkPassword(v: unknown): { stored: string } | { refused: string } {
  if (!isObject(v)) return { refused: 'password must be an object {format, hash}' };
  const unknown = unknownField(v, PASSWORD_FIELDS, 'password.');
  if (unknown) return { refused: unknown };
  if (typeof v.format !== 'string' || typeof v.hash !== 'string') return { refused: 'password.format and password.hash must be strings' };
  const r = importHash(v.format, v.hash);
  return 'refused' in r ? { refused: `password: ${r.refused}` } : r;
}

function checkTotp(v: unknown): { ok: NonNullable<ImportLine['totp']> } | { refused: string } {
  if (!isObject(v)) return { refused: 'totp must be an object {secret, digits?, period?, algorithm?, name?}' };
  const unknown = unknownField(v, TOTP_FIELDS, 'totp.');
  if (unknown) return { refused: unknown };
  if (typeof v.secret !== 'string') return { refused: 'totp.secret must be a base32 string' };
  let secret: Buffer;
  try {
    secret = base32Decode(v.secret);
  } catch {
    // Never quoted: it is the seed itself.
    return { refused: 'totp.secret is not valid base32' };
  }
  if (secret.length < TOTP_SECRET_MIN_BYTES || secret.length > TOTP_SECRET_MAX_BYTES) {
    return { refused: `totp.secret must decode to ${TOTP_SECRET_MIN_BYTES} to ${TOTP_SECRET_MAX_BYTES} bytes` };
  }
  const digits = v.digits ?? 6;
  if (digits !== 6 && digits !== 8) return { refused: 'totp.digits must be 6 or 8' };
  const period = v.period ?? 30;
  if (typeof period !== 'number' || !Number.isInteger(period) || period < TOTP_PERIOD.min || period > TOTP_PERIOD.max) {
    return { refused: `totp.period must be a whole number of seconds from ${TOTP_PERIOD.min} to ${TOTP_PERIOD.max}` };
  }
  const algorithm = v.algorithm ?? 'SHA1';
  if (algorithm !== 'SHA1' && algorithm !== 'SHA256' && algorithm !== 'SHA512') return { refused: `totp.algorithm must be one of ${[...ALGORITHMS].join(', ')}` };
  const name = v.name ?? DEFAULT_TOTP_NAME;
  if (!isName.Check(name)) return { refused: 'totp.name must be 1 to 100 characters' };
  return { ok: { secret, algorithm, digits, period, name } };
}

function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (Array.isArray(v)) return v.some(holdsNul);
  return isObject(v) && Object.entries(v).some(([k, x]) => k.includes('\u0000') || holdsNul(x));
}

/** One line, parsed and checked: what it imports, or why it is refused. */
function checkLine(text: string, line: number): ImportLine | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (!isObject(v)) return 'not a JSON object';
  const unknown = unknownField(v, FIELDS);
  if (unknown) return unknown;
  const { email, name, role, locale, disabled } = v;
  if (!isEmail.Check(email)) return 'email is missing or not an email address';
  if (name !== undefined && !isName.Check(name)) return 'name must be 1 to 100 characters';
  if (role !== undefined && !isRole.Check(role)) return 'role must be "admin" or "user"';
  if (locale !== undefined && !isLocale.Check(locale)) return 'locale must be "en" or "ja"';
  if (disabled !== undefined && typeof disabled !== 'boolean') return 'disabled must be true or false';
  let groups: string[] = [];
  if (v.groups !== undefined) {
    if (!Array.isArray(v.groups) || v.groups.length > MAX_GROUPS) return `groups must be a list of at most ${MAX_GROUPS} group names`;
    for (const g of v.groups) {
      if (typeof g !== 'string' || !GROUP_NAME.test(g)) return `groups: ${typeof g === 'string' ? quote(g) : 'a group'} is not a group name (${GROUP_NAME_RULE})`;
      if (ROLE_GROUPS.includes(g)) return `groups: ${quote(g)} is a role, not a group; give it as "role"`;
    }
    groups = [...new Set(v.groups as string[])];
  }
  let passwordHash: string | null = null;
  if (v.password !== undefined) {
    const r = checkPassword(v.password);
    if ('refused' in r) return r.refused;
    passwordHash = r.stored;
  }
  let totp: ImportLine['totp'] = null;
  if (v.totp !== undefined) {
    const r = checkTotp(v.totp);
    if ('refused' in r) return r.refused;
    totp = r.ok;
  }
  // Last, so a field's own reason comes first: PostgreSQL cannot store U+0000 in text (one such
  // line would fail the whole import there). Only a line that spells the escape at all is read
  // again, so the usual line costs nothing more.
  if (text.includes('\\u0000') && holdsNul(v)) return 'a text holds the character U+0000';
  const normalized = normalizeEmail(email);
  return {
    line,
    email: normalized,
    // As `mamori user create` names a user without a name.
    name: name?.trim() || normalized.split('@')[0]!,
    role: role ?? 'user',
    locale: locale ?? 'en',
    disabled: disabled ?? false,
    groups,
    passwordHash,
    totp,
  };
}

/** A line of the file as an import takes it: what it imports, why it is refused, or nothing (a blank line). */
function checkFileLine(l: FileLine): ImportLine | RefusedLine | undefined {
  if ('unreadable' in l) return { line: l.line, reason: l.unreadable };
  if (l.text.trim() === '') return undefined;
  const checked = checkLine(l.text, l.line);
  return typeof checked === 'string' ? { line: l.line, reason: checked } : checked;
}

/** Lines checked and written per multi-row statement: what an import holds is one chunk, whatever the size of the file. */
export const IMPORT_CHUNK = 500;

/** A chunk of the file: the lines it accepted and those it refused, and how many lines were read up to its end. */
export interface ImportChunk {
  accepted: ImportLine[];
  refused: RefusedLine[];
  linesRead: number;
}

/**
 * The file, checked line by line as it is read, in chunks of at most `size` lines (accepted and
 * refused): nothing is kept once its chunk is handed on, so the memory is one block of the input
 * and one chunk. Blank lines are skipped (and counted). Emails repeated across the file are not
 * this function's business: that takes every email, which the database has (see importUsers).
 * The last chunk may be empty; it always comes, with the file's number of lines.
 */
export async function* checkedChunks(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size = IMPORT_CHUNK): AsyncGenerator<ImportChunk> {
  const splitter = new LineSplitter();
  let accepted: ImportLine[] = [];
  let refused: RefusedLine[] = [];
  const check = (l: FileLine) => {
    const checked = checkFileLine(l);
    if (checked === undefined) return;
    if ('reason' in checked) refused.push(checked);
    else accepted.push(checked);
  };
  for await (const block of source) {
    for (const l of splitter.push(block)) {
      check(l);
      if (accepted.length + refused.length >= size) {
        yield { accepted, refused, linesRead: l.line };
        accepted = [];
        refused = [];
      }
    }
  }
  for (const l of splitter.end()) check(l);
  yield { accepted, refused, linesRead: splitter.lines };
}

/**
 * The whole file in memory, checked, with nothing written: every line either becomes an
 * ImportLine or a refusal, the second line of an email among the refusals. For a body already in
 * memory (the HTTP import's approval check); importUsers streams instead.
 */
export function parseImportFile(input: Buffer): { lines: ImportLine[]; refused: RefusedLine[]; total: number } {
  const lines: ImportLine[] = [];
  const refused: RefusedLine[] = [];
  const firstLineOf = new Map<string, number>();
  const file = linesOf(input);
  for (const l of file.lines) {
    const checked = checkFileLine(l);
    if (checked === undefined) continue;
    if ('reason' in checked) {
      refused.push(checked);
      continue;
    }
    const first = firstLineOf.get(checked.email);
    if (first !== undefined) {
      refused.push({ line: l.line, reason: alsoOn(checked.email, first) });
      continue;
    }
    firstLineOf.set(checked.email, l.line);
    lines.push(checked);
  }
  return { lines, refused, total: file.total };
}

/** The refusal of an email's second line. */
export const alsoOn = (email: string, first: number) => `the email ${email} is also on line ${first}`;
