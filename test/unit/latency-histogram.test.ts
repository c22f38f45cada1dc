import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/latency-histogram.js';
import { prng } from '../helpers/prng.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function pair() {
  const oursRegistry = new Registry();
  const theirsRegistry = new Registry();
  const ours = new LatencyHistogram({ name: 'x_seconds', help: 'latency', buckets: BUCKETS, registers: [oursRegistry] });
  const theirs = new Histogram({ name: 'x_seconds', help: 'latency', labelNames: ['method', 'route', 'status'] as const, buckets: BUCKETS, registers: [theirsRegistry] });
  const observe = (method: string, route: string, status: number, seconds: number) => {
    ours.record(method, route, status, seconds);
    theirs.observe({ method, route, status: String(status) }, seconds);
  };
  return { ours, theirs, oursRegistry, theirsRegistry, observe };
}

describe('LatencyHistogram against prom-client\'s Histogram', () => {
  it('a scrape and get() read the same for the same observations (bounds, zero, beyond the last bucket, many series)', async () => {
    const { ours, theirs, oursRegistry, theirsRegistry, observe } = pair();
    // Exactly on each bound, just above it, and the edges.
    for (const b of BUCKETS) {
      observe('GET', '/healthz', 200, b);
      observe('GET', '/healthz', 200, b + 1e-9);
    }
    observe('GET', '/healthz', 200, 0);
    observe('POST', '/api/v1/sign-in', 401, 1e6);
    const random = prng(7);
    const routes = ['/api/v1/session', '/api/v1/sign-in', 'unmatched', '/console/*', '/oidc/token'];
    for (let i = 0; i < 5000; i++) {
      observe(random() < 0.5 ? 'GET' : 'POST', routes[Math.floor(random() * routes.length)]!, [200, 204, 401, 429][Math.floor(random() * 4)]!, random() ** 3 * 3);
    }
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    expect(await ours.get()).toEqual(await theirs.get());
    expect((await oursRegistry.metrics()).split('\n').length).toBeGreaterThan(100);
  });

  it('reset empties it, and a value that is not a number is not counted', async () => {
    const { ours, theirs, oursRegistry, theirsRegistry, observe } = pair();
    observe('GET', '/a', 200, 0.2);
    ours.reset();
    theirs.reset();
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    ours.record('GET', '/a', 200, Number.NaN);
    ours.record('GET', '/a', 200, Number.POSITIVE_INFINITY);
    expect((await ours.get()).values).toEqual([]);
  });
});
