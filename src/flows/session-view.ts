import type { Session, User } from '../store/schema.js';
import { sessionLevel, type Acr } from './levels.js';

export interface SessionView {
  user: { id: string; email: string; name: string; role: 'admin' | 'user' };
  aal: number;
  amr: string[];
  /** The level as the OpenID Connect `acr` (`urn:mamori:phr` after a passkey or security key). */
  acr: Acr;
  signedInAt: string;
  mfaVerifiedAt: string | null;
  expiresAt: string;
  mfaSetupRequired: boolean;
  /** An administrator forced a password change: the session allows only that (and sign-out). */
  passwordChangeRequired: boolean;
  /** MAMORI_REQUIRE_MFA asks this user for a device they do not hold yet: by when (src/flows/enforcement.ts). */
  mfaSetupDeadline: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `mfaSetupDeadline` as enforcementFor / enforceAtSignIn answer it; a session at aal 2 never has one. */
export function sessionView(session: Session, user: User, idleMs: number, mfaSetupDeadline: number | null = null): SessionView {
  return {
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
    aal: session.aal,
    amr: JSON.parse(session.amr) as string[],
    acr: sessionLevel(session).acr,
    signedInAt: iso(session.signed_in_at),
    mfaVerifiedAt: session.mfa_verified_at === null ? null : iso(session.mfa_verified_at),
    // Whichever comes first: the absolute limit or the idle limit from the last request.
    expiresAt: iso(Math.min(session.expires_at, session.last_seen_at + idleMs)),
    mfaSetupRequired: session.mfa_setup_only === 1,
    passwordChangeRequired: session.password_change_only === 1,
    mfaSetupDeadline: session.aal >= 2 || mfaSetupDeadline === null ? null : iso(mfaSetupDeadline),
  };
}
