import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { HELPER_THREAD_NICE } from '../../src/cli/thread-priority.js';
import { serverOnOwnDataDir } from '../helpers/process.js';

/** Each thread's nice value, from /proc (field 19 of stat, counted after the command's closing parenthesis). */
function niceByThread(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    out.set(Number(task), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

describe.skipIf(process.platform !== 'linux')('mamori serve runs its helper threads behind the event loop (src/cli/thread-priority.ts)', () => {
  const server = serverOnOwnDataDir('mamori-nice-');
  afterAll(() => server.dispose());

  it("the main thread keeps its priority; libuv's pool and V8's helpers are at nice 10, also after password checks", async () => {
    const proc = await server.start();
    const pid = proc.child.pid!;
    // Password checks run argon2id on libuv's pool: the threads that do it are the lowered ones.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proc.url}/api/v1/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `nobody-${i}@example.com`, password: 'not the password at all' }),
      });
      expect(res.status).toBe(401);
    }
    const nice = niceByThread(pid);
    expect(nice.get(pid)).toBe(0);
    const helpers = [...nice].filter(([tid]) => tid !== pid);
    // At least libuv's four pool threads besides V8's own.
    expect(helpers.length).toBeGreaterThanOrEqual(4);
    for (const [tid, value] of helpers) expect({ tid, nice: value }).toEqual({ tid, nice: HELPER_THREAD_NICE });
  });
});
