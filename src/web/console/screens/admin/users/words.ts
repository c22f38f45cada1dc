// How Administration → Users says things: roles, a user's status, device types, browsers and who
// did what, in the reader's language. Device types the console has no words for come from the
// factors' own descriptions.
import { t, type MessageKey } from '../../../i18n';
import { factors } from '../../../store';
import { labelText } from '../../sign-in/second-factor';
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

const DEVICE_TYPES: Readonly<Record<string, MessageKey>> = {
  totp: 'mfa.type.totp',
  hardware_totp: 'mfa.type.hardware_totp',
  webauthn: 'mfa.type.webauthn',
};

/** A device type's name: the console's own words, else the label its factor describes, else the type itself. */
export function deviceTypeLabel(type: string): string {
  const own = DEVICE_TYPES[type];
  if (own) return t(own);
  const factor = factors.value?.factors.find((f) => Object.hasOwn(f.deviceLabels, type));
  return labelText(factor?.deviceLabels[type]) || type;
}

/** "Chrome on Linux" from a User-Agent header, else the start of it. */
export function shortAgent(ua: string | null | undefined): string {
  if (!ua) return t('common.unknown');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /Windows/.test(ua) ? 'Windows' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return t('ua.on', { browser, os });
  return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
}

/** Who did something (an audit event's actor): an administrator by email, the command line, or as recorded. */
export function actorLabel(actor: string | null, emailOf: (id: string) => string | undefined): string {
  if (!actor) return '—';
  const admin = /^admin:(.+)$/.exec(actor);
  if (admin?.[1]) return t('admin.byAdmin', { who: emailOf(admin[1]) ?? admin[1] });
  if (actor === 'cli') return t('admin.byCli');
  return actor;
}
