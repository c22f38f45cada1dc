import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * How big the server lets V8's heap grow, set from inside the process: `node bin/mamori.js serve`
 * is how the server starts (npm start, service units, the tests), so no V8 flag reaches it on
 * the command line. Two of V8's sizing rules are read each time they apply, not only at start,
 * and are set here. Left to V8's defaults, the heap took ~80 MiB of the server's ~200 MiB peak
 * resident memory under `npm run bench`'s loads, for ~35 MiB of live objects.
 *
 * The young generation (the new space: two semi-spaces every new object is allocated in and
 * copied between) is held at two SEMI_SPACE_MIB semi-spaces. V8 doubles a semi-space whenever
 * most of it survives a scavenge, up to 16 MiB; the server's start-up (every module's objects
 * survive) took it there, and both halves are touched, so 32 MiB stayed resident for good, for
 * objects that live for one request. `--max-semi-space-size` is read only at start, but the
 * growth factor is read at every growth: 1 (no growth) while the server starts, then 2 while
 * the new space is below the cap and 1 once it reached it, checked after every collection. When
 * V8 shrinks an idle server's new space, it may grow back up to the cap.
 *
 * The old generation is collected once it grew by OLD_GENERATION_GROWTH over what the last full
 * collection left. V8's own factor went up to ~2 here: on a 22 MiB live heap it let 20 MiB of
 * dead request objects pile up before the first full collection under load (a smaller young
 * generation moves more of them there).
 *
 * Measured with `npm run bench` and interleaved runs on the project's 2-core machine (see the
 * commit): GET /api/v1/session, /healthz and the password step kept their throughput and CPU
 * time per request within the runs' noise.
 */
export const SEMI_SPACE_MIB = 4;
export const OLD_GENERATION_GROWTH = 1.5;

const setGrowthFactor = (factor: 1 | 2) => v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);

/** Both semi-spaces, as V8 reports the new space's size. */
export function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Called before the server's modules load: their objects would otherwise double the new space
 * several times in one synchronous stretch, where no check after a collection can run.
 */
export function holdHeap(): void {
  setGrowthFactor(1);
  v8.setFlagsFromString(`--heap-growing-percent=${Math.round((OLD_GENERATION_GROWTH - 1) * 100)}`);
}

/**
 * Once the server has started: the new space may grow again, up to 2 × `semiSpaceMiB`. Between
 * two growths lie at least two scavenges and, once requests are answered, event-loop turns,
 * where the check runs. Returns a function that stops the checks, leaving the new space as it is.
 */
export function capYoungGeneration(semiSpaceMiB = SEMI_SPACE_MIB): () => void {
  const cap = 2 * semiSpaceMiB * 2 ** 20;
  let factor: 1 | 2 | undefined;
  const check = () => {
    const wanted = youngGenerationBytes() < cap ? 2 : 1;
    if (wanted !== factor) setGrowthFactor((factor = wanted));
  };
  check();
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
