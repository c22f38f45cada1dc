/**
 * The bench's plumbing: child processes (the plain node:http ceiling and Mamori servers), a small
 * keep-alive HTTP client, and cleanup that leaves no process or temp dir behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
export const HOST = '127.0.0.1';
/** BENCH_CPU_PROF=<dir>: the Mamori servers write V8 CPU profiles there (open in Chrome DevTools). */
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

// ---------------------------------------------------------------------------------------------
// Cleanup: every child by its pid, every temp dir; also on Ctrl-C, SIGTERM and errors.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      children.delete(child);
      return resolve();
    }
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) signalPid(child.pid!, 'SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    signalPid(child.pid, 'SIGTERM');
  });
}

function removeTempDirs(): void {
  for (const dir of tempDirs) {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

export async function cleanup(): Promise<void> {
  agent.destroy();
  await Promise.all([...children].map((c) => stopChild(c)));
  removeTempDirs();
}

export let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, stopping the servers…\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
// Last resort (e.g. an uncaught exception): nothing may outlive the bench.
process.on('exit', () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) signalPid(c.pid, 'SIGKILL');
  }
  removeTempDirs();
});

// ---------------------------------------------------------------------------------------------
// Small HTTP client for setup and the closed-loop rows (keep-alive, like a browser).

interface Reply {
  status: number;
  body: unknown;
  cookies: Record<string, string>;
}

export function call(base: string, method: string, urlPath: string, opts: { json?: unknown; cookie?: string } = {}): Promise<Reply> {
  const payload = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  const headers: http.OutgoingHttpHeaders = {};
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  if (opts.cookie) headers.cookie = opts.cookie;
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(urlPath, base), { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? (JSON.parse(text) as unknown) : undefined;
        } catch {
          // not JSON: keep the text
        }
        const cookies: Record<string, string> = {};
        for (const line of res.headers['set-cookie'] ?? []) {
          const m = /^([^=;\s]+)=([^;]*)/.exec(line);
          if (m) cookies[m[1]!] = m[2]!;
        }
        resolve({ status: res.statusCode ?? 0, body, cookies });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export function expectStatus(r: Reply, status: number, what: string): Reply {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

export function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

export function stringField(body: unknown, name: string): string {
  const v = field(body, name);
  if (typeof v !== 'string') throw new Error(`answer without "${name}": ${JSON.stringify(body)}`);
  return v;
}

export function cookieOf(r: Reply, name: string): string {
  const v = r.cookies[name];
  if (!v) throw new Error(`no ${name} cookie in the answer (${r.status} ${JSON.stringify(r.body)})`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Child processes

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

const HELLO_SOURCE = `
const http = require('node:http');
const body = '{"status":"ok"}';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '${HOST}', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startHello(): Promise<{ url: string; child: ChildProcess }> {
  if (interrupted) throw new Error('interrupted');
  const child = spawn(process.execPath, ['-e', HELLO_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
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

export interface Mamori {
  url: string;
  dataDir: string;
  child: ChildProcess;
}

export async function startMamori(label: string, extraEnv: Record<string, string> = {}): Promise<Mamori> {
  if (interrupted) throw new Error('interrupted');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `mamori-bench-${label}-`));
  tempDirs.add(dataDir);
  const port = await freePort();
  // Nothing of the caller's MAMORI_* settings (a Postgres URL, an SMTP server…) leaks in.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MAMORI_')));
  Object.assign(env, {
    MAMORI_HOST: HOST,
    MAMORI_PORT: String(port),
    MAMORI_DATA_DIR: dataDir,
    MAMORI_MASTER_KEY: randomBytes(32).toString('base64'),
    // Request logs at info would cost the server (and the bench draining them) real CPU.
    MAMORI_LOG_LEVEL: 'warn',
    MAMORI_IP_FAILURE_LIMIT: '0',
    ...extraEnv,
  });
  // Node names each thread's profile itself (the tsx loader thread writes one too); a folder per server.
  const profiling = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.join(CPU_PROF_DIR, `mamori-${label}`)}`] : [];
  const child = spawn(process.execPath, [...profiling, 'bin/mamori.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines = tail(child);
  const url = `http://${HOST}:${port}`;
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`mamori (${label}) exited with ${exited}:\n${lines.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`mamori (${label}) did not answer /healthz in 30 s:\n${lines.join('\n')}`);
    try {
      if ((await call(url, 'GET', '/healthz')).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, dataDir, child };
}
