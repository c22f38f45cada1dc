import { afterAll } from 'vitest';
import { hashGate } from '../../src/methods/hash-gate.js';

/**
 * The test files share each worker's modules (vitest.config.ts), and with them the process-wide
 * hash gate. A file's last argon2id can still be running when its servers have closed (a request
 * the test did not wait for); the next file then starts only once those have finished, so no file
 * meets another's hashes in its timings. Runs after the file's own afterAll hooks (stack order).
 */
afterAll(async () => {
  const deadline = Date.now() + 30_000;
  while (hashGate.running > 0 || hashGate.waiting > 0) {
    if (Date.now() > deadline) throw new Error(`the hash gate still holds ${hashGate.running} running and ${hashGate.waiting} waiting 30 s after the file's end`);
    await new Promise((r) => setTimeout(r, 10));
  }
});
