// Every catalog of the console. Each screen folder keeps the words it shows in its own
// messages.json ({en, ja} with the same keys); test/web/catalogs.test.ts fails on a key missing
// from one language, a key no source uses, and an error code or audit event without words.
import common from './messages.json';
import problems from './problems.json';
import events from './events.json';
import signIn from '../screens/sign-in/messages.json';
import setup from '../screens/setup/messages.json';
import recover from '../screens/recover/messages.json';
import consent from '../screens/consent/messages.json';
import security from '../screens/security/messages.json';
import assign from '../screens/security/assign/messages.json';
import admin from '../screens/admin/messages.json';
import adminUsers from '../screens/admin/users/messages.json';
import approvals from '../screens/admin/approvals/messages.json';
import clients from '../screens/admin/clients/messages.json';
import tokens from '../screens/admin/tokens/messages.json';
import audit from '../screens/admin/audit/messages.json';
import auditDetail from '../screens/admin/audit/detail/messages.json';

export const CATALOGS = [common, problems, events, signIn, setup, recover, consent, security, assign, admin, adminUsers, approvals, clients, tokens, audit, auditDetail] as const;

type Keys<C> = C extends { en: infer E } ? keyof E : never;
/** A key some catalog holds: t() of any other string does not compile. */
export type MessageKey = Keys<(typeof CATALOGS)[number]> & string;

export const LANGS = ['en', 'ja'] as const;
export type Lang = (typeof LANGS)[number];
