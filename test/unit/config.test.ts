import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
      [{ MAMORI_TRUST_PROXY: 'true' }, 'MAMORI_TRUST_PROXY'],
      [{ MAMORI_TRUSTED_PROXIES: '10.0.0.0/33' }, 'MAMORI_TRUSTED_PROXIES'],
      [{ MAMORI_TRUSTED_PROXIES: 'proxy.local' }, 'MAMORI_TRUSTED_PROXIES'],
      [{ MAMORI_TRUSTED_PROXIES: '10.0.0.1/8/1' }, 'MAMORI_TRUSTED_PROXIES'],
      [{ MAMORI_COOKIE_DOMAIN: 'example..com', MAMORI_PUBLIC_URL: 'https://id.example.com' }, 'MAMORI_COOKIE_DOMAIN'],
      [{ MAMORI_COOKIE_DOMAIN: 'other.com', MAMORI_PUBLIC_URL: 'https://id.example.com' }, 'MAMORI_COOKIE_DOMAIN'],
      [{ MAMORI_COOKIE_DOMAIN: 'ample.com', MAMORI_PUBLIC_URL: 'https://id.example.com' }, 'MAMORI_COOKIE_DOMAIN'],
      [{ MAMORI_CONFIG: '/nonexistent/mamori.yaml' }, 'MAMORI_CONFIG'],
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
      requireMfa: 'off',
      mfaGraceDays: 0,
      emailCode: 'when_no_mfa',
      sessionIdleMinutes: 30,
      sessionAbsoluteHours: 12,
      ipFailureLimit: 100,
      mfaLockMinutes: 0,
    });
  });

  it('refuses MAMORI_TRUST_PROXY with a message naming MAMORI_TRUSTED_PROXIES', () => {
    expect(() => loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_TRUST_PROXY: 'false' })).toThrow(/MAMORI_TRUSTED_PROXIES/);
  });

  it('trusts loopback proxies by default, and exactly the listed ones when given', () => {
    expect(loadConfig({ MAMORI_DATA_DIR: dir }).trustedProxies).toEqual(['127.0.0.1/32', '::1/128']);
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7 ,fd00::/8' }).trustedProxies).toEqual(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_TRUSTED_PROXIES: '' }).trustedProxies).toEqual([]);
  });

  it('takes a cookie domain the public host is under', () => {
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_PUBLIC_URL: 'https://id.example.com', MAMORI_COOKIE_DOMAIN: '.Example.com' }).cookieDomain).toBe('example.com');
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_PUBLIC_URL: 'https://example.com', MAMORI_COOKIE_DOMAIN: 'example.com' }).cookieDomain).toBe('example.com');
    expect(loadConfig({ MAMORI_DATA_DIR: dir }).cookieDomain).toBeUndefined();
  });

  it('reads MAMORI_CONFIG as YAML or JSON; the environment wins; unknown keys and secrets are refused', () => {
    const yaml = path.join(dir, 'mamori.yaml');
    writeFileSync(yaml, 'publicUrl: https://id.example.com\nport: 9000\ntrustedProxies: [10.0.0.0/8]\nforwardAuth:\n  defaultPolicy: deny\n');
    const fromFile = loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_CONFIG: yaml });
    expect(fromFile.publicUrl).toBe('https://id.example.com');
    expect(fromFile.port).toBe(9000);
    expect(fromFile.trustedProxies).toEqual(['10.0.0.0/8']);
    expect(fromFile.file.forwardAuth).toEqual({ defaultPolicy: 'deny' });
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_CONFIG: yaml, MAMORI_PORT: '9100' }).port).toBe(9100);

    const json = path.join(dir, 'mamori.json');
    writeFileSync(json, JSON.stringify({ cookieDomain: 'example.com', publicUrl: 'https://id.example.com' }));
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_CONFIG: json }).cookieDomain).toBe('example.com');

    for (const [body, message] of [
      ['masterKey: abc\n', /unknown setting "masterKey"/],
      ['port: [1, 2]\n', /"port" must be/],
      ['- a\n- b\n', /mapping/],
      ['a: [unclosed\n', /not valid YAML/],
    ] as const) {
      writeFileSync(yaml, body);
      expect(() => loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_CONFIG: yaml })).toThrow(message);
    }
  });
});
