import { userInfo } from 'node:os';
import { loadConfig } from '../config.js';
import type { Caller } from '../methods/types.js';
import { createServices, type Services } from '../services.js';
import { RefusedError, UsageError } from './errors.js';

export const cliCaller: Caller = { ip: null, userAgent: 'mamori-cli' };
export const cliActor = () => `cli:${userInfo().username}`;

export async function withServices<T>(work: (s: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const s = await createServices({ ...config, logLevel: 'warn' });
  try {
    return await work(s);
  } finally {
    await s.close();
  }
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin reads the password from standard input; pipe it in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline belongs to `echo`, not to the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function findUser(s: Services, email: string) {
  const user = await s.users.findByEmail(email);
  if (!user) throw new RefusedError(`no user with the email ${email}`);
  return user;
}

