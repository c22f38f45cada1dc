#!/usr/bin/env node
// `npm test`: the build of dist/, then the test suite with the two type checks running beside it.
// One after another before the tests, the checks and the build took 67 s of a slow host's
// 11 minutes (the checks 39 s, the build's own tsc 28 s), each mostly on one core of two. A type
// error still ends the run as soon as it is found, tests and all.
// Arguments go to vitest (`npm test -- test/http/sign-in.test.ts`).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resolve = createRequire(import.meta.url).resolve;
const tsc = resolve('typescript/bin/tsc');
const children = new Set();

/** Runs one step with its output kept, so the steps side by side do not interleave their lines. */
function step(name, args) {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.once('error', (err) => done({ name, ok: false, output: String(err), seconds: 0 }));
    child.once('close', (code, signal) => {
      children.delete(child);
      done({ name, ok: code === 0, output: output + (signal ? `\n(ended by ${signal})` : ''), seconds: (performance.now() - started) / 1000 });
    });
  });
}

function report(r) {
  if (r.ok) process.stdout.write(`${r.name}: ok (${r.seconds.toFixed(1)} s)\n`);
  else process.stdout.write(`${r.name}: FAILED\n${r.output}\n`);
  return r.ok;
}

function stopAll(code) {
  for (const child of children) child.kill('SIGTERM');
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(1));

// The build first, alone: the tests wait for it (vitest's global setup builds too when dist/ is
// stale; built here, it finds dist/ fresh), and its tsc already checks src/. In a fresh clone it
// took 51 s beside the two type checks, against 20–25 s alone.
if (!report(await step('build of dist/', [path.join(root, 'scripts/build.mjs'), '--if-stale']))) stopAll(1);

const checks = [step('type check', [tsc, '--noEmit']), step('type check of the console', [tsc, '-p', 'src/web/console/tsconfig.json'])];
for (const check of checks) void check.then((r) => report(r) || stopAll(1));

const vitest = spawn(process.execPath, [path.join(path.dirname(resolve('vitest/package.json')), 'vitest.mjs'), 'run', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
children.add(vitest);
const [code] = await Promise.all([new Promise((done) => vitest.once('close', (c, signal) => done(c ?? (signal ? 1 : 0)))), ...checks]);
process.exit(code);
