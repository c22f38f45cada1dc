#!/usr/bin/env node
// Runs the compiled command line (dist/mamori.mjs and the chunks it imports, bundled: see scripts/build.mjs). In a checkout (src/ beside it) dist/ is built first when
// it is missing or older than src/, so `npm start` and `npx mamori` need no separate build step.
// MAMORI_BUILD=never runs dist/ as it is (the test suite builds once, then starts many processes).
import { existsSync } from 'node:fs';

if (process.env.MAMORI_BUILD !== 'never' && existsSync(new URL('../src/', import.meta.url))) {
  const { build, isFresh } = await import('../scripts/build.mjs');
  if (!isFresh()) build({ ifStale: true });
}
await import('../dist/mamori.mjs');
