import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { loadConfig } from '../config.js';
import { Email } from '../schemas/fields.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import { RefusedError, UsageError } from './errors.js';

export const cliCaller: Caller = { ip: null, userAgent: 'mamori-cli' };
export const cliActor = () => `cli:${userInfo().username}`;

export async function withServices<T>(work: (s: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Imported here, not above: the options are checked (and bad usage refused) before the
  // services' code, the database drivers among it, is even read.
  const { createServices } = await import('../services.js');
  const s = await createServices({ ...config, logLevel: 'warn' });
  try {
    return await work(s);
  } finally {
    await s.close();
  }
}

/**
 * The value if it passes the schema the HTTP API checks the same field with (src/schemas/fields.ts),
 * else bad usage naming the option. The value itself is never echoed: it may hold a control
 * character (a second line on stderr) or a secret.
 */
export function checkOption<T extends TSchema>(schema: T, value: unknown, option: string, expected: string): Static<T> {
  if (!Value.Check(schema, value)) throw new UsageError(`${option} must be ${expected}`);
  return value;
}

/** `--email`, checked as the HTTP API checks an email. */
export const checkEmail = (email: string): string => checkOption(Email, email, '--email', 'an email address such as name@example.com');

/** Secrets are read whole, but a file this large is not a passphrase or a key: refuse it. */
const MAX_SECRET_BYTES = 4096;

/** Standard input, for `--…-stdin` options; `option` names the one that asked. */
export async function readStdin(option: string): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError(`${option} reads standard input; pipe it in`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return stripNewline(Buffer.concat(chunks).toString('utf8'));
}

/**
 * A secret from a file that only its owner may read or write, as ssh insists for private keys:
 * a passphrase the whole machine can read is no better than one on the command line. The mode is
 * taken from the open descriptor, so the file checked is the file read.
 */
export function readSecretFile(file: string, option: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new RefusedError(`${option}: cannot read ${file}`);
  }
  try {
    const st = fstatSync(fd);
    // Windows has no owner/group/other bits to speak of; its ACLs are the administrator's business.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new RefusedError(`${option}: ${file} is accessible by other users (mode ${mode}); run chmod 600 on it`);
    }
    const buf = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > MAX_SECRET_BYTES) throw new RefusedError(`${option}: ${file} is larger than ${MAX_SECRET_BYTES} bytes`);
    return stripNewline(buf.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/** One trailing newline belongs to `echo` or the editor, not to the secret. */
const stripNewline = (s: string) => s.replace(/\r?\n$/, '');

/** The user an `--email` option names; the option is checked first, so every command refuses the same input. */
export async function findUser(s: Services, email: string) {
  const checked = checkEmail(email);
  const user = await s.users.findByEmail(checked);
  if (!user) throw new RefusedError(`no user with the email ${checked}`);
  return user;
}
