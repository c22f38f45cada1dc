/**
 * The bulk-import file for the population rows (`mamori user import`, format in
 * src/flows/user-import.ts and docs/moving-in.md): `n` users, written to disk in chunks so that a
 * million lines never sit in one string.
 *
 * Every user shares one password hash, argon2id with the server's own parameters, imported as
 * `{format: 'argon2'}`: an imported hash is re-hashed at its user's first sign-in, which the
 * bench's warm-up pays, so the measured sign-ins cost one verify at today's parameters, as a
 * settled population's do. Every 20th user carries a TOTP seed (a realistic share of devices in
 * the table), and so does every sampled user, whom the bench signs in.
 */
import { hash } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { ARGON2_PARAMS } from '../src/methods/password/hasher.js';
import { base32Decode, base32Encode } from '../src/methods/totp/otpauth.js';

export const IMPORTED_PASSWORD = 'bench imported pass phrase';

/** A user the bench signs in: its email and its TOTP key. */
export interface SampleUser {
  email: string;
  key: Buffer;
}

export interface ImportFile {
  path: string;
  users: number;
  bytes: number;
  sample: SampleUser[];
}

const emailOf = (i: number) => `user${i}@example.com`;

/** `count` indices spread evenly over 0…n-1, so the sample touches the whole table and its indexes. */
function spread(n: number, count: number): Set<number> {
  const picked = new Set<number>();
  for (let k = 0; k < Math.min(n, count); k++) picked.add(Math.floor((k * n) / Math.min(n, count)));
  return picked;
}

export async function writeImportFile(file: string, n: number, sampleSize: number): Promise<ImportFile> {
  // The server's call exactly (argon2id is the library's default).
  const stored = await hash(IMPORTED_PASSWORD, ARGON2_PARAMS);
  const password = JSON.stringify({ format: 'argon2', hash: stored });
  const sampled = spread(n, sampleSize);
  const sample: SampleUser[] = [];
  const fd = openSync(file, 'w');
  let bytes = 0;
  try {
    let chunk: string[] = [];
    const flush = () => {
      const text = chunk.join('');
      bytes += Buffer.byteLength(text);
      writeSync(fd, text);
      chunk = [];
    };
    for (let i = 0; i < n; i++) {
      let totp = '';
      if (i % 20 === 0 || sampled.has(i)) {
        const seed = base32Encode(randomBytes(20));
        if (sampled.has(i)) sample.push({ email: emailOf(i), key: base32Decode(seed) });
        totp = `,"totp":{"secret":"${seed}"}`;
      }
      // Built by hand rather than JSON.stringify per line: a million objects would cost seconds.
      chunk.push(`{"email":"${emailOf(i)}","name":"User ${i}","groups":["staff"],"password":${password}${totp}}\n`);
      if (chunk.length === 10_000) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { path: file, users: n, bytes, sample };
}
