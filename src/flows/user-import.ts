import { createHash, type Hash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { MamoriError } from '../errors.js';
import { appDeviceConfig } from '../methods/totp/index.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Database } from '../store/schema.js';
import {
  importedIds,
  importedUserRows,
  insertImportedDevices,
  insertImportedGroups,
  insertImportedUsers,
  lostToConcurrentWriter,
  withImportCache,
  type ImportedDevice,
  type ImportedGroup,
} from '../store/user-import.js';
import { alsoOn, checkedChunks, type ImportChunk, type ImportLine, type RefusedLine } from './import-format.js';
import { bufferSource, type ImportSource } from './import-lines.js';

/**
 * `mamori user import FILE.jsonl` and `POST /api/v1/admin/users/import`: users in bulk, one JSON
 * object a line (docs/moving-in.md). The file is read, checked and written in one transaction, a
 * chunk of lines at a time, so its size does not matter to the memory: a file with any refused
 * line imports nothing (the transaction rolls back once the whole file has been read), and the
 * answer names every refused line. Password hashes are kept as they are (checked, never
 * computed), so an import costs no hashing; each user's hash becomes argon2id at their first sign-in.
 */

export interface ImportedUsers {
  imported: number;
  refused: RefusedLine[];
}

const taken = (email: string) => `a user with the email ${email} already exists`;

/** The input as it passes, into the digest the audit events carry. */
async function* digested(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, digest: Hash): AsyncGenerator<Uint8Array> {
  for await (const block of source) {
    digest.update(block);
    yield block;
  }
}

/**
 * The first accepted line of each of `emails`, read again from the start: an email the database
 * refused for an import is either a user from before or an earlier line of the same file, and only
 * the file knows which line. Read only when a file is refused with such lines, so an import that
 * succeeds reads its file once; the second reading stops at the last line it needs.
 */
async function firstLinesOf(source: ImportSource, emails: ReadonlySet<string>, until: number): Promise<Map<string, number>> {
  const first = new Map<string, number>();
  for await (const chunk of checkedChunks(source())) {
    for (const l of chunk.accepted) if (emails.has(l.email) && !first.has(l.email)) first.set(l.email, l.line);
    if (chunk.linesRead >= until || first.size === emails.size) break;
  }
  return first;
}

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

/** Thrown inside the transaction to roll it back once the whole file has been read. */
class Refused extends Error {
  constructor() {
    super('refused');
  }
}

export type ImportPorts = Pick<Services, 'audit' | 'box' | 'clock' | 'store'>;

/** What the import has seen so far: counts for the audit event, and the lines to refuse. */
interface Tally {
  lines: number;
  imported: number;
  withPassword: number;
  withTotp: number;
  admins: number;
  refused: RefusedLine[];
  /** Accepted lines whose email was already taken (see firstLinesOf): refused, their reason found at the end. */
  takenEmails: Array<{ line: number; email: string }>;
}

/**
 * One chunk into the transaction: its users (an email already taken skips its row and is
 * noted), then their groups and authenticator apps. Once any line is refused the import will roll
 * back, so only the users are still written, for the emails the rest of the file repeats.
 */
async function writeChunk(s: ImportPorts, trx: Transaction<Database>, chunk: ImportChunk, now: number, tally: Tally): Promise<void> {
  for (const r of chunk.refused) tally.refused.push(r);
  // An email twice in one statement is refused as the second line, without asking the database.
  const fresh: ImportLine[] = [];
  const inChunk = new Set<string>();
  for (const l of chunk.accepted) {
    if (inChunk.has(l.email)) tally.takenEmails.push({ line: l.line, email: l.email });
    else {
      inChunk.add(l.email);
      fresh.push(l);
    }
  }
  // Taken: by a user from before, or by an earlier chunk of this file (its rows are in the table now).
  const rows = importedUserRows(fresh, now);
  const written = await insertImportedUsers(trx, s.store.dialect, rows);
  const groups: ImportedGroup[] = [];
  const withTotp: Array<{ line: ImportLine; userId: string }> = [];
  fresh.forEach((l, i) => {
    const id = rows[i]!.id;
    if (!written.has(id)) {
      tally.takenEmails.push({ line: l.line, email: l.email });
      return;
    }
    tally.imported++;
    if (l.passwordHash) tally.withPassword++;
    if (l.role === 'admin') tally.admins++;
    for (const name of l.groups) groups.push({ user_id: id, name, created_at: now });
    if (l.totp) withTotp.push({ line: l, userId: id });
  });
  if (tally.refused.length > 0 || tally.takenEmails.length > 0) {
    for (const l of chunk.accepted) l.totp?.secret.fill(0);
    return;
  }
  const ids = importedIds(withTotp.length);
  const devices = withTotp.map(({ line: l, userId }, i): ImportedDevice => {
    const totp = l.totp!;
    const id = ids[i]!;
    // The same associated data as a device assigned in the console, so the seed opens only as this row's.
    const sealed = s.box.seal(totp.secret, `mfa-device:${id}`);
    totp.secret.fill(0);
    return {
      id,
      user_id: userId,
      type: 'totp',
      name: totp.name,
      status: 'active',
      created_at: now,
      activated_at: now,
      last_used_at: null,
      secret_sealed: sealed.value,
      secret_key_id: sealed.keyId,
      // No code accepted yet: the first one the user types is the first step consumed.
      counter: null,
      lookup_key: null,
      config: appDeviceConfig({ algorithm: totp.algorithm, digits: totp.digits, period: totp.period }),
    };
  });
  tally.withTotp += devices.length;
  await insertImportedGroups(trx, s.store.dialect, groups);
  await insertImportedDevices(trx, s.store.dialect, devices);
}

/**
 * Imports the file all-or-nothing, streaming it into one transaction a chunk at a time: each
 * chunk is checked and written while the next is still unread, and a refused line anywhere rolls
 * the whole transaction back after the rest of the file has been read, so the answer names every
 * refused line. Refusals throw ImportRefusedError, after an audit event saying how many lines were
 * refused; a file that imports commits its users, groups, devices and one `users_imported` event
 * together. `input` is the bytes (an HTTP body) or a source that reads them afresh at each call
 * (a file: see openImportFile).
 */
export async function importUsers(s: ImportPorts, input: Buffer | ImportSource, actor: string, caller: Caller): Promise<ImportedUsers> {
  const source: ImportSource = Buffer.isBuffer(input) ? bufferSource(input) : input;
  for (let attempt = 1; ; attempt++) {
    try {
      return await importOnce(s, source, actor, caller);
    } catch (err) {
      // Nothing was written: as if the other writer had committed first, the next reading finds its emails taken.
      if (attempt < 3 && lostToConcurrentWriter(err)) continue;
      throw err;
    }
  }
}

async function importOnce(s: ImportPorts, source: ImportSource, actor: string, caller: Caller): Promise<ImportedUsers> {
  const digest = createHash('sha256');
  const now = s.clock.now();
  const tally: Tally = { lines: 0, imported: 0, withPassword: 0, withTotp: 0, admins: 0, refused: [], takenEmails: [] };
  let sha256 = '';
  try {
    await withImportCache(s.store, () =>
      s.store.db.transaction().execute(async (trx) => {
        // The next chunk is read and checked while the database writes this one (PostgreSQL
        // answers over the network; SQLite's calls return when done, so there it is in turn).
        let writing: Promise<void> = Promise.resolve();
        try {
          for await (const chunk of checkedChunks(digested(source(), digest))) {
            await writing;
            tally.lines = chunk.linesRead;
            writing = writeChunk(s, trx, chunk, now, tally);
            // Awaited above or below; until then a failure must not count as unhandled.
            writing.catch(() => {});
          }
        } finally {
          // However the reading ended (a read error, say), the write in flight ends before the transaction does.
          await writing.catch(() => {});
        }
        await writing;
        sha256 = digest.digest('hex');
        if (tally.refused.length > 0 || tally.takenEmails.length > 0 || tally.imported === 0) throw new Refused();
        await s.audit.append(
          {
            type: 'users_imported',
            actor,
            ip: caller.ip,
            userAgent: caller.userAgent,
            // Every imported row carries this created_at, which is how to list them afterwards.
            detail: { imported: tally.imported, withPassword: tally.withPassword, withTotp: tally.withTotp, admins: tally.admins, createdAt: now, sha256 },
          },
          trx,
        );
      }),
    );
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    const list = [...tally.refused, ...(await reasonsForTaken(source, tally.takenEmails))];
    if (list.length === 0) list.push({ line: 1, reason: 'the file holds no users' });
    list.sort((a, b) => a.line - b.line);
    await s.audit.append({ type: 'users_import_refused', actor, ip: caller.ip, userAgent: caller.userAgent, detail: { lines: tally.lines, refused: list.length, sha256 } });
    throw new ImportRefusedError(list, `${list.length} of ${tally.lines} lines were refused; nothing was imported`);
  }
  return { imported: tally.imported, refused: [] };
}

/** Each line whose email was taken: the second of two lines, or an email a user had before the import. */
async function reasonsForTaken(source: ImportSource, lines: Tally['takenEmails']): Promise<RefusedLine[]> {
  if (lines.length === 0) return [];
  const first = await firstLinesOf(source, new Set(lines.map((l) => l.email)), Math.max(...lines.map((l) => l.line)));
  return lines.map(({ line, email }) => {
    const at = first.get(email);
    return { line, reason: at !== undefined && at < line ? alsoOn(email, at) : taken(email) };
  });
}
