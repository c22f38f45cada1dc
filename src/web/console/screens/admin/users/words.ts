// How Administration → Users says things: roles, a user's status, device types, browsers and who
// did what, in the reader's language.
import { t, type MessageKey } from '../../../i18n';
import type { AdminUser } from './api';

export const roleLabel = (role: string): string => (role === 'admin' ? t('admin.role.admin') : t('admin.role.user'));

export type Status = 'active' | 'invited' | 'disabled' | 'locked';

const STATUS: Readonly<Record<Status, { key: MessageKey; badge: string }>> = {
  active: { key: 'admin.status.active', badge: 'badge-ok' },
  invited: { key: 'admin.status.invited', badge: 'badge-info' },
  disabled: { key: 'admin.status.disabled', badge: 'badge-off' },
  locked: { key: 'admin.status.locked', badge: 'badge-warn' },
};

/** A user's states: disabled, else invited (no password chosen yet), else active; and locked beside any of them. */
export function statusesOf(u: Pick<AdminUser, 'disabled' | 'invited' | 'locked'>): Status[] {
  const main: Status = u.disabled ? 'disabled' : u.invited ? 'invited' : 'active';
  return u.locked ? [main, 'locked'] : [main];
}

export const statusWord = (s: Status): string => t(STATUS[s].key);
export const statusBadge = (s: Status): string => `badge ${STATUS[s].badge}`;

// Device types (the factors' own labels for those the console has no words for) and browsers, as Security credentials says them.
export { deviceTypeLabel, shortAgent } from '../../security/words';

/** Who did something (an audit event's actor): an administrator by email, the command line, or as recorded. */
export function actorLabel(actor: string | null, emailOf: (id: string) => string | undefined): string {
  if (!actor) return '—';
  const admin = /^admin:(.+)$/.exec(actor);
  if (admin?.[1]) return t('admin.byAdmin', { who: emailOf(admin[1]) ?? admin[1] });
  if (actor === 'cli') return t('admin.byCli');
  return actor;
}
