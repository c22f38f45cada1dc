import { createHash } from 'node:crypto';
import { newId } from '../crypto/tokens.js';
import type { Insertable } from 'kysely';
import { Value } from 'typebox/value';
import { MamoriError } from '../errors.js';
import { importHash } from '../methods/password/legacy.js';
import { appDeviceConfig } from '../methods/totp/index.js';
import { base32Decode } from '../methods/totp/otpauth.js';
import type { Caller } from '../methods/types.js';
import { Email, Locale, Name, Role } from '../schemas/fields.js';
import { GROUP_NAME_RULE, MAX_GROUPS } from '../schemas/groups.js';
import type { Services } from '../services.js';
import type { NewDevice } from '../store/devices.js';
import { GROUP_NAME } from '../store/groups.js';
import type { User, UserGroupsTable } from '../store/schema.js';
import { insertImportedDevices, insertImportedGroups } from '../store/user-import.js';
import { newUserRow, normalizeEmail } from '../store/users.js';

/**
 * `mamori user import FILE.jsonl` and `POST /api/v1/admin/users/import`: users in bulk, one JSON
 * object a line (docs/moving-in.md). The whole file is checked before anything is written, and
 * then written in one transaction: a file with any refused line imports nothing, and the answer
 * names every refused line. Password hashes are kept as they are (checked, never computed), so
 * an import costs no hashing; each user's hash becomes argon2id at their first sign-in.
 */

export interface RefusedLine {
  /** 1-based, counting every line of the file (blank ones too), as an editor shows them. */
  line: number;
  reason: string;
}

export interface ImportedUsers {
  imported: number;
  refused: RefusedLine[];
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

const utf8 = new TextDecoder('utf-8', { fatal: true });

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
  if (!Value.Check(Name, name)) return { refused: 'totp.name must be 1 to 100 characters' };
  return { ok: { secret, algorithm, digits, period, name } };
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
  if (!Value.Check(Email, email)) return 'email is missing or not an email address';
  if (name !== undefined && !Value.Check(Name, name)) return 'name must be 1 to 100 characters';
  if (role !== undefined && !Value.Check(Role, role)) return 'role must be "admin" or "user"';
  if (locale !== undefined && !Value.Check(Locale, locale)) return 'locale must be "en" or "ja"';
  if (disabled !== undefined && typeof disabled !== 'boolean') return 'disabled must be true or false';
  let groups: string[] = [];
  if (v.groups !== undefined) {
    if (!Array.isArray(v.groups) || v.groups.length > MAX_GROUPS) return `groups must be a list of at most ${MAX_GROUPS} group names`;
    for (const g of v.groups) {
      if (typeof g !== 'string' || !GROUP_NAME.test(g)) return `groups: ${typeof g === 'string' ? quote(g) : 'a group'} is not a group name (${GROUP_NAME_RULE})`;
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

/**
 * The file, line by line, with nothing written: every line either becomes an ImportLine or a
 * refusal. Lines are split on LF (a CR before it is dropped); blank lines are skipped; each line is
 * decoded as strict UTF-8 on its own, so a bad byte is reported at its line.
 */
export function parseImportFile(input: Buffer): { lines: ImportLine[]; refused: RefusedLine[]; total: number } {
  const lines: ImportLine[] = [];
  const refused: RefusedLine[] = [];
  const firstLineOf = new Map<string, number>();
  let start = 0;
  let n = 0;
  // A UTF-8 byte order mark, as some Windows editors write, is not part of the first object.
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) start = 3;
  while (start < input.length) {
    let end = input.indexOf(0x0a, start);
    if (end < 0) end = input.length;
    n++;
    const raw = input.subarray(start, end > start && input[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    let text: string;
    try {
      text = utf8.decode(raw);
    } catch {
      refused.push({ line: n, reason: 'not valid UTF-8' });
      continue;
    }
    if (text.trim() === '') continue;
    const checked = checkLine(text, n);
    if (typeof checked === 'string') {
      refused.push({ line: n, reason: checked });
      continue;
    }
    const first = firstLineOf.get(checked.email);
    if (first !== undefined) {
      refused.push({ line: n, reason: `the email ${checked.email} is also on line ${first}` });
      continue;
    }
    firstLineOf.set(checked.email, n);
    lines.push(checked);
  }
  return { lines, refused, total: n };
}

/** The rows the accepted lines become: users, their groups and their (active) authenticator apps. */
function rowsOf(s: Pick<Services, 'box'>, lines: readonly ImportLine[], now: number) {
  const users: User[] = [];
  const groups: Insertable<UserGroupsTable>[] = [];
  const devices: Required<NewDevice>[] = [];
  for (const l of lines) {
    const user = newUserRow({ email: l.email, name: l.name, role: l.role, locale: l.locale, passwordHash: l.passwordHash, now, disabled: l.disabled });
    users.push(user);
    for (const name of l.groups) groups.push({ user_id: user.id, name, created_at: now });
    if (l.totp) {
      const id = newId();
      // The same associated data as a device assigned in the console, so the seed opens only as this row's.
      const sealed = s.box.seal(l.totp.secret, `mfa-device:${id}`);
      l.totp.secret.fill(0);
      devices.push({
        id,
        user_id: user.id,
        type: 'totp',
        name: l.totp.name,
        status: 'active',
        created_at: now,
        activated_at: now,
        last_used_at: null,
        secret_sealed: sealed.value,
        secret_key_id: sealed.keyId,
        // No code accepted yet: the first one the user types is the first step consumed.
        counter: null,
        lookup_key: null,
        config: appDeviceConfig({ algorithm: l.totp.algorithm, digits: l.totp.digits, period: l.totp.period }),
      });
    }
  }
  return { users, groups, devices };
}

const alreadyThere = (lines: readonly ImportLine[], taken: readonly string[]): RefusedLine[] => {
  const set = new Set(taken);
  return lines.filter((l) => set.has(l.email)).map((l) => ({ line: l.line, reason: `a user with the email ${l.email} already exists` }));
};

/** A refused file: 400 `validation_failed` with `refused: [{line, reason}]`, every refused line in line order. */
export class ImportRefusedError extends MamoriError {
  constructor(
    readonly refused: RefusedLine[],
    detail: string,
  ) {
    super('validation_failed', detail, { refused });
    this.name = 'ImportRefusedError';
  }
}

/** Thrown inside the transaction to roll it back with the refusals in hand. */
class Refused extends Error {
  constructor(readonly lines: RefusedLine[]) {
    super('refused');
  }
}

export type ImportPorts = Pick<Services, 'audit' | 'box' | 'clock' | 'store' | 'users'>;

/**
 * Imports the file all-or-nothing. Refusals throw ImportRefusedError, after an audit event saying how many lines were refused; a file
 * that imports commits its users, groups, devices and one `users_imported` event together.
 */
export async function importUsers(s: ImportPorts, input: Buffer, actor: string, caller: Caller): Promise<ImportedUsers> {
  const { lines, refused, total } = parseImportFile(input);
  const digest = createHash('sha256').update(input).digest('hex');
  const refuse = async (list: RefusedLine[]): Promise<never> => {
    list.sort((a, b) => a.line - b.line);
    await s.audit.append({ type: 'users_import_refused', actor, ip: caller.ip, userAgent: caller.userAgent, detail: { lines: total, refused: list.length, sha256: digest } });
    throw new ImportRefusedError(list, `${list.length} of ${total} lines were refused; nothing was imported`);
  };
  const emails = lines.map((l) => l.email);
  // The report names every refused line, those whose email is taken among them.
  if (refused.length > 0) return refuse([...refused, ...alreadyThere(lines, await s.users.existingEmails(emails))]);
  if (lines.length === 0) return refuse([{ line: 1, reason: 'the file holds no users' }]);

  const now = s.clock.now();
  const rows = rowsOf(s, lines, now);
  try {
    await s.store.db.transaction().execute(async (trx) => {
      const users = s.users.within(trx);
      const taken = alreadyThere(lines, await users.existingEmails(emails));
      if (taken.length > 0) throw new Refused(taken);
      await users.insertMany(trx, rows.users);
      await insertImportedGroups(trx, s.store.dialect, rows.groups);
      await insertImportedDevices(trx, s.store.dialect, rows.devices);
      await s.audit.append(
        {
          type: 'users_imported',
          actor,
          ip: caller.ip,
          userAgent: caller.userAgent,
          // Every imported row carries this created_at, which is how to list them afterwards.
          detail: { imported: rows.users.length, withPassword: lines.filter((l) => l.passwordHash).length, withTotp: rows.devices.length, admins: lines.filter((l) => l.role === 'admin').length, createdAt: now, sha256: digest },
        },
        trx,
      );
    });
  } catch (err) {
    if (err instanceof Refused) return refuse(err.lines);
    // A concurrent import or user creation took an email after the check: the unique index
    // refused the insert. Say which lines, as if the other had committed first.
    if (!(err instanceof MamoriError)) {
      const taken = alreadyThere(lines, await s.users.existingEmails(emails));
      if (taken.length > 0) return refuse(taken);
    }
    throw err;
  }
  return { imported: rows.users.length, refused: [] };
}
