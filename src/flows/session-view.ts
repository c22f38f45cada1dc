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
}

const iso = (ms: number) => new Date(ms).toISOString();

export function sessionView(session: Session, user: User, idleMs: number): SessionView {
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
  };
}
