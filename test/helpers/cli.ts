import { spawn } from 'node:child_process';
import path from 'node:path';
import type { TestServer } from './server.js';

export const projectRoot = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/mamori.js ...` as a child process, asynchronously, so a server running in the test
 * process keeps answering meanwhile. Only the variables in `env` (plus PATH) reach the child.
 */
export function runMamori(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  const child = spawn(process.execPath, ['bin/mamori.js', ...args], {
    cwd: projectRoot,
    // The suite's global setup built dist/ once; a process must not rebuild it under the others.
    env: { PATH: process.env.PATH ?? '', MAMORI_BUILD: 'never', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The environment that points the CLI at a test server's database and key. */
export function cliEnvFor(server: TestServer): Record<string, string> {
  return {
    MAMORI_DATA_DIR: server.dataDir,
    MAMORI_MASTER_KEY: server.config.masterKeys[0]!.toString('base64'),
    MAMORI_LOG_LEVEL: 'silent',
    ...(server.config.databaseUrl ? { MAMORI_DATABASE_URL: server.config.databaseUrl } : {}),
  };
}
