import type { FastifyRequest } from 'fastify';
import { fail } from '../errors.js';
import { enforcementFor, mfaRequiredFor } from '../flows/enforcement.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';
import type { Session, User } from '../store/schema.js';
import { SESSION_COOKIE, readCookie } from './cookies.js';

export interface Authenticated {
  session: Session;
  user: User;
}

export function callerOf(req: FastifyRequest): Caller {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
}

/** What a restricted session may still do: assign an MFA device, or set the new password an administrator asked for. */
export type Errand = 'mfa_setup' | 'password_change';

/**
 * The signed-in user of a request. A restricted session passes only where `allow` names its
 * errand (GET /session and sign-out allow both).
 */
export async function requireSession(s: Services, req: FastifyRequest, opts: { allow?: Errand[] } = {}): Promise<Authenticated> {
  const token = readCookie(req, SESSION_COOKIE);
  const found = token ? await s.sessions.findLiveWithUser(token, s.clock.now()) : undefined;
  if (!found || found.user.disabled) fail('unauthenticated');
  const { session, user } = found;
  const allow = opts.allow ?? [];
  if (session.password_change_only && !allow.includes('password_change')) fail('password_change_required', 'Choose a new password before using the rest of the service');
  if (session.mfa_setup_only && !allow.includes('mfa_setup')) fail('mfa_setup_required', 'Assign an MFA device before using the rest of the service');
  // A session opened during the grace does not outlive its deadline: past it, only enrollment is
  // reachable, as for a session opened after it. Costs queries only for aal-1 sessions the rule covers.
  if (session.aal < 2 && !allow.includes('mfa_setup') && mfaRequiredFor(s.config, user.role) && (await enforcementFor(s, user)).setupRequired) {
    fail('mfa_setup_required', 'The time to assign an MFA device has passed: assign one before using the rest of the service');
  }
  return { session, user };
}

/** Administrators with a second factor in this session. */
export async function requireAdmin(s: Services, req: FastifyRequest): Promise<Authenticated> {
  const auth = await requireSession(s, req);
  if (auth.user.role !== 'admin') fail('forbidden');
  // A second factor proved in this session: a remembered browser's aal 2 (mfa_verified_at null) is not enough.
  if (auth.session.aal < 2 || auth.session.mfa_verified_at === null) fail('step_up_required', 'Administration needs a second factor in this session');
  return auth;
}

/** How recent a second factor must be for sensitive changes (NIST 800-63B asks for ≤ 20 min). */
export const STEP_UP_WINDOW_MS = 15 * 60_000;
/** Binding a first authenticator needs a sign-in at most this old (NIST 800-63B 6.1.2.1). */
export const FIRST_DEVICE_WINDOW_MS = 20 * 60_000;

/**
 * Assigning an MFA device: with a device already, a second factor within 15 minutes; for the
 * first one, a sign-in within 20 minutes, so a session left open long ago cannot bind one.
 */
export async function requireRecentAuthForAssigning(s: Services, auth: Authenticated): Promise<void> {
  if ((await s.methods.factors.assigned(auth.user.id)).length > 0) return assertFreshSecondFactor(s, auth);
  if (s.clock.now() - auth.session.signed_in_at > FIRST_DEVICE_WINDOW_MS) {
    fail('reauthentication_required', 'Sign in again to assign your first MFA device');
  }
}

/**
 * Removing a device, new recovery codes, a new password: for a user who holds a second factor,
 * these need it within the last 15 minutes.
 */
export async function requireRecentSecondFactor(s: Services, auth: Authenticated): Promise<void> {
  if ((await s.methods.factors.assigned(auth.user.id)).length > 0) assertFreshSecondFactor(s, auth);
}

function assertFreshSecondFactor(s: Services, auth: Authenticated): void {
  const at = auth.session.mfa_verified_at;
  if (at === null || s.clock.now() - at > STEP_UP_WINDOW_MS) {
    fail('step_up_required', 'Confirm with your MFA device first (POST /api/v1/me/step-up)');
  }
}
