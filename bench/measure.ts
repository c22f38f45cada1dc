/**
 * How the rows are measured: autocannon for throughput (fixed duration and connection count,
 * after a short warm-up), closed loops for latency, and the table row every measurement becomes.
 */
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { settings } from './settings.js';

/**
 * One line of the table. `value` is in `unit`; `ceilingValue`, when there is one, is in the same
 * unit and makes the ratio (a share for rates, a multiple for times and sizes); run.ts adds targets.
 */
export interface Row {
  name: string;
  mode: string;
  value: number;
  unit: string;
  p50?: number;
  p99?: number;
  count?: number;
  errors?: number;
  ceiling?: string;
  ceilingValue?: number;
  target?: string;
  note: string;
}

export interface Stats {
  p50: number;
  p99: number;
  mean: number;
  count: number;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN;
  return { p50: at(50), p99: at(99), mean, count: sorted.length };
}

export const median = (xs: readonly number[]): number => stats(xs).p50;

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A new body for every request (autocannon's setupRequest). */
  body?: () => string;
  /** A new cookie for every request, e.g. turns over many users' sessions. */
  cookie?: () => string;
  expected: number;
}

export interface LoadResult {
  latencies: number[];
  durationS: number;
  rps: number;
  p50: number;
  p99: number;
  count: number;
  errors: number;
  statuses: Record<string, number>;
}

/** One autocannon run; latencies are kept here as floats (autocannon's histogram is whole ms). */
export function load(spec: LoadSpec, durationS: number, connections = settings.connections): Promise<LoadResult> {
  const latencies: number[] = [];
  const { body, cookie } = spec;
  const setupRequest = (req: autocannon.Request): autocannon.Request => ({
    ...req,
    ...(body ? { body: body() } : {}),
    ...(cookie ? { headers: { ...req.headers, ...spec.headers, cookie: cookie() } } : {}),
  });
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections,
        duration: durationS,
        method: spec.method ?? 'GET',
        ...(spec.headers ? { headers: spec.headers } : {}),
        ...(body || cookie ? { requests: [{ setupRequest }] } : {}),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const statuses: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
        const unexpected = Object.entries(statuses).reduce((n, [code, c]) => (Number(code) === spec.expected ? n : n + c), 0);
        const s = stats(latencies);
        resolve({ latencies, durationS: result.duration, rps: result.requests.total / result.duration, p50: s.p50, p99: s.p99, count: result.requests.total, errors: result.errors + unexpected, statuses });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
}

/** The row set against a ceiling measured for it. */
export const against = (row: Row, ceiling: { value: number; text: string }): Row => ({ ...row, ceiling: ceiling.text, ceilingValue: ceiling.value });

/** A password row: set against the hasher alone behind its gate, with its share of the stricter ceiling in the note. */
export const againstHashing = (row: Row, c: { alone: { value: number; text: string }; strict: { value: number; text: string } }): Row => ({
  ...against(row, c.alone),
  note: `${row.note}; ${((100 * row.value) / c.strict.value).toFixed(0)} % of ${c.strict.text}`,
});

/** "3×401, 2×503": the answers other than the expected one, for the note. */
export function oddStatuses(r: Pick<LoadResult, 'statuses'>, expected: number): string {
  const odd = Object.entries(r.statuses).filter(([code]) => Number(code) !== expected);
  return odd.length ? `; got ${odd.map(([code, n]) => `${n}×${code}`).join(', ')}` : '';
}

/**
 * One request of the spec's kind, waited for. After a warm-up the server still works through
 * what autocannon left in flight (20 queued argon2id verifies on a password row); this request
 * queues behind them, so when it returns, the measured run starts on an idle server.
 */
async function drain(spec: LoadSpec): Promise<void> {
  const headers = { ...spec.headers, ...(spec.cookie ? { cookie: spec.cookie() } : {}) };
  const res = await fetch(spec.url, { method: spec.method ?? 'GET', headers, ...(spec.body ? { body: spec.body() } : {}) });
  await res.arrayBuffer();
}

export async function throughputRow(name: string, note: string, spec: LoadSpec): Promise<Row> {
  process.stderr.write(`bench: ${name}…\n`);
  await load(spec, settings.warmupS);
  await drain(spec);
  const r = await load(spec, settings.durationS);
  return { name, mode: `${settings.connections} conn`, value: r.rps, unit: 'req/s', p50: r.p50, p99: r.p99, count: r.count, errors: r.errors, note: note + oddStatuses(r, spec.expected) };
}

/**
 * The same measure on several servers, in slices taken in turn (A, B, A, B…) that add up to the
 * usual duration each: when the machine's other load drifts, it drifts for all of them alike,
 * which a comparison between them (1 000 000 users against 1 000) needs more than precision.
 */
export async function interleavedRows(rows: Array<{ name: string; note: string; spec: LoadSpec }>, slices = 5): Promise<Row[]> {
  process.stderr.write(`bench: ${rows.map((r) => r.name).join(' / ')}, in turn…\n`);
  for (const r of rows) {
    await load(r.spec, settings.warmupS);
    await drain(r.spec);
  }
  const results = rows.map(() => ({ latencies: [] as number[], seconds: 0, errors: 0, statuses: {} as Record<string, number> }));
  for (let i = 0; i < slices; i++) {
    for (const [k, r] of rows.entries()) {
      const got = await load(r.spec, settings.durationS / slices);
      const acc = results[k]!;
      acc.latencies.push(...got.latencies);
      acc.seconds += got.durationS;
      acc.errors += got.errors;
      for (const [code, n] of Object.entries(got.statuses)) acc.statuses[code] = (acc.statuses[code] ?? 0) + n;
      await drain(r.spec);
    }
  }
  return rows.map((r, k) => {
    const acc = results[k]!;
    const s = stats(acc.latencies);
    const odd = oddStatuses({ statuses: acc.statuses }, r.spec.expected);
    const mode = `${settings.connections} conn, ${slices} slices`;
    return { name: r.name, mode, value: s.count / acc.seconds, unit: 'req/s', p50: s.p50, p99: s.p99, count: s.count, errors: acc.errors, note: r.note + odd };
  });
}

/** A latency row from sequential samples: the value is the p50, in ms. */
export function latencyRow(name: string, mode: string, note: string, samples: readonly number[], errors: number): Row {
  const s = stats(samples);
  return { name, mode, value: s.p50, unit: 'ms p50', p50: s.p50, p99: s.p99, count: s.count, errors, note };
}

/** Times `work` and pushes the milliseconds it took. */
export async function timed<T>(samples: number[], work: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await work();
  } finally {
    samples.push(performance.now() - t);
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
