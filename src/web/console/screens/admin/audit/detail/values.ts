// One detail value in words: dates in the user's calendar, yes/no, counts, the names of methods
// and device types from the factors' own descriptions, actors, levels and codes.
import { fmtDate, locale, t, tKnown } from '../../../../i18n';
import { factors } from '../../../../store';
import { levelName } from '../../clients/levels';
import { labelText, methodLabel } from '../../../sign-in/second-factor';
import { AMR_WORDS, CODE_WORDS, FIELD_LABELS } from './fields';

export type Who = (userId: string) => string;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/;
const ACTOR_FIELDS = new Set(['requestedBy', 'approvedBy']);
const CODE_FIELDS = new Set(['reason', 'purpose', 'by', 'via']);
/** Lists the server writes as one string, separated by spaces. */
const LIST_FIELDS = new Set(['redirectUris', 'deviceIds', 'recoveryIds', 'scopes']);

/** The actor of an event ("admin:<id>", "cli:root", "setup"…) in words; null for the user's own act. */
export function actorLabel(actor: string | null, who: Who): string {
  if (!actor) return '—';
  const colon = actor.indexOf(':');
  const [kind, rest] = colon < 0 ? [actor, ''] : [actor.slice(0, colon), actor.slice(colon + 1)];
  if (kind === 'admin' && rest) return t('admin.actorAdmin', { who: who(rest) });
  if (kind === 'user' && rest) return who(rest);
  if (kind === 'cli' && rest) return t('admin.actorCliUser', { name: rest });
  if (actor === 'cli') return t('admin.actorCli');
  if (actor === 'setup') return t('admin.actorSetup');
  if (actor === 'recovery') return t('admin.actorRecovery');
  return actor;
}

function deviceType(type: string): string {
  for (const f of factors.value?.factors ?? []) {
    const label = f.deviceLabels[type];
    if (label) return labelText(label);
  }
  return type;
}

function code(value: string): string {
  const key = CODE_WORDS[value];
  if (key) return t(key);
  // A refused PSKC file's reason, or an error code: their words from the problem catalog.
  if (value.startsWith('pskc_')) return tKnown(`problem.validation_failed.${value}`, value);
  return tKnown(`problem.${value}`, value);
}

/** A field's name in words, or as the server wrote it when it has none. */
export function fieldLabel(field: string): string {
  const key = FIELD_LABELS[field];
  return key ? t(key) : field;
}

export function valueText(field: string, value: unknown, who: Who): string {
  if (field === 'minAcr' && (value === null || typeof value === 'string')) return levelName(value);
  if (value === null || value === undefined || value === '') return '—';
  if (field === 'aal' && (value === 1 || value === 2)) return t(value === 2 ? 'admin.auditCode.aal2' : 'admin.auditCode.aal1');
  if (typeof value === 'boolean') return t(value ? 'admin.auditYes' : 'admin.auditNo');
  if (typeof value === 'number') return new Intl.NumberFormat(locale()).format(value);
  if (Array.isArray(value)) return value.map((v) => valueText(field, v, who)).join(', ');
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${fieldLabel(k)}: ${valueText(k, v, who)}`)
      .join('; ');
  }
  if (typeof value !== 'string') return String(value);
  if (ISO.test(value)) return fmtDate(value);
  if (ACTOR_FIELDS.has(field)) return actorLabel(value, who);
  if (CODE_FIELDS.has(field)) return code(value);
  if (LIST_FIELDS.has(field)) return value.split(' ').join(', ');
  if (field === 'method') return methodLabel(value);
  if (field === 'amr') return value.split(' ').map((m) => (AMR_WORDS[m] ? t(AMR_WORDS[m]) : m)).join(', ');
  if (field === 'type' || field === 'types') return value.split(' ').map(deviceType).join(', ');
  if (field === 'role' && (value === 'admin' || value === 'user')) return t(value === 'admin' ? 'admin.role.admin' : 'admin.role.user');
  if (field === 'locale') return tKnown(`lang.${value}`, value);
  return value;
}
