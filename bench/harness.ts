/**
 * The bench's plumbing: cleanup that leaves no child process, temp dir or database behind (also
 * on Ctrl-C, SIGTERM and errors), the build before the run, and child runs that report their own
 * resource usage.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { agent } from './client.js';
import { settings } from './settings.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Cleanup: every child by its pid, every temp dir and database.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const finalizers = new Set<() => Promise<void>>();

/** A child to stop at cleanup if it is still running then. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Registers `work` for cleanup; returns it, to run earlier (it runs once either way). */
export function onCleanup(work: () => Promise<void>): () => Promise<void> {
  const once = async () => {
    if (!finalizers.delete(once)) return;
    await work();
  };
  finalizers.add(once);
  return once;
}

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

export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mamori-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export async function cleanup(): Promise<void> {
  agent.destroy();
  await Promise.all([...children].map((c) => stopChild(c)));
  // Databases after the servers: PostgreSQL refuses to drop one that is in use.
  for (const f of [...finalizers]) await f().catch((err: unknown) => process.stderr.write(`bench: cleanup: ${String(err)}\n`));
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
// Last resort (e.g. an uncaught exception): no process may outlive the bench.
process.on('exit', () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) signalPid(c.pid, 'SIGKILL');
  }
  removeTempDirs();
});

// ---------------------------------------------------------------------------------------------
// dist/: built once before the run, then run as it is by every child (MAMORI_BUILD=never), so
// an edit to src/ during the run cannot make one server build in the middle of a row.

export function ensureBuilt(): void {
  if (!settings.build) return;
  process.stderr.write('bench: building dist/ if src/ is newer…\n');
  const r = spawnSync(process.execPath, ['bin/mamori.js', '--version'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.stderr.write('bench: the build failed; measuring the dist/ that is there\n');
}

/** A finished child: its exit status, output, wall time, and its own process.resourceUsage(). */
export interface NodeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
}

/**
 * The child reports its own resource usage at exit on fd 3 (a preloaded one-line module), so
 * the CPU and peak memory are that process's alone, whatever else runs on the machine.
 */
const RUSAGE_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => { try { writeSync(3, JSON.stringify(process.resourceUsage())); } catch {} });",
)}`;

export function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<NodeRun> {
  if (interrupted) return Promise.reject(new Error('interrupted'));
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', RUSAGE_PRELOAD, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  track(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const usage: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  child.stdio[3]!.on('data', (c: Buffer) => usage.push(c));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      const wallMs = performance.now() - started;
      let cpuMs = NaN;
      let maxRssMiB = NaN;
      try {
        const u = JSON.parse(Buffer.concat(usage).toString('utf8')) as { userCPUTime: number; systemCPUTime: number; maxRSS: number };
        cpuMs = (u.userCPUTime + u.systemCPUTime) / 1000;
        maxRssMiB = u.maxRSS / 1024;
      } catch {
        // the child died before its exit handler ran: no usage
      }
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), wallMs, cpuMs, maxRssMiB });
    });
  });
}

