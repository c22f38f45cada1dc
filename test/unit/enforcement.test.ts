import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type RequireMfa } from '../../src/config.js';
import { ADMIN_REMOVAL_GRACE_MS, DAY_MS, decide, graceDeadline, mfaRequiredFor } from '../../src/flows/enforcement.js';

/** A fixed clock: every decision below is made at this instant. */
const NOW = Date.UTC(2026, 0, 15, 9, 30);
const HOUR = 3_600_000;

describe('MFA enforcement decisions (src/flows/enforcement.ts)', () => {
  type Row = {
    rule: RequireMfa;
    days: number;
    role: 'admin' | 'user';
    hasDevice: boolean;
    /** The begun grace, relative to NOW; undefined: the first sign-in under the rule is this one. */
    grace?: { startedAgo: number; untilIn?: number };
    want: { required: boolean; deadline: number | null; setupRequired: boolean; begins: boolean };
  };
  const rows: Row[] = [
    // No rule: nobody is asked, whatever else holds.
    { rule: 'off', days: 7, role: 'user', hasDevice: false, want: { required: false, deadline: null, setupRequired: false, begins: false } },
    { rule: 'off', days: 0, role: 'admin', hasDevice: false, grace: { startedAgo: 30 * DAY_MS }, want: { required: false, deadline: null, setupRequired: false, begins: false } },
    // Everyone, no grace: setup at once, and the (zero-length) grace begins now.
    { rule: 'all', days: 0, role: 'user', hasDevice: false, want: { required: true, deadline: NOW, setupRequired: true, begins: true } },
    { rule: 'all', days: 0, role: 'admin', hasDevice: false, want: { required: true, deadline: NOW, setupRequired: true, begins: true } },
    // A device holder is never held up, and begins nothing.
    { rule: 'all', days: 0, role: 'user', hasDevice: true, want: { required: true, deadline: null, setupRequired: false, begins: false } },
    { rule: 'all', days: 7, role: 'admin', hasDevice: true, grace: { startedAgo: 30 * DAY_MS }, want: { required: true, deadline: null, setupRequired: false, begins: false } },
    // A grace of 7 days: first sign-in, inside, one millisecond before the end, at the end, after.
    { rule: 'all', days: 7, role: 'user', hasDevice: false, want: { required: true, deadline: NOW + 7 * DAY_MS, setupRequired: false, begins: true } },
    { rule: 'all', days: 7, role: 'user', hasDevice: false, grace: { startedAgo: 6 * DAY_MS }, want: { required: true, deadline: NOW + DAY_MS, setupRequired: false, begins: false } },
    { rule: 'all', days: 7, role: 'user', hasDevice: false, grace: { startedAgo: 7 * DAY_MS - 1 }, want: { required: true, deadline: NOW + 1, setupRequired: false, begins: false } },
    { rule: 'all', days: 7, role: 'user', hasDevice: false, grace: { startedAgo: 7 * DAY_MS }, want: { required: true, deadline: NOW, setupRequired: true, begins: false } },
    { rule: 'all', days: 7, role: 'user', hasDevice: false, grace: { startedAgo: 8 * DAY_MS }, want: { required: true, deadline: NOW - DAY_MS, setupRequired: true, begins: false } },
    // Administrators only.
    { rule: 'admins', days: 7, role: 'user', hasDevice: false, grace: { startedAgo: 30 * DAY_MS }, want: { required: false, deadline: null, setupRequired: false, begins: false } },
    { rule: 'admins', days: 7, role: 'admin', hasDevice: false, want: { required: true, deadline: NOW + 7 * DAY_MS, setupRequired: false, begins: true } },
    { rule: 'admins', days: 7, role: 'admin', hasDevice: false, grace: { startedAgo: 8 * DAY_MS }, want: { required: true, deadline: NOW - DAY_MS, setupRequired: true, begins: false } },
    { rule: 'admins', days: 0, role: 'admin', hasDevice: false, want: { required: true, deadline: NOW, setupRequired: true, begins: true } },
    // An administrator's removal: a fixed 24 h that replaces the counted deadline, longer or shorter.
    { rule: 'all', days: 0, role: 'user', hasDevice: false, grace: { startedAgo: 90 * DAY_MS, untilIn: 23 * HOUR }, want: { required: true, deadline: NOW + 23 * HOUR, setupRequired: false, begins: false } },
    { rule: 'all', days: 30, role: 'user', hasDevice: false, grace: { startedAgo: HOUR, untilIn: 23 * HOUR }, want: { required: true, deadline: NOW + 23 * HOUR, setupRequired: false, begins: false } },
    { rule: 'all', days: 0, role: 'user', hasDevice: false, grace: { startedAgo: 25 * HOUR, untilIn: -HOUR }, want: { required: true, deadline: NOW - HOUR, setupRequired: true, begins: false } },
  ];

  it.each(rows)('$rule, $days days, $role, device $hasDevice, grace $grace', (row) => {
    const grace = row.grace && { started_at: NOW - row.grace.startedAgo, until: row.grace.untilIn === undefined ? null : NOW + row.grace.untilIn };
    expect(decide({ requireMfa: row.rule, mfaGraceDays: row.days }, row.role, { hasDevice: row.hasDevice, grace }, NOW)).toEqual(row.want);
  });

  it('asks by role: everyone with true, administrators only with admins', () => {
    const table: Array<[RequireMfa, 'admin' | 'user', boolean]> = [
      ['off', 'admin', false],
      ['off', 'user', false],
      ['all', 'admin', true],
      ['all', 'user', true],
      ['admins', 'admin', true],
      ['admins', 'user', false],
    ];
    for (const [rule, role, want] of table) expect(mfaRequiredFor({ requireMfa: rule }, role), `${rule} ${role}`).toBe(want);
  });

  it('counts the grace days when asked, so a changed setting moves running graces', () => {
    const grace = { started_at: NOW, until: null };
    expect(graceDeadline({ mfaGraceDays: 3 }, grace)).toBe(NOW + 3 * DAY_MS);
    expect(graceDeadline({ mfaGraceDays: 10 }, grace)).toBe(NOW + 10 * DAY_MS);
    expect(graceDeadline({ mfaGraceDays: 10 }, { ...grace, until: NOW + ADMIN_REMOVAL_GRACE_MS })).toBe(NOW + 24 * HOUR);
  });
});

describe('MAMORI_REQUIRE_MFA and MAMORI_MFA_GRACE_DAYS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-enforcement-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (env: Record<string, string>) => loadConfig({ MAMORI_DATA_DIR: dir, ...env });

  it('reads the contract words, with the defaults false and 0', () => {
    const table: Array<[string | undefined, RequireMfa]> = [
      [undefined, 'off'],
      ['', 'off'],
      ['false', 'off'],
      ['0', 'off'],
      ['true', 'all'],
      ['1', 'all'],
      ['admins', 'admins'],
    ];
    for (const [raw, want] of table) expect(load(raw === undefined ? {} : { MAMORI_REQUIRE_MFA: raw }).requireMfa, String(raw)).toBe(want);
    expect(load({}).mfaGraceDays).toBe(0);
    expect(load({ MAMORI_MFA_GRACE_DAYS: '14' }).mfaGraceDays).toBe(14);
    expect(load({ MAMORI_MFA_GRACE_DAYS: '365' }).mfaGraceDays).toBe(365);
  });

  it('refuses anything else, naming the variable', () => {
    for (const raw of ['yes', 'Admins', 'admin', 'users']) expect(() => load({ MAMORI_REQUIRE_MFA: raw })).toThrow(/^MAMORI_REQUIRE_MFA: expected true, false or admins/);
    for (const raw of ['366', '-1', '1.5', 'week']) expect(() => load({ MAMORI_MFA_GRACE_DAYS: raw })).toThrow(/^MAMORI_MFA_GRACE_DAYS: /);
  });

  it('takes both from the settings file, where true is a YAML boolean; the environment wins', () => {
    const file = path.join(dir, 'mamori.yaml');
    writeFileSync(file, 'requireMfa: true\nmfaGraceDays: 7\n');
    expect(load({ MAMORI_CONFIG: file })).toMatchObject({ requireMfa: 'all', mfaGraceDays: 7 });
    writeFileSync(file, 'requireMfa: admins\n');
    expect(load({ MAMORI_CONFIG: file }).requireMfa).toBe('admins');
    expect(load({ MAMORI_CONFIG: file, MAMORI_REQUIRE_MFA: 'false' }).requireMfa).toBe('off');
  });
});
