import { randomBytes, scryptSync } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from 'bcryptjs';
import { base32Encode } from '../../src/methods/totp/otpauth.js';

/** The three formats a large import file mixes, each with the password its hash was made from. */
export const BULK_PASSWORDS = {
  bcrypt: 'bcrypt old password',
  scrypt: 'scrypt old password',
  argon2: 'argon2 old password',
} as const;
export type BulkFormat = keyof typeof BULK_PASSWORDS;

export interface BulkFile {
  text: string;
  /** Line i's email, format and (every 20th line) TOTP seed in base32. */
  user(i: number): { email: string; format: BulkFormat; password: string; totp?: string };
}

/**
 * `n` users for the import: hashes are made once per format (bcrypt cost 10, scrypt ln=14 r=8,
 * Authelia's argon2id m=64 MiB t=3 p=4) and reused, so the file takes a second to write while
 * every line still signs in with its format's password. Every 20th line carries a TOTP seed, every
 * 10th a second group.
 */
export async function bulkImportFile(n: number): Promise<BulkFile> {
  const salt = randomBytes(16);
  const key = scryptSync(BULK_PASSWORDS.scrypt, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  const hashes: Record<BulkFormat, string> = {
    bcrypt: await bcryptHash(BULK_PASSWORDS.bcrypt, 10),
    scrypt: `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(key)}`,
    argon2: await argon2Hash(BULK_PASSWORDS.argon2, { algorithm: 2, memoryCost: 65536, timeCost: 3, parallelism: 4 }),
  };
  const formats: BulkFormat[] = ['bcrypt', 'scrypt', 'argon2'];
  const seeds = new Map<number, string>();
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const format = formats[i % 3]!;
    const line: Record<string, unknown> = {
      email: `user${i}@example.com`,
      name: `User ${i}`,
      groups: i % 10 === 0 ? ['staff', `team-${i % 7}`] : ['staff'],
      password: { format, hash: hashes[format] },
    };
    if (i % 20 === 0) {
      const seed = base32Encode(randomBytes(20));
      seeds.set(i, seed);
      line.totp = { secret: seed };
    }
    lines.push(JSON.stringify(line));
  }
  return {
    text: `${lines.join('\n')}\n`,
    user: (i) => {
      const format = formats[i % 3]!;
      const seed = seeds.get(i);
      return { email: `user${i}@example.com`, format, password: BULK_PASSWORDS[format], ...(seed ? { totp: seed } : {}) };
    },
  };
}
