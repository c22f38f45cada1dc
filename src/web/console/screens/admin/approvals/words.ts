// A request under the two-person rule in words: what would be done, to whom.
import { t, tKnown } from '../../../i18n';
import type { Approval } from '../users/api';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function approvalText(a: Pick<Approval, 'action' | 'target' | 'change'>): string {
  const email = a.target.email ?? a.target.id;
  if (a.action === 'remove_mfa_device') return t('admin.approval.remove_mfa_device', { email, name: str(a.change.deviceName) || str(a.change.deviceId) });
  if (a.action === 'remove_all_mfa_devices') return t('admin.approval.remove_all_mfa_devices', { email });
  const raw = a.change.changes;
  const c = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const parts: string[] = [];
  if (c.role === 'admin') parts.push(t('admin.approval.grant_admin', { email }));
  if (c.disabled === true) parts.push(t('admin.approval.disable', { email }));
  return parts.length ? parts.join(' · ') : t('admin.approval.update_user', { email });
}

export const personLabel = (p: { id: string; email: string | null } | null): string => (p ? (p.email ?? p.id) : '—');

/** Why an approved request could not be done, from its problem code, when there are words for it. */
export const failureText = (code: string | null): string => (code ? tKnown(`problem.${code}`, '') : '');
