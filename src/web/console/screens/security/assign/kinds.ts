// The kinds of MFA device the wizard offers: the three with screens of their own (in the order
// of the seed: passkey, app, hardware token), then every other assignment the server describes.
import { t, type MessageKey } from '../../../i18n';
import type { Factor, Factors } from '../../../store';
import { labelText } from '../../sign-in/second-factor';

export type Assignment = Factor['assignments'][number];
export type FieldUi = Assignment['fields'][number];

export interface Kind {
  /** The assignment's path: `POST /api/v1/me/mfa-devices/{path}`. */
  path: string;
  label: string;
  text: string;
  /** The server's description, for a kind the console has no screen for; null for the built-in ones. */
  described: Assignment | null;
}

const OWN: readonly { path: string; label: MessageKey; text: MessageKey }[] = [
  { path: 'webauthn', label: 'assign.passkey', text: 'assign.passkeyText' },
  { path: 'totp', label: 'assign.app', text: 'assign.appText' },
  { path: 'hardware', label: 'assign.hardware', text: 'assign.hardwareText' },
];

/**
 * What to offer. A described assignment that confirms a pending device afterwards is left out:
 * its description does not say what the confirmation asks for. Without the descriptions (the
 * request failed) the built-in three are still offered; the server decides.
 */
export function kindsFrom(factors: Factors | null): Kind[] {
  const served = factors?.factors.flatMap((f) => f.assignments) ?? null;
  const own = OWN.filter((o) => served === null || served.some((a) => a.path === o.path)).map((o) => ({ path: o.path, label: t(o.label), text: t(o.text), described: null }));
  const others = (served ?? [])
    .filter((a) => !OWN.some((o) => o.path === a.path) && !a.confirms)
    .map((a) => ({ path: a.path, label: labelText(a.label) || a.path, text: labelText(a.description), described: a }));
  return [...own, ...others];
}
