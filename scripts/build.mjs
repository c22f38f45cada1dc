#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ with tsc and copies the console's static files beside
// the compiled routes. bin/mamori.js calls it when dist/ is missing or older than src/.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const lock = path.join(root, '.build.lock');
export const STAMP = path.join(dist, '.built-from');
// Required when a build runs, not imported above: bin/mamori.js imports this file at every start
// to check freshness, and loading child_process is a good part of what that check costs.
const execFileSync = (...args) => createRequire(import.meta.url)('node:child_process').execFileSync(...args);

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
 * The command line as a few bundled files: Node resolving and parsing the few hundred modules of
 * dist/ at every start costs more than the work of most commands. esbuild (already here for Vite)
 * bundles the compiled code into dist/mamori.mjs, which declares the commands, and chunks in
 * dist/chunks/: every `import()` in src/ starts a chunk, so a command parses only the code it
 * runs (`user list` never reads Fastify, the OpenID provider or the console's routes). Native
 * addons and optional drivers stay outside. The web routes find the console's files in
 * dist/web/static from their chunk.
 */
function bundleCli() {
  const esbuild = createRequire(import.meta.url).resolve('esbuild/bin/esbuild');
  const chunks = path.join(dist, CHUNKS);
  const meta = path.join(dist, '.bundle-meta.json');
  execFileSync(
    esbuild,
    [
      path.join(dist, 'cli/main.js'),
      '--bundle',
      '--splitting',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      `--outdir=${dist}`,
      '--entry-names=mamori',
      `--chunk-names=${CHUNKS}/[name]-[hash]`,
      '--out-extension:.js=.mjs',
      `--metafile=${meta}`,
      '--external:better-sqlite3',
      '--external:@node-rs/argon2',
      '--external:oidc-provider',
      '--external:pg-native',
      '--log-level=warning',
      // Pure ASCII out (other characters as \u escapes; tsconfig.build.json drops the comments): V8
      // keeps a source file with one character above U+00FF at two bytes per character, ~3 MiB more.
      '--charset=ascii',
      // Licence comments (one names "Jimmy Wärting") go to a .LEGAL.txt beside each chunk, not into the code.
      '--legal-comments=external',
      // CommonJS dependencies inside an ES module bundle still call require(); every chunk gets its own.
      "--banner:js=import { createRequire as __mamoriRequire } from 'node:module'; const require = __mamoriRequire(import.meta.url);",
    ],
    { stdio: 'inherit', cwd: root },
  );
  const outputs = Object.keys(JSON.parse(readFileSync(meta, 'utf8')).outputs).map((o) => path.resolve(root, o));
  removeOldChunks(chunks, outputs.filter((o) => path.dirname(o) === chunks));
}

/** Where the bundle's chunks go, under dist/. */
const CHUNKS = 'chunks';

/** How long a chunk stays after the build that stopped using it: a server started before may still import it. */
const OLD_CHUNK_MS = 60 * 60_000;

/**
 * Chunks are named by their content, so a build leaves the last one's behind. A process started
 * from that build (a server, or a test's) may import one of them later (the server loads some
 * code at its first use), so a chunk is removed only an hour after the build that replaced it:
 * dist/chunks/.written lists the last build's chunks, and a chunk that drops out of it gets its
 * modification time set to that moment.
 */
function removeOldChunks(dir, written) {
  const list = path.join(dir, '.written');
  const before = existsSync(list) ? readFileSync(list, 'utf8').split('\n').filter(Boolean) : [];
  const keep = new Set(written.map((file) => path.basename(file)));
  const now = new Date();
  for (const name of before) if (!keep.has(name) && existsSync(path.join(dir, name))) utimesSync(path.join(dir, name), now, now);
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (name !== '.written' && !keep.has(name) && now.getTime() - statSync(file).mtimeMs > OLD_CHUNK_MS) rmSync(file, { force: true });
  }
  writeFileSync(list, [...keep].join('\n') + '\n');
}

export function isFresh(from = newestSource()) {
  return existsSync(STAMP) && Number.parseFloat(readFileSync(STAMP, 'utf8')) >= from;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // --if-stale: only when src/ changed since the last build (what `npm test` asks for).
  build({ ifStale: process.argv.includes('--if-stale') });
}
