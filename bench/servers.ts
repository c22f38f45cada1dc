/**
 * The processes a run measures: the plain node:http ceiling and Mamori servers, each on an
 * instance (a data dir, a master key and, with --pg, a database of its own) that the CLI rows
 * use too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { call } from './client.js';
import { HOST, ROOT, interrupted, onCleanup, runNode, stopChild, tempDir, track, type NodeRun } from './harness.js';
import { createDatabase } from './pg.js';
import { settings } from './settings.js';

/** BENCH_CPU_PROF=<dir>: the Mamori servers write V8 CPU profiles there (open in Chrome DevTools). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Keeps the last lines of a child's output for error messages; the pipes must be drained anyway. */
function tail(child: ChildProcess, keep = 40): string[] {
  const lines: string[] = [];
  const feed = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > keep) lines.splice(0, lines.length - keep);
  };
  child.stdout?.on('data', feed);
  child.stderr?.on('data', feed);
  return lines;
}

/** A live process's resident memory now (VmRSS) or at its high-water mark (VmHWM), in MiB. */
export function memoryMiB(child: ChildProcess, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${child.pid}/status`);
  return Number(m[1]) / 1024;
}

/** Peak resident memory of a server, and its resident memory once it first answered. */
export interface Memory {
  peakMiB: number;
  startMiB: number;
}

const HELLO_SOURCE = `
const http = require('node:http');
const body = '{"status":"ok"}';
// POST /configure with a JSON object of headers: /configured answers the same body with them.
let configured = {};
const server = http.createServer((req, res) => {
  if (req.url === '/configure') {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      configured = { ...JSON.parse(raw), 'content-length': body.length };
      res.end();
    });
    return;
  }
  if (req.url === '/configured') res.writeHead(200, configured);
  else res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '${HOST}', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startHello(): Promise<{ url: string; child: ChildProcess }> {
  if (interrupted) throw new Error('interrupted');
  const child = spawn(process.execPath, ['-e', HELLO_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
    child.once('exit', (code) => reject(new Error(`node:http hello server exited with ${code}`)));
  });
  return { url: `http://${HOST}:${port}`, child };
}

/** A data dir, a master key and (with --pg) a fresh database: what a server and the CLI share. */
export interface Instance {
  label: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** Removes the database (PostgreSQL) and the data dir; the servers on it must be stopped. */
  release: () => Promise<void>;
}

export async function prepareInstance(label: string, extraEnv: Record<string, string> = {}): Promise<Instance> {
  if (interrupted) throw new Error('interrupted');
  const dataDir = tempDir(label);
  const database = settings.pgUrl ? await createDatabase(settings.pgUrl) : undefined;
  // Nothing of the caller's MAMORI_* settings (a Postgres URL, an SMTP server…) leaks in.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MAMORI_')));
  Object.assign(env, {
    MAMORI_DATA_DIR: dataDir,
    MAMORI_MASTER_KEY: randomBytes(32).toString('base64'),
    MAMORI_BUILD: 'never',
    // Request logs at info would cost the server (and the bench draining them) real CPU.
    MAMORI_LOG_LEVEL: 'warn',
    MAMORI_IP_FAILURE_LIMIT: '0',
    ...(database ? { MAMORI_DATABASE_URL: database.url } : {}),
    ...extraEnv,
  });
  const release = onCleanup(async () => {
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { label, dataDir, env, release };
}

/** `mamori <args>` against an instance, as an operator runs it (the bundled dist/ file, no build check). */
export function runCli(instance: Instance, args: string[]): Promise<NodeRun> {
  return runNode(['bin/mamori.js', ...args], instance.env);
}

export interface Mamori {
  url: string;
  instance: Instance;
  child: ChildProcess;
  startMiB: number;
}

export async function startMamori(instance: Instance, extraEnv: Record<string, string> = {}): Promise<Mamori> {
  if (interrupted) throw new Error('interrupted');
  const port = await freePort();
  const env = { ...instance.env, MAMORI_HOST: HOST, MAMORI_PORT: String(port), ...extraEnv };
  // Node names each thread's profile itself; a folder per server.
  const profiling = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.join(CPU_PROF_DIR, `mamori-${instance.label}`)}`] : [];
  const child = spawn(process.execPath, [...profiling, 'bin/mamori.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const lines = tail(child);
  const url = `http://${HOST}:${port}`;
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`mamori (${instance.label}) exited with ${exited}:\n${lines.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`mamori (${instance.label}) did not answer /healthz in 60 s:\n${lines.join('\n')}`);
    try {
      if ((await call(url, 'GET', '/healthz')).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, instance, child, startMiB: memoryMiB(child, 'VmRSS') };
}

/** Stops a server; its peak resident memory is read just before it is told to stop. */
export async function stopMamori(m: Mamori): Promise<Memory> {
  const peakMiB = memoryMiB(m.child, 'VmHWM');
  await stopChild(m.child);
  return { peakMiB, startMiB: m.startMiB };
}
