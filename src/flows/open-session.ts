import type { Transaction } from 'kysely';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import type { Database, Session, User } from '../store/schema.js';
import { enforceAtSignIn, enforcementFor } from './enforcement.js';
import { sessionView, type SessionView } from './session-view.js';

/** What these use of the composition root, and nothing more. */
export type SessionPorts = Pick<Services, 'audit' | 'clock' | 'config' | 'devices' | 'methods' | 'metrics' | 'sessions' | 'signIns' | 'store' | 'users'>;


export interface Level {
  aal: number;
  amr: string[];
  mfaVerified: boolean;
  /** The second factor (or the passwordless credential) was a passkey or security key. */
  phishingResistant?: boolean;
}

export interface OpenedSession {
  token: string;
  session: Session;
  view: SessionView;
  status: 'signed_in' | 'mfa_setup_required' | 'password_change_required';
}

/**
 * Policy wants MFA of this user, who holds no device, and their grace is over (or there is none):
 * the early answer; `openSessionIn` decides again in its transaction, where the grace begins.
 */
export async function mfaSetupRequired(s: SessionPorts, userId: string, aal: number): Promise<boolean> {
  if (s.config.requireMfa === 'off' || aal >= 2) return false;
  const user = await s.users.findById(userId);
  return user !== undefined && (await enforcementFor(s, user)).setupRequired;
}

/** What a session still has to do before the rest of the service opens: a forced password change first. */
export function sessionStatus(session: Pick<Session, 'mfa_setup_only' | 'password_change_only'>): OpenedSession['status'] {
  if (session.password_change_only) return 'password_change_required';
  return session.mfa_setup_only ? 'mfa_setup_required' : 'signed_in';
}

/**
 * Opens a session inside the caller's transaction, with its audit event (after `events`, the
 * ones the step itself records). With `completing`, the
 * half-finished sign-in is completed in the same transaction, and only one caller can do that:
 * the others get undefined. Whatever else the caller writes in `trx` (the attempt settled, the
 * code consumed) commits with it or not at all.
 */
export async function openSessionIn(
  s: SessionPorts,
  trx: Transaction<Database>,
  user: User,
  level: Level,
  caller: Caller,
  opts: { completing?: string; setupRequired: boolean; events?: AuditEntry[] },
): Promise<OpenedSession | undefined> {
  const now = s.clock.now();
  if (opts.completing !== undefined && !(await s.signIns.within(trx).complete(opts.completing, now))) return undefined;
  const passwordChange = user.force_password_change === 1;
  const enforced = await enforceAtSignIn(s, trx, user, level.aal, now);
  const created = await s.sessions.within(trx).create({
    userId: user.id,
    aal: level.aal,
    amr: level.amr,
    // The forced password change comes first; the MFA setup check runs again once it is done.
    mfaSetupOnly: (opts.setupRequired || enforced.setupRequired) && !passwordChange,
    passwordChangeOnly: passwordChange,
    now,
    mfaVerifiedAt: level.mfaVerified ? now : null,
    phrVerifiedAt: level.phishingResistant ? now : null,
    ip: caller.ip,
    userAgent: caller.userAgent,
  });
  await s.users.within(trx).update(user.id, { last_sign_in_at: now });
  // The audit events last, after every row this transaction writes (see SecondFactorStep.onSuccess).
  await s.audit.appendAll(
    [
      ...(opts.events ?? []),
      {
        type: 'sign_in_succeeded',
        userId: user.id,
        ip: caller.ip,
        userAgent: caller.userAgent,
        detail: {
          aal: level.aal,
          amr: level.amr.join(' '),
          sessionId: created.session.id,
          // The grace's start is written by this transaction, so this event records it.
          ...(enforced.deadline === null ? {} : { mfaSetupDeadline: new Date(enforced.deadline).toISOString(), ...(enforced.begins ? { mfaGraceBegan: true } : {}) }),
        },
      },
    ],
    trx,
  );
  return { ...created, view: sessionView(created.session, user, s.config.sessionIdleMinutes * 60_000, enforced.deadline), status: sessionStatus(created.session) };
}

/** The same in a transaction of its own. */
export async function openSession(s: SessionPorts, user: User, level: Level, caller: Caller, completing?: string): Promise<OpenedSession | undefined> {
  // openSessionIn decides MFA setup itself, in the transaction where the grace begins.
  const made = await s.store.db.transaction().execute((trx) => openSessionIn(s, trx, user, level, caller, { setupRequired: false, ...(completing === undefined ? {} : { completing }) }));
  if (made) s.metrics.signIns.inc({ step: 'complete', result: 'success' });
  return made;
}
