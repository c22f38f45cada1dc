#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ with tsc and copies the console's static files beside
// the compiled routes. bin/mamori.js calls it when dist/ is missing or older than src/.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const lock = path.join(root, '.build.lock');
export const STAMP = path.join(dist, '.built-from');

/** The newest modification time under src/: what dist/ must be at least as new as. */
export function newestSource(dir = path.join(root, 'src')) {
  // The console's build settings count as source too.
  let newest = dir === path.join(root, 'src') ? statSync(path.join(root, 'vite.config.ts')).mtimeMs : 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** One build at a time across processes (tests start many CLIs at once): a directory is the lock. */
function withLock(work) {
  for (let waited = 0; ; waited += 50) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A build that died leaves its lock behind; a minute is far longer than a build takes.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
      sleep(50);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function build({ ifStale = false } = {}) {
  return withLock(() => {
    const from = newestSource();
    // Another process may have built while this one waited for the lock.
    if (ifStale && isFresh(from)) return false;
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    // Compiled over the old files, never after deleting them: a running server may still load a module from dist/.
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
    buildConsole();
    bundleCli();
    writeFileSync(STAMP, String(from));
    return true;
  });
}

/** The console (src/web/console, Preact + TypeScript) into dist/web/static with Vite. */
function buildConsole() {
  const vite = createRequire(import.meta.url).resolve('vite/package.json').replace(/package\.json$/, 'bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', path.join(root, 'vite.config.ts')], { stdio: 'inherit', cwd: root });
}

/**
 * The command line as one file: Node resolves and parses the few hundred modules of dist/ at
 * every start, which costs more than the work of most commands. esbuild (already here for Vite)
 * bundles the compiled code; native addons and optional drivers stay outside, and modules loaded
 * with `import()` are still evaluated only when a command needs them. The console's files sit
 * beside the bundle, where the web routes look for them.
 */
function bundleCli() {
  const esbuild = createRequire(import.meta.url).resolve('esbuild/bin/esbuild');
  execFileSync(
    esbuild,
    [
      path.join(dist, 'cli/main.js'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      `--outfile=${path.join(dist, 'mamori.mjs')}`,
      '--external:better-sqlite3',
      '--external:@node-rs/argon2',
      '--external:oidc-provider',
      '--external:pg-native',
      '--log-level=warning',
      // CommonJS dependencies inside an ES module bundle still call require().
      "--banner:js=import { createRequire as __mamoriRequire } from 'node:module'; const require = __mamoriRequire(import.meta.url);",
    ],
    { stdio: 'inherit', cwd: root },
  );
  rmSync(path.join(dist, 'static'), { recursive: true, force: true });
  cpSync(path.join(dist, 'web/static'), path.join(dist, 'static'), { recursive: true });
}

export function isFresh(from = newestSource()) {
  return existsSync(STAMP) && Number.parseFloat(readFileSync(STAMP, 'utf8')) >= from;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  build();
}
