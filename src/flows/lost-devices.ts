/**
 * "I lost my MFA devices", without a helpdesk (issue 10, item 2). Never an instant bypass:
 *
 * 1. `requestLostDevices`: a single-use link (256-bit, 1 h) is mailed to the account's address.
 *    The answer is the same whether or not the address has an account.
 * 2. `confirmRecovery`: opening the link starts a 24-hour cooling-off, and the user is mailed at
 *    once, with a cancel link. The cooling-off ends by mail too (`mailEndedCoolingOffs`).
 * 3. After it, and only then, the right password leads to an emailed code instead of the second
 *    factor (src/flows/sign-in.ts), and that code's step deactivates every old device and opens a
 *    session that may only assign a new one (`completeRecoveryIn`).
 *
 * The user cancels from the mail, from any signed-in session, or by signing in with an MFA device.
 */
import type { Transaction } from 'kysely';
import { newToken } from '../crypto/tokens.js';
import { fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import { isRefusal } from '../regulation/index.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import type { Database, RecoveryRequest, User } from '../store/schema.js';
import { deliver, notify, notifyLater, originOf } from './notify.js';
import { openSessionIn, type OpenedSession, type SessionPorts } from './open-session.js';
import { unknownEmailKey } from './password-attempt.js';
import { refuseAddress, retryLater } from './refusals.js';
import { endSessionsIn } from './sessions.js';

/** How long the mailed link may be opened. */
export const RECOVERY_LINK_TTL_MS = 60 * 60_000;
/** The cooling-off between opening the link and the first sign-in without the old devices. */
export const COOLING_OFF_MS = 24 * 3_600_000;

/** What these use of the composition root, and nothing more. */
export type LostDevicePorts = Pick<
  Services,
  'audit' | 'box' | 'clock' | 'config' | 'devices' | 'log' | 'mailer' | 'methods' | 'metrics' | 'oidcPayloads' | 'recoveryRequests' | 'regulator' | 'sessions' | 'signIns' | 'store' | 'users'
> &
  SessionPorts;

const invalidLink = 'This link is not valid (it may be used, cancelled or expired)';

function consoleLink(s: Pick<Services, 'config'>, route: string, token: string): string {
  // The token rides in the fragment, which browsers never send to a server or put in a Referer.
  return `${s.config.publicUrl}/console/#/${route}?token=${token}`;
}

/**
 * Who may recover by mail: an enabled account with a password (the last step asks for it) and at
 * least one MFA device (without one, password + emailed code already signs in).
 */
async function eligible(s: LostDevicePorts, user: User): Promise<boolean> {
  return user.disabled === 0 && user.password_hash !== null && (await s.devices.countActive(user.id)) > 0;
}

/**
 * `POST /sign-in/lost-devices`: mails the link when the address belongs to an eligible account.
 * Counted per client address and per account before anything is looked at; an unknown address
 * draws on a budget of its own under the same rule (keyed by an HMAC, as for passwords), so
 * status, body and limits are the same either way, and the mail goes out after the answer.
 */
export async function requestLostDevices(s: LostDevicePorts, email: string, caller: Caller): Promise<void> {
  for (const budget of s.regulator.lostDeviceRequests(caller.ip)) {
    const refusal = await s.regulator.take(budget);
    if (refusal) return refuseAddress(s, refusal, caller);
  }
  const user = await s.users.findByEmail(email);
  const refusal = await s.regulator.take(s.regulator.lostDeviceLinks(user ? { userId: user.id } : { unknownEmailKey: unknownEmailKey(s, email) }));
  if (refusal) {
    if (await s.regulator.firstRefusal(refusal.budget)) {
      await s.audit.append({ type: 'recovery_request_refused', userId: user?.id ?? null, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'daily_cap' } });
    }
    throw retryLater(refusal, 'Too many recovery requests for this address; try again later');
  }
  const now = s.clock.now();
  if (!user || !(await eligible(s, user))) {
    await s.audit.append({
      type: 'recovery_request_ignored',
      userId: user?.id ?? null,
      ip: caller.ip,
      userAgent: caller.userAgent,
      detail: user ? { reason: user.disabled ? 'disabled' : user.password_hash === null ? 'no_password' : 'no_mfa_device' } : { reason: 'unknown_user', email: email.slice(0, 254) },
    });
    return;
  }
  const made = await s.store.db.transaction().execute(async (trx) => {
    const repo = s.recoveryRequests.within(trx);
    // One recovery at a time: a cooling-off under way is not restarted by a new request.
    const pending = await repo.findConfirmedOpen(user.id);
    if (pending) {
      await s.audit.append({ type: 'recovery_request_ignored', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'already_cooling_off', recoveryId: pending.id } }, trx);
      return undefined;
    }
    const created = await repo.create({ userId: user.id, now, ip: caller.ip, userAgent: caller.userAgent });
    await s.audit.append({ type: 'recovery_requested', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { recoveryId: created.id } }, trx);
    return created;
  });
  if (!made) return;
  notifyLater(s, user, {
    kind: 'lost_devices_link',
    link: consoleLink(s, 'recover', made.token),
    expiresInMinutes: RECOVERY_LINK_TTL_MS / 60_000,
    coolingHours: COOLING_OFF_MS / 3_600_000,
    at: now,
    ...originOf(caller),
  });
}

/**
 * A token step (the link, the cancel link): reserved on the client address's failure budget
 * before the token is looked up, settled by whether it named anything.
 */
async function tokenStep<T>(s: LostDevicePorts, caller: Caller, eventType: string, work: () => Promise<T | undefined>): Promise<T> {
  const attempt = await s.regulator.reserve(s.regulator.address(caller.ip));
  if (isRefusal(attempt)) return refuseAddress(s, attempt, caller);
  let result: T | undefined;
  try {
    result = await work();
  } catch (err) {
    await attempt.release();
    throw err;
  }
  if (result !== undefined) {
    await attempt.succeed();
    return result;
  }
  await s.store.db.transaction().execute(async (trx) => {
    await attempt.fail(trx);
    await s.audit.append({ type: eventType, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: 'invalid_token' } }, trx);
  });
  fail('invalid_code', invalidLink);
}

/**
 * `POST /recovery/confirm`: uses the link once, while it is fresh, and starts the cooling-off.
 * Of concurrent confirmations of one link, the conditional UPDATE lets exactly one through.
 */
export async function confirmRecovery(s: LostDevicePorts, token: string, caller: Caller): Promise<{ coolingUntil: number }> {
  const now = s.clock.now();
  const cancelToken = newToken();
  const confirmed = await tokenStep(s, caller, 'recovery_confirm_failed', () =>
    s.store.db.transaction().execute(async (trx) => {
      const repo = s.recoveryRequests.within(trx);
      const request = await repo.confirm(token, { now, linkTtlMs: RECOVERY_LINK_TTL_MS, coolingMs: COOLING_OFF_MS, cancelToken });
      if (!request) return undefined;
      const user = await s.users.within(trx).findById(request.user_id);
      // Disabled meanwhile: the link goes with the account (rolled back, counted as a bad link).
      if (!user || user.disabled) throw new LinkVoid();
      const superseded = await repo.supersede(user.id, request.id, now);
      await s.audit.append(
        { type: 'recovery_cooling_off_started', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { recoveryId: request.id, coolingUntil: request.cooling_until!, superseded } },
        trx,
      );
      return { request, user };
    }).catch((err: unknown) => {
      if (err instanceof LinkVoid) return undefined;
      throw err;
    }),
  );
  const until = confirmed.request.cooling_until!;
  await notify(s, confirmed.user, { kind: 'recovery_started', until, cancelLink: consoleLink(s, 'recover/cancel', cancelToken), at: now, ...originOf(caller) });
  return { coolingUntil: until };
}

/** Rolls back a confirmation whose account can no longer recover. */
class LinkVoid extends Error {}

/** `POST /recovery/cancel`: the cancel link of either mail ends the recovery, once. */
export async function cancelRecoveryByToken(s: LostDevicePorts, token: string, caller: Caller): Promise<void> {
  const now = s.clock.now();
  const cancelled = await tokenStep(s, caller, 'recovery_cancel_failed', () =>
    s.store.db.transaction().execute(async (trx) => {
      const request = await s.recoveryRequests.within(trx).cancelByToken(token, now);
      if (!request) return undefined;
      await s.audit.append({ type: 'recovery_cancelled', userId: request.user_id, ip: caller.ip, userAgent: caller.userAgent, detail: { recoveryId: request.id, by: 'mail' } }, trx);
      return request;
    }),
  );
  const user = await s.users.findById(cancelled.user_id);
  if (user) await notify(s, user, { kind: 'recovery_cancelled', by: 'user', at: now, ...originOf(caller) });
}

export type RecoveryStatus = 'link_sent' | 'cooling_off' | 'ready';

export interface RecoveryView {
  status: RecoveryStatus;
  requestedAt: number;
  coolingUntil: number | null;
}

/** `GET /me/recovery`: the user's open recovery, if any (a signed-in owner should see an attacker's). */
export async function pendingRecovery(s: Pick<Services, 'clock' | 'recoveryRequests'>, user: User): Promise<RecoveryView | undefined> {
  const now = s.clock.now();
  const r = await s.recoveryRequests.findOpen(user.id, now, RECOVERY_LINK_TTL_MS);
  if (!r) return undefined;
  const status: RecoveryStatus = r.confirmed_at === null ? 'link_sent' : r.cooling_until! > now ? 'cooling_off' : 'ready';
  return { status, requestedAt: r.requested_at, coolingUntil: r.cooling_until };
}

/** Ends every open recovery of the user, with its audit event; how many ended. */
async function cancelOpen(s: LostDevicePorts, user: User, caller: Caller, by: 'session' | 'sign_in'): Promise<number> {
  const now = s.clock.now();
  return s.store.db.transaction().execute(async (trx) => {
    const ended = await s.recoveryRequests.within(trx).cancelOpen(user.id, now);
    if (ended.length > 0) {
      await s.audit.append({ type: 'recovery_cancelled', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { recoveryIds: ended.map((r) => r.id).join(' '), by } }, trx);
    }
    return ended.length;
  });
}

/** `DELETE /me/recovery`: any signed-in session may cancel (the owner cancels an attacker's request). */
export async function cancelRecoveryFromSession(s: LostDevicePorts, user: User, caller: Caller): Promise<void> {
  if ((await cancelOpen(s, user, caller, 'session')) > 0) {
    await notify(s, user, { kind: 'recovery_cancelled', by: 'user', at: s.clock.now(), ...originOf(caller) });
  }
}

/**
 * After a sign-in with an MFA device: whoever holds one does not need the recovery, so it is
 * void. The common case (nothing open) costs one read.
 */
export async function voidRecoveryOnSignIn(s: LostDevicePorts, user: User, caller: Caller): Promise<void> {
  if (!(await s.recoveryRequests.findOpen(user.id, s.clock.now(), RECOVERY_LINK_TTL_MS))) return;
  if ((await cancelOpen(s, user, caller, 'sign_in')) > 0) {
    await notify(s, user, { kind: 'recovery_cancelled', by: 'sign_in', at: s.clock.now(), ...originOf(caller) });
  }
}

/**
 * The "cooling-off ended" mails that are due (for one user, or everyone: housekeeping). Each is
 * claimed by a conditional UPDATE, so of concurrent runs and instances exactly one sends it; a
 * claim whose mail could not be delivered is given back for a later run. Returns how many went.
 */
export async function mailEndedCoolingOffs(s: Pick<Services, 'audit' | 'clock' | 'config' | 'log' | 'mailer' | 'recoveryRequests' | 'store' | 'users'>, opts: { userId?: string } = {}): Promise<number> {
  const now = s.clock.now();
  let sent = 0;
  for (const due of await s.recoveryRequests.dueEndedMails(now, 100, opts.userId)) {
    const cancelToken = newToken();
    const claimed = await s.store.db.transaction().execute(async (trx) => {
      if (!(await s.recoveryRequests.within(trx).claimEndedMail(due.id, now, cancelToken))) return false;
      await s.audit.append({ type: 'recovery_cooling_off_ended', userId: due.user_id, detail: { recoveryId: due.id } }, trx);
      return true;
    });
    if (!claimed) continue;
    const user = await s.users.findById(due.user_id);
    const delivered = user !== undefined && (await deliver(s, user, {
        kind: 'recovery_ended',
        requestedAt: due.requested_at,
        cancelLink: consoleLink(s, 'recover/cancel', cancelToken),
        at: now,
        // Where the link was asked for from: the reader's best clue whether it was them.
        ...originOf({ ip: due.ip, userAgent: due.user_agent }),
      }));
    if (delivered) {
      sent++;
      continue;
    }
    await s.store.db.transaction().execute(async (trx) => {
      await s.recoveryRequests.within(trx).releaseEndedMail(due.id, now);
      await s.audit.append({ type: 'recovery_ended_mail_failed', userId: due.user_id, detail: { recoveryId: due.id } }, trx);
    });
  }
  return sent;
}

/**
 * A device assigned since the request was made means the user holds one again: the recovery is
 * stale and must not deactivate it (say the administrator removed the old devices meanwhile, and
 * the user assigned a new one with password and emailed code).
 */
async function supersededByDevice(s: Pick<Services, 'devices'>, request: RecoveryRequest): Promise<boolean> {
  return (await s.devices.listActive(request.user_id)).some((d) => (d.activated_at ?? d.created_at) > request.requested_at);
}

/**
 * At the password step of a user with MFA devices: the recovery whose cooling-off is over, if
 * any (its "ended" mail goes first if housekeeping has not sent it yet). The sign-in then asks
 * for an emailed code instead of the second factor. A stale one is cancelled instead.
 */
export async function readyRecovery(s: LostDevicePorts, user: User): Promise<RecoveryRequest | undefined> {
  const ready = await s.recoveryRequests.findReady(user.id, s.clock.now());
  if (!ready) return undefined;
  if (await supersededByDevice(s, ready)) {
    await s.store.db.transaction().execute(async (trx) => {
      const ended = await s.recoveryRequests.within(trx).cancelOpen(user.id, s.clock.now());
      if (ended.length > 0) await s.audit.append({ type: 'recovery_cancelled', userId: user.id, detail: { recoveryIds: ended.map((r) => r.id).join(' '), by: 'device_assigned' } }, trx);
    });
    return undefined;
  }
  if (ready.ended_mail_sent_at === null) await mailEndedCoolingOffs(s, { userId: user.id });
  return ready;
}

/** Binds the ready recovery to the sign-in that just got past the password, in its transaction. */
export async function attachRecoveryIn(s: Pick<Services, 'recoveryRequests'>, trx: Transaction<Database>, recovery: RecoveryRequest, signInId: string): Promise<void> {
  await s.recoveryRequests.within(trx).attachSignIn(recovery.id, signInId);
}

/** The ready recovery an emailed-code sign-in was started for, if it still is ready (and no device came since). */
export async function recoveryForSignIn(s: Pick<Services, 'clock' | 'devices' | 'recoveryRequests'>, signInId: string): Promise<RecoveryRequest | undefined> {
  const ready = await s.recoveryRequests.findReadyForSignIn(signInId, s.clock.now());
  return ready && !(await supersededByDevice(s, ready)) ? ready : undefined;
}

/**
 * The emailed-code step of a recovery sign-in, inside its transaction (the code consumed and the
 * attempt settled there already): completes the sign-in and the recovery once, deactivates every
 * old device (what each factor ties to it goes too) and the recovery codes, ends every session
 * and half-finished sign-in, and opens a session that may only assign a new device. The audit
 * events come last, after every row. Undefined when a concurrent request completed either first.
 */
export async function completeRecoveryIn(
  s: LostDevicePorts,
  trx: Transaction<Database>,
  user: User,
  signIn: { id: string; amr: string[] },
  recovery: RecoveryRequest,
  caller: Caller,
): Promise<{ session: OpenedSession; devices: number } | undefined> {
  const now = s.clock.now();
  await s.users.within(trx).lockRow(user.id);
  if (!(await s.signIns.within(trx).complete(signIn.id, now))) return undefined;
  if (!(await s.recoveryRequests.within(trx).complete(recovery.id, signIn.id, now))) return undefined;
  const devices = s.devices.within(trx);
  const events: AuditEntry[] = [];
  const base = { userId: user.id, actor: 'recovery', ip: caller.ip, userAgent: caller.userAgent };
  const active = await devices.listActive(user.id);
  for (const device of active) {
    if (!(await devices.remove(user.id, device.id))) continue;
    await s.methods.factors.ofDeviceType(device.type)?.onRemove?.(trx, device);
    events.push({ ...base, type: 'recovery_device_deactivated', detail: { deviceId: device.id, type: device.type, name: device.name, recoveryId: recovery.id } });
  }
  await s.methods.factors.backup?.voidAll(trx, user.id);
  const sessionsEnded = await endSessionsIn(s, trx, user.id, now);
  const signInsEnded = await s.signIns.within(trx).cancelOpen(user.id, now);
  events.push({ ...base, type: 'recovery_completed', detail: { recoveryId: recovery.id, devicesDeactivated: events.length, sessionsEnded, pendingSignInsEnded: signInsEnded } });
  const session = await openSessionIn(s, trx, user, { aal: 1, amr: signIn.amr, mfaVerified: false }, caller, { setupRequired: true, events });
  return session ? { session, devices: active.length } : undefined;
}

/** After the recovery sign-in committed: the owner hears that the old devices are gone. */
export async function announceRecoveryCompleted(s: Pick<Services, 'clock' | 'log' | 'mailer'>, user: User, devices: number, caller: Caller): Promise<void> {
  await notify(s, user, { kind: 'recovery_completed', devices, at: s.clock.now(), ...originOf(caller) });
}
