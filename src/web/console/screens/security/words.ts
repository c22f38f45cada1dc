// What Security credentials says about devices, sessions and methods, in the user's words. Device
// types and methods the console has no words for come from the factors' own descriptions.
import { locale, t, type MessageKey } from '../../i18n';
import { factors } from '../../store';
import { labelText } from '../sign-in/second-factor';

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

const METHODS: Readonly<Record<string, MessageKey>> = {
  password: 'activity.method.password',
  email_code: 'activity.method.email_code',
  passkey: 'activity.method.passkey',
  totp: 'activity.method.totp',
  webauthn: 'activity.method.webauthn',
  recovery_code: 'activity.method.recovery_code',
};

/** How an activity was done (`password`, `totp`, a described factor's id), in words. */
export function methodLabel(method: string): string {
  const own = METHODS[method];
  if (own) return t(own);
  return labelText(factors.value?.factors.find((f) => f.id === method)?.label) || method;
}

/** A session's methods (RFC 8176 `amr`) as a list in words: "Password, MFA code". */
export function amrWords(amr: readonly string[]): string {
  const words: string[] = [];
  if (amr.includes('pwd')) words.push(t('sessions.method.pwd'));
  if (amr.includes('hwk') || amr.includes('swk')) words.push(t('sessions.method.key'));
  else if (amr.includes('otp')) words.push(t('sessions.method.otp'));
  if (amr.includes('remembered')) words.push(t('sessions.method.remembered'));
  const list = new Intl.ListFormat(locale(), { type: 'conjunction' }).format(words);
  // The words are lower case to sit inside the list; the list starts a line of its own.
  return list.charAt(0).toLocaleUpperCase(locale()) + list.slice(1);
}

/** "Chrome on Linux" from a User-Agent header, else the start of it. */
export function shortAgent(ua: string | null | undefined): string {
  if (!ua) return t('common.unknown');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /Windows/.test(ua) ? 'Windows' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return t('ua.on', { browser, os });
  return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
}
