// What follows each answer of a sign-in step, and where a finished sign-in goes: back to the
// application that sent the browser here (at the level it asked for, after a step-up when the
// session is below it), else Security credentials.
import { call, client } from '../../api/client';
import { LocalError } from '../../api/errors';
import type { JsonAnswer } from '../../api/types';
import { t } from '../../i18n';
import { go } from '../../router';
import { ensureFactors, loadSession, session, type Session } from '../../store';
import { approvedForwardReturn, canLeave, clearReturns, meetsLevel, returns, type Level } from './returns';
import { step } from './state';
import { stepUp } from './step-up';

export type StepAnswer = JsonAnswer<'/api/v1/sign-in', 'post'>;

/** When the emailed code stops working, by this browser's clock (counted from the server's seconds, not its time). */
export function codeDeadline(r: StepAnswer): number | null {
  return typeof r.expiresIn === 'number' ? Date.now() + r.expiresIn * 1000 : null;
}

/**
 * The second step, with these methods. Also from a recovery's emailed-code step, for an owner who
 * still holds a device: the same sign-in takes it, and the recovery is void.
 */
export async function toSecondFactor(methods: readonly string[], preferred: string | null, rememberDays: number | null): Promise<void> {
  await ensureFactors(); // the labels and fields of methods without a screen of their own
  step.value = { kind: 'mfa', methods, preferred, rememberDays };
}

/** Acts on the `status` of a sign-in step's answer. */
export async function afterStep(r: StepAnswer): Promise<void> {
  switch (r.status) {
    case 'email_code_sent':
      step.value = { kind: 'email_code', recovery: r.recovery === true, methods: r.recovery === true ? (r.methods ?? []) : [], expiresAt: codeDeadline(r) };
      return;
    case 'mfa_required': {
      const days = r.rememberBrowserDays;
      // "Remember this browser" only when the server offers it (MAMORI_REMEMBER_BROWSER_DAYS).
      await toSecondFactor(r.methods ?? [], r.preferred ?? null, typeof days === 'number' && days > 0 ? days : null);
      return;
    }
    case 'signed_in':
    case 'mfa_setup_required':
    case 'password_change_required': {
      let s = r.session ?? (await loadSession());
      if (r.status === 'mfa_setup_required') s = { ...s, mfaSetupRequired: true };
      if (r.status === 'password_change_required') s = { ...s, passwordChangeRequired: true };
      step.value = { kind: 'leaving' };
      session.value = s;
      await leave(true);
      return;
    }
    default:
      throw new LocalError(t('problem.unexpected'));
  }
}

/** The name an OpenID Connect interaction's application goes by, for the step-up's words. */
async function applicationName(url: string): Promise<string> {
  const u = new URL(url);
  const uid = /^\/oidc\/interaction\/([A-Za-z0-9_-]{1,100})$/.exec(u.pathname)?.[1];
  if (!uid) return u.host;
  try {
    return (await call(client.GET('/oidc/interaction/{uid}/details', { params: { path: { uid } } }))).client.name;
  } catch {
    return u.host;
  }
}

/** Asks for the second factor an application needs; true once the session has it. */
async function reachLevel(level: Level, url: string): Promise<boolean> {
  const host = await applicationName(url);
  const ok = await stepUp({ keyOnly: level === 'phr', intro: t(level === 'phr' ? 'stepUp.forAppKey' : 'stepUp.forApp', { host }) });
  return ok && session.value !== null && meetsLevel(session.value, level);
}

function stay(): void {
  clearReturns();
  step.value = { kind: 'password' };
  go('/security');
}

/**
 * Leaves the sign-in: `fresh` after a step of this page, or not when the page opened signed in
 * already. A forward-auth return is followed then only when a step-up was needed: at the level
 * already, going back would only loop if the cookie never reached the application.
 */
export async function leave(fresh: boolean): Promise<void> {
  const s: Session | null = session.value;
  const { returnTo, forward, level } = returns;
  if (!canLeave(s) || (returnTo === null && forward === null)) return stay();
  const below = !meetsLevel(s, level);
  if (forward && !fresh && !below) return stay();
  const url = forward ? await approvedForwardReturn(forward.rd) : returnTo;
  if (url === null) return stay();
  if (below && level) {
    // Security credentials under the dialog: where a cancelled step-up leaves the user.
    stay();
    if (!(await reachLevel(level, url))) return;
  }
  location.assign(url);
}
