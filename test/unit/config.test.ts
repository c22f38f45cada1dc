import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the variable that is wrong', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ MAMORI_PORT: 'abc' }, 'MAMORI_PORT'],
      [{ MAMORI_PORT: '70000' }, 'MAMORI_PORT'],
      [{ MAMORI_PUBLIC_URL: 'id.example.com' }, 'MAMORI_PUBLIC_URL'],
      [{ MAMORI_PUBLIC_URL: 'https://id.example.com/path' }, 'MAMORI_PUBLIC_URL'],
      [{ MAMORI_DATABASE_URL: 'mysql://x' }, 'MAMORI_DATABASE_URL'],
      [{ MAMORI_SMTP_URL: 'http://mail' }, 'MAMORI_SMTP_URL'],
      [{ MAMORI_MASTER_KEY: Buffer.alloc(16).toString('base64') }, 'MAMORI_MASTER_KEY'],
      [{ MAMORI_REQUIRE_MFA: 'yes' }, 'MAMORI_REQUIRE_MFA'],
      [{ MAMORI_EMAIL_CODE: 'sometimes' }, 'MAMORI_EMAIL_CODE'],
      [{ MAMORI_LOG_LEVEL: 'loud' }, 'MAMORI_LOG_LEVEL'],
      [{ MAMORI_MAIL_FROM: 'nobody' }, 'MAMORI_MAIL_FROM'],
      [{ MAMORI_METRICS_TOKEN: 'x'.repeat(31) }, 'MAMORI_METRICS_TOKEN'],
    ];
    for (const [env, name] of cases) {
      let caught: unknown;
      try {
        loadConfig({ MAMORI_DATA_DIR: dir, ...env });
      } catch (err) {
        caught = err;
      }
      expect(caught, name).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).variable).toBe(name);
      expect((caught as Error).message.startsWith(name)).toBe(true);
    }
  });

  it('takes a metrics token of 32 characters or more, and never repeats a short one in the message', () => {
    expect(loadConfig({ MAMORI_DATA_DIR: dir }).metricsToken).toBeUndefined();
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_METRICS_TOKEN: '' }).metricsToken).toBeUndefined();
    const token = 'k'.repeat(32);
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_METRICS_TOKEN: token }).metricsToken).toBe(token);
    const short = 'short-but-secret-token';
    expect(() => loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_METRICS_TOKEN: short })).toThrow(/^MAMORI_METRICS_TOKEN: must be at least 32 characters/);
    expect(() => loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_METRICS_TOKEN: short })).not.toThrow(new RegExp(short));
  });

  it('generates a development master key into the data dir, mode 0600, and keeps it', () => {
    const first = loadConfig({ MAMORI_DATA_DIR: dir });
    const file = path.join(dir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(loadConfig({ MAMORI_DATA_DIR: dir }).masterKeys[0]!.equals(first.masterKeys[0]!)).toBe(true);
  });

  it('has the documented defaults', () => {
    const c = loadConfig({ MAMORI_DATA_DIR: dir });
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://localhost:8080',
      requireMfa: false,
      emailCode: 'when_no_mfa',
      sessionIdleMinutes: 30,
      sessionAbsoluteHours: 12,
      ipFailureLimit: 100,
      mfaLockMinutes: 0,
    });
  });
});
