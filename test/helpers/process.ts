import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `mamori serve` as a real child process, on a free port; resolves once it listens. */
export function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['bin/mamori.js', 'serve'], {
    cwd: root,
    // The suite's global setup built dist/ once; a process must not rebuild it under the others.
    env: { PATH: process.env.PATH ?? '', MAMORI_BUILD: 'never', MAMORI_PORT: '0', MAMORI_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      // A server that never said it is ready must not outlive the test that waited for it.
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${logs.join('\n')}`));
    }, 20_000);
    const onLine = (line: string) => {
      logs.push(line);
      // The start line's structured `address` (its text names the public URL instead).
      const m = /"msg":"Mamori is ready/.test(line) ? /"address":"(http:\/\/[^"]+)"/.exec(line) : null;
      if (m) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1]!,
          logs,
          stop: (signal = 'SIGTERM') =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill(signal);
            }),
        });
      }
    };
    const feed = (chunk: Buffer) => {
      buffer += chunk.toString();
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, i));
        buffer = buffer.slice(i + 1);
      }
    };
    child.stdout!.on('data', feed);
    child.stderr!.on('data', feed);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}

/**
 * One `mamori serve` on a data dir and master key of the test's own: `start` spawns it (once the
 * describe's tests need it), `dispose` (for afterAll) kills it and removes the dir.
 */
export function serverOnOwnDataDir(prefix: string): { start(env?: Record<string, string>): Promise<ServerProcess>; dispose(): Promise<void> } {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  let proc: ServerProcess | undefined;
  return {
    start: async (env = {}) => (proc = await spawnServer({ MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: randomBytes(32).toString('base64'), ...env })),
    dispose: async () => {
      await proc?.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
