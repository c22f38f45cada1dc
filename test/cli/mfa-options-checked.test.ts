/**
 * README, "Command line": options are checked against the API's field schemas, so the CLI takes no
 * email or id the API would refuse, and a refusal is one line on stderr. `user unlock` does this
 * (exit 2); `mfa list` and `mfa deactivate` are held to the same rule here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { runMamori } from '../helpers/cli.js';

describe('mamori mfa list / deactivate check --email and --device like the API', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mamori-mfa-opts-'));
  const env = { MAMORI_DATA_DIR: dataDir, MAMORI_MASTER_KEY: randomBytes(32).toString('base64'), MAMORI_LOG_LEVEL: 'silent' };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const BAD_EMAILS = ['weird"<>@example.com', 'x@example.com\nmamori: a forged second line'];

  it('user unlock (the reference): a bad email is bad usage, one line, not echoed', async () => {
    for (const email of BAD_EMAILS) {
      const r = await runMamori(['user', 'unlock', '--email', email], env);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it.each([
    ['mfa', 'list'],
    ['mfa', 'deactivate', '--device', 'AAAAAAAAAAAAAAAAAAAAAA'],
  ])('%s %s: a bad --email is bad usage (exit 2) on one stderr line', async (...cmd) => {
    for (const email of BAD_EMAILS) {
      const r = await runMamori([...cmd, '--email', email], env);
      expect(r.stderr.trim().split('\n'), JSON.stringify(r.stderr)).toHaveLength(1);
      expect(r.stderr).not.toContain('forged');
      expect(r.status, r.stderr).toBe(2);
    }
  });

  it('mfa deactivate: a --device the API would refuse as an id is bad usage on one line', async () => {
    const r = await runMamori(['mfa', 'deactivate', '--email', 'x@example.com', '--device', 'id\nforged'], env);
    expect(r.stderr.trim().split('\n'), JSON.stringify(r.stderr)).toHaveLength(1);
    expect(r.status, r.stderr).toBe(2);
  });
});
