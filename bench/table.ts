/**
 * The one table `npm run bench` prints: a Markdown table, padded so it also reads in a terminal
 * and can go into docs/benchmarks.md as it is.
 */
import os from 'node:os';
import type { Row } from './measure.js';

export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  // Groups of three with a space, as the docs write numbers (12 345).
  return v.toFixed(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** Throughput against its ceiling, higher is better. */
export const percentOf = (v: number, ceiling: number): string => `${((100 * v) / ceiling).toFixed(0)} %`;
/** Latency, memory or time against its floor, lower is better. */
export const timesOf = (v: number, floor: number): string => `×${(v / floor).toFixed(1)}`;

/** A share for rates (req/s, flows/s…), a multiple for the rest. */
function ratio(r: Row): string {
  if (r.ceilingValue === undefined || !Number.isFinite(r.value)) return '';
  return r.unit.endsWith('/s') ? percentOf(r.value, r.ceilingValue) : timesOf(r.value, r.ceilingValue);
}
export const verdict = (target: string, met: boolean): string => `${target} — ${met ? 'met' : 'not met'}`;

export interface Header {
  startedAt: Date;
  loadAtStart: number[];
  database: string;
  lines: string[];
}

export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `${model}, ${cpus.length} cores (${os.availableParallelism()} available), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB — Node ${process.version} — ${os.platform()} ${os.release()}`;
}

export function printTable(header: Header, rows: Row[]): void {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const lines = [
    `Mamori bench — ${header.startedAt.toISOString()} — ${header.database}`,
    machine(),
    `load average (1, 5, 15 min) at start ${load(header.loadAtStart)}, at end ${load(os.loadavg())}; the bench client shares the machine with the servers`,
    ...header.lines,
    '',
  ];
  const head = ['row', 'mode', 'result', 'p50 ms', 'p99 ms', 'n', 'errors', 'ceiling (same run)', 'ratio', 'target (issue 12)', 'note'];
  const cells = rows.map((r) => [
    r.name,
    r.mode,
    `${fmtNumber(r.value)} ${r.unit}`,
    r.p50 === undefined ? '' : fmtNumber(r.p50),
    r.p99 === undefined ? '' : fmtNumber(r.p99),
    r.count === undefined ? '' : String(r.count),
    r.errors === undefined ? '' : String(r.errors),
    r.ceiling ?? '',
    ratio(r),
    r.target ?? '',
    r.note,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set([2, 3, 4, 5, 6, 8]);
  const fmt = (c: string[]) => `| ${c.map((v, i) => (right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' | ')} |`;
  lines.push(fmt(head), `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const c of cells) lines.push(fmt(c));
  lines.push(
    '',
    'errors = connection errors + answers other than the expected one (200; 401 where the note says so). ratio = result ÷ ceiling (%: higher is better; ×: lower is better).',
  );
  process.stdout.write(lines.join('\n') + '\n');
}
