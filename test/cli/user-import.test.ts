import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hash as bcryptHash } from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMamori, type CliResult } from '../helpers/cli.js';

const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
const lines = (s: string) => s.split('\n').filter((l) => l !== '');
/** What the command itself says on stderr: refused lines and its own `mamori:` lines (a dependency's warning is not counted). */
const ours = (stderr: string) => lines(stderr).filter((l) => /^(line \d+: |mamori: )/.test(l));

function expectStatus(r: CliResult, status: number) {
  expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(status);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('mamori user import / export / groups (SQLite in a fresh data dir)', () => {
  let dir: string;
  let env: Record<string, string>;
  const mamori = (args: string[]) => runMamori(args, env);
  const file = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mamori-import-cli-'));
    env = { MAMORI_DATA_DIR: path.join(dir, 'data'), MAMORI_LOG_LEVEL: 'silent', MAMORI_MASTER_KEY: MASTER_KEY };
    expectStatus(await mamori(['migrate']), 0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a file with bad lines: exit 1, one stderr line per refused line, nothing imported', async () => {
    const hash = await bcryptHash('an old password', 4);
    const bad = file(
      'bad.jsonl',
      [
        JSON.stringify({ email: 'ok@example.com', password: { format: 'bcrypt', hash } }),
        JSON.stringify({ email: 'ok@example.com' }),
        JSON.stringify({ email: 'x@example.com', password: { format: 'bcrypt', hash: 'not a hash' } }),
        JSON.stringify({ email: 'y@example.com', colour: 'blue\nline 99: forged' }),
        '',
        JSON.stringify({ email: 'z@example.com', totp: { secret: 'JBSWY3DPEHPK3PXP', digits: 7 } }),
      ].join('\n'),
    );
    const [r, missing, noArg] = await Promise.all([mamori(['user', 'import', bad]), mamori(['user', 'import', path.join(dir, 'nope.jsonl')]), mamori(['user', 'import'])]);
    expectStatus(r, 1);
    expect(r.stdout).toBe('');
    expect(ours(r.stderr)).toEqual([
      'line 2: the email ok@example.com is also on line 1',
      expect.stringMatching(/^line 3: password: bcrypt: expected \$2a\$, \$2b\$ or \$2y\$/),
      'line 4: unknown field "colour"',
      'line 6: totp.digits must be 6 or 8',
      'mamori: 4 of 6 lines were refused; nothing was imported',
    ]);
    expect(r.stderr).not.toContain(hash);
    expectStatus(missing, 1);
    expect(ours(missing.stderr)).toEqual([`mamori: cannot read ${path.join(dir, 'nope.jsonl')}`]);
    expectStatus(noArg, 2);
    expect((await mamori(['user', 'list'])).stdout).toBe('');
  });

  it('imports a good file (exit 0), exports it back without secrets, and changes groups', async () => {
    const hash = await bcryptHash('an old password', 4);
    const good = file(
      'good.jsonl',
      [
        JSON.stringify({ email: 'ann@example.com', name: 'Ann', role: 'admin', groups: ['ops'], password: { format: 'bcrypt', hash }, totp: { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' } }),
        JSON.stringify({ email: 'Bob@Example.com', groups: ['dev', 'ops'] }),
        JSON.stringify({ email: 'cy@example.com', locale: 'ja', disabled: true }),
      ].join('\r\n') + '\r\n',
    );
    const r = await mamori(['user', 'import', good]);
    expectStatus(r, 0);
    expect(r.stdout).toBe('imported 3 users\n');
    expect(ours(r.stderr)).toEqual([]);

    const again = await mamori(['user', 'import', good]);
    expectStatus(again, 1);
    expect(ours(again.stderr).filter((l) => l.startsWith('line '))).toHaveLength(3);

    const exported = await mamori(['user', 'export']);
    expectStatus(exported, 0);
    expect(exported.stdout).not.toMatch(/"password"|"totp"|\$2b\$|JBSWY3DP/);
    // Users imported together share their creation time: their order is not part of the contract.
    const rows = lines(exported.stdout).map((l) => JSON.parse(l) as { email: string });
    expect(rows.sort((a, b) => a.email.localeCompare(b.email))).toEqual([
      { email: 'ann@example.com', name: 'Ann', role: 'admin', locale: 'en', groups: ['ops'] },
      { email: 'bob@example.com', name: 'bob', role: 'user', locale: 'en', groups: ['dev', 'ops'] },
      { email: 'cy@example.com', name: 'cy', role: 'user', locale: 'ja', groups: [], disabled: true },
    ]);

    const g = (...args: string[]) => mamori(['user', 'groups', '--email', 'bob@example.com', ...args]);
    expect((await g()).stdout).toBe('bob@example.com\tdev,ops\n');
    expect((await g('--add', 'qa,dev')).stdout).toBe('bob@example.com\tdev,ops,qa\n');
    expect((await g('--remove', 'ops', '--add', 'sec')).stdout).toBe('bob@example.com\tdev,qa,sec\n');
    expect((await g('--set', 'x.y, z-1')).stdout).toBe('bob@example.com\tx.y,z-1\n');
    expect((await g('--set', '')).stdout).toBe('bob@example.com\t(no groups)\n');
    const [badName, both, nobody] = await Promise.all([g('--set', 'Has Space'), g('--set', 'a', '--add', 'b'), mamori(['user', 'groups', '--email', 'nobody@example.com'])]);
    expectStatus(badName, 2);
    expect(ours(badName.stderr)).toHaveLength(1);
    expect(badName.stderr).not.toContain('Has Space');
    expectStatus(both, 2);
    expectStatus(nobody, 1);

    const verify = await mamori(['audit', 'verify']);
    expectStatus(verify, 0);
  });

  it('reads the file as a stream: lines far apart named from the file, a pipe read whole, a directory refused', async () => {
    // 1 200 lines: line 1 100 repeats line 3 two chunks later, so the refusal reads the file again to name it.
    const many = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ email: `far-${i + 1}@example.com` }));
    many[1099] = JSON.stringify({ email: 'FAR-3@example.com' });
    const far = file('far.jsonl', many.join('\n') + '\n');
    // A named pipe (as `… | mamori user import /dev/stdin` gives) can be read once only, so it is read whole.
    const fifo = (name: string, content: string) => {
      const p = path.join(dir, name);
      execFileSync('mkfifo', [p]);
      // Blocks until the command opens it; a failed write shows as the command's own failure.
      writeFile(p, content).catch(() => {});
      return p;
    };
    const [r, piped, directory] = await Promise.all([
      mamori(['user', 'import', far]),
      mamori(['user', 'import', fifo('far.fifo', many.join('\n'))]),
      mamori(['user', 'import', path.join(dir, 'data')]),
    ]);
    for (const x of [r, piped]) {
      expectStatus(x, 1);
      expect(ours(x.stderr)).toEqual(['line 1100: the email far-3@example.com is also on line 3', 'mamori: 1 of 1200 lines were refused; nothing was imported']);
    }
    expectStatus(directory, 1);
    expect(ours(directory.stderr)).toEqual([`mamori: cannot read ${path.join(dir, 'data')}`]);

    const good = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ email: `piped-${i}@example.com` })).join('\r\n');
    const ok = await mamori(['user', 'import', fifo('good.fifo', good)]);
    expectStatus(ok, 0);
    expect(ok.stdout).toBe('imported 1200 users\n');
    // Counted in the export, which waits for its output to drain (user list may exit before a slow pipe has read it all).
    expect(lines((await mamori(['user', 'export'])).stdout)).toHaveLength(1203);
  });
});
