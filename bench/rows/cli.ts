/**
 * CLI cold start: `node bin/mamori.js user list` against a data dir of its own (64 imported
 * users; with --pg a database of its own), a new process each time, as an operator's shell
 * starts it. Wall time is the parent's, from spawn to exit; CPU is the child's own
 * process.resourceUsage() (user + system), reported at its exit.
 */
import { prepareInstance, runCli } from '../servers.js';
import { median, type Row } from '../measure.js';
import { importPopulation } from '../population.js';
import { settings } from '../settings.js';

const USERS = 64;

export async function cliRow(): Promise<{ row: Row; cpuMs: number; wallMs: number }> {
  process.stderr.write(`bench: CLI cold start, ${settings.cliRuns} runs…\n`);
  const instance = await prepareInstance('cli');
  try {
    await importPopulation(instance, USERS, 0);
    // One run first, not counted: the first read of dist/ from disk is not what a start costs.
    await runCli(instance, ['user', 'list']);
    const runs = [];
    let errors = 0;
    for (let i = 0; i < settings.cliRuns; i++) {
      const r = await runCli(instance, ['user', 'list']);
      if (r.status !== 0 || r.stdout.trim().split('\n').length !== USERS) errors++;
      runs.push(r);
    }
    const wallMs = median(runs.map((r) => r.wallMs));
    const cpuMs = median(runs.map((r) => r.cpuMs));
    const row: Row = {
      name: 'CLI cold start: mamori user list',
      mode: `${settings.cliRuns} runs, median`,
      value: wallMs / 1000,
      unit: 's wall',
      count: runs.length,
      errors,
      note: `${(cpuMs / 1000).toFixed(3)} s CPU (user + system), peak ${median(runs.map((r) => r.maxRssMiB)).toFixed(0)} MiB; ${USERS} users listed; the bundled dist/mamori.mjs and the chunks it imports, no build check (MAMORI_BUILD=never)`,
    };
    return { row, cpuMs, wallMs };
  } finally {
    await instance.release();
  }
}
