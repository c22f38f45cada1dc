import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { SEMI_SPACE_MIB } from '../../src/cli/server-heap.js';
import { serverOnOwnDataDir } from '../helpers/process.js';

const METRICS_TOKEN = randomBytes(24).toString('base64url');

/** V8's new space as the server's own /metrics reports it (prom-client's heap-space gauges), in MiB. */
async function newSpaceMiB(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  const m = /^mamori_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(await res.text());
  if (!m) throw new Error('no new-space gauge in /metrics');
  return Number(m[1]) / 2 ** 20;
}

describe("mamori serve holds V8's young generation at two 4 MiB semi-spaces (src/cli/server-heap.ts)", () => {
  const server = serverOnOwnDataDir('mamori-heap-');
  afterAll(() => server.dispose());

  it('after the start, and after thousands of requests (left alone, V8 takes it to 2 × 16 MiB)', async () => {
    const proc = await server.start({ MAMORI_METRICS_TOKEN: METRICS_TOKEN });
    const cap = 2 * SEMI_SPACE_MIB;
    expect(await newSpaceMiB(proc.url)).toBeLessThanOrEqual(cap);
    // 20 clients, 6 000 requests: answers that allocate (the session check refuses a bogus cookie
    // with problem+json, the OpenAPI document is a large JSON text).
    const url = proc.url;
    let sent = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (sent++ < 6000) {
          const res = sent % 10 === 0 ? await fetch(`${url}/openapi.json`) : await fetch(`${url}/api/v1/session`, { headers: { cookie: `mamori_session=${randomBytes(24).toString('base64url')}` } });
          await res.arrayBuffer();
        }
      }),
    );
    const after = await newSpaceMiB(proc.url);
    // It grew back to the cap under the load (it starts held at V8's initial 2 × 1 MiB) and no further.
    expect(after).toBeGreaterThan(2);
    expect(after).toBeLessThanOrEqual(cap);
  });
});
