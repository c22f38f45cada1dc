import type { Services } from '../services.js';
import { deadlinesByUser, type EnforcementPorts } from './enforcement.js';

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** RFC 4180 field: quoted when needed; a leading = + - @ is neutralised so spreadsheets don't run it. */
function csvField(v: string | number | boolean): string {
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const CREDENTIAL_REPORT_COLUMNS = [
  'email',
  'role',
  'created',
  'password_last_changed',
  'mfa_active',
  'mfa_device_count',
  'mfa_device_types',
  'last_sign_in',
  'last_mfa_use',
  'locked',
  'disabled',
  // Last, so the columns before it keep their places for scripts that read them by position.
  'mfa_setup_deadline',
] as const;

/** One row a user: who has no MFA, whose devices are stale, who is locked. */
export async function credentialReport(s: Pick<Services, 'users' | 'deviceReports' | 'regulator'> & EnforcementPorts): Promise<string> {
  const users = await s.users.list();
  const devices = await s.deviceReports.activeUsage();
  const locked = await s.regulator.lockedUsers();
  const counts = new Map<string, number>();
  for (const d of devices) counts.set(d.user_id, (counts.get(d.user_id) ?? 0) + 1);
  const deadlines = await deadlinesByUser(s, users, counts);
  const lines = [CREDENTIAL_REPORT_COLUMNS.join(',')];
  for (const u of users) {
    const mine = devices.filter((d) => d.user_id === u.id);
    const lastMfa = mine.reduce<number | null>((m, d) => (d.last_used_at !== null && (m === null || d.last_used_at > m) ? d.last_used_at : m), null);
    lines.push(
      [
        u.email,
        u.role,
        iso(u.created_at),
        iso(u.password_changed_at),
        mine.length > 0,
        mine.length,
        [...new Set(mine.map((d) => d.type))].sort().join(' '),
        iso(u.last_sign_in_at),
        iso(lastMfa),
        locked.has(u.id),
        u.disabled === 1,
        iso(deadlines.get(u.id) ?? null),
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
