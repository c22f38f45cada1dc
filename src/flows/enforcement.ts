import type { Transaction } from 'kysely';
import type { Config } from '../config.js';
import type { Services } from '../services.js';
import { MfaGraceRepository } from '../store/mfa-grace.js';
import type { Database, MfaGrace, User } from '../store/schema.js';

/**
 * The one place that decides what MAMORI_REQUIRE_MFA and MAMORI_MFA_GRACE_DAYS mean for a user:
 * whether the rule asks them for MFA, by when, and whether that time has come.
 *
 * A grace begins at the user's first sign-in under the rule without an MFA device and lasts
 * MAMORI_MFA_GRACE_DAYS from then (counted when asked, so changing the setting moves every running
 * grace). An administrator who removes the last device of a user under the rule starts a fresh
 * grace of 24 hours, which replaces the counted one. Once a device is active the grace is over:
 * losing every device later (only an administrator can, while the rule holds) counts afresh.
 */

/** What these use of the composition root, and nothing more. */
export type EnforcementPorts = Pick<Services, 'clock' | 'config' | 'devices' | 'store'>;

export const DAY_MS = 86_400_000;
/** The grace a user gets after an administrator removed their last device. */
export const ADMIN_REMOVAL_GRACE_MS = 24 * 3_600_000;

type Rule = Pick<Config, 'requireMfa' | 'mfaGraceDays'>;

/** Whether the rule asks a user of this role for an MFA device. */
export function mfaRequiredFor(rule: Pick<Config, 'requireMfa'>, role: User['role']): boolean {
  return rule.requireMfa === 'all' || (rule.requireMfa === 'admins' && role === 'admin');
}

/** The deadline of a begun grace: the administrator's fixed one, else the grace days from its start. */
export function graceDeadline(rule: Pick<Config, 'mfaGraceDays'>, grace: Pick<MfaGrace, 'started_at' | 'until'>): number {
  return grace.until ?? grace.started_at + rule.mfaGraceDays * DAY_MS;
}

export interface Enforcement {
  /** The rule asks this user for MFA. */
  required: boolean;
  /** When the user must hold a device by (past or future); null when the rule does not apply or they hold one. */
  deadline: number | null;
  /** The deadline has come: a session may only assign a device. */
  setupRequired: boolean;
}

export interface Decision extends Enforcement {
  /** This sign-in is the user's first under the rule without a device: the grace begins now. */
  begins: boolean;
}

/**
 * The decision itself, without I/O: the rule, the user's role, whether they hold an active device
 * and their begun grace (if any), at `now`.
 */
export function decide(rule: Rule, role: User['role'], state: { hasDevice: boolean; grace: Pick<MfaGrace, 'started_at' | 'until'> | undefined }, now: number): Decision {
  const required = mfaRequiredFor(rule, role);
  if (!required || state.hasDevice) return { required, deadline: null, setupRequired: false, begins: false };
  const deadline = graceDeadline(rule, state.grace ?? { started_at: now, until: null });
  return { required, deadline, setupRequired: now >= deadline, begins: state.grace === undefined };
}

/** A stateless view of the store, so it is made where it is used. */
const graces = (s: Pick<Services, 'store'>, trx?: Transaction<Database>) => {
  const repo = new MfaGraceRepository(s.store);
  return trx ? repo.within(trx) : repo;
};

/**
 * Every factor keeps its devices as active rows of one table, so one count answers for all of
 * them. Inside a transaction it must be asked there: SQLite has one connection, which the
 * transaction holds.
 */
async function hasDevice(s: EnforcementPorts, userId: string, trx?: Transaction<Database>): Promise<boolean> {
  return (await (trx ? s.devices.within(trx) : s.devices).countActive(userId)) > 0;
}

/** Where the user stands now, without beginning anything (the session view, an early answer). */
export async function enforcementFor(s: EnforcementPorts, user: Pick<User, 'id' | 'role'>): Promise<Enforcement> {
  // The default (no rule) and users it leaves out cost no query.
  if (!mfaRequiredFor(s.config, user.role)) return { required: false, deadline: null, setupRequired: false };
  return decide(s.config, user.role, { hasDevice: await hasDevice(s, user.id), grace: await graces(s).find(user.id) }, s.clock.now());
}

/**
 * At a sign-in, in the transaction that opens the session: the decision, and the grace begun
 * if this is the user's first sign-in under the rule without a device. A sign-in at aal 2 proved
 * a device the user holds, so it is never asked anything.
 */
export async function enforceAtSignIn(s: EnforcementPorts, trx: Transaction<Database>, user: Pick<User, 'id' | 'role'>, aal: number, now: number): Promise<Decision> {
  const required = mfaRequiredFor(s.config, user.role);
  if (aal >= 2 || !required) return { required, deadline: null, setupRequired: false, begins: false };
  const repo = graces(s, trx);
  const state = { hasDevice: await hasDevice(s, user.id, trx), grace: await repo.find(user.id) };
  const decision = decide(s.config, user.role, state, now);
  if (!decision.begins) return decision;
  // Of two first sign-ins at once, the row that won decides for both.
  const begun = await repo.begin(user.id, now);
  return { ...decide(s.config, user.role, { ...state, grace: begun }, now), begins: begun.started_at === now };
}

/**
 * After an administrator removed devices, in the same transaction: a user under the rule left
 * without any is in a fresh grace of 24 hours. Returns that deadline, or null.
 */
export async function graceAfterAdminRemoval(s: EnforcementPorts, trx: Transaction<Database>, user: Pick<User, 'id' | 'role'>, devicesLeft: number, now: number): Promise<number | null> {
  if (devicesLeft > 0 || !mfaRequiredFor(s.config, user.role)) return null;
  const until = now + ADMIN_REMOVAL_GRACE_MS;
  await graces(s, trx).setUntil(user.id, now, until);
  return until;
}

/** A device became active, in the transaction that activated it: any grace is over. */
export async function endGrace(s: Pick<Services, 'store'>, trx: Transaction<Database>, userId: string): Promise<void> {
  await graces(s, trx).end(userId);
}

/** Every user's deadline for the administrators' views (the users list, the credential report). */
export async function deadlinesByUser(s: EnforcementPorts, users: ReadonlyArray<Pick<User, 'id' | 'role'>>, activeDevices: ReadonlyMap<string, number>): Promise<Map<string, number | null>> {
  const begun = s.config.requireMfa === 'off' ? new Map<string, MfaGrace>() : await graces(s).all();
  return new Map(
    users.map((u) => {
      const grace = begun.get(u.id);
      // A user under the rule who has not signed in since has no deadline yet: it counts from that sign-in.
      const deadline = grace && mfaRequiredFor(s.config, u.role) && (activeDevices.get(u.id) ?? 0) === 0 ? graceDeadline(s.config, grace) : null;
      return [u.id, deadline];
    }),
  );
}

/** The deadline a session shows (GET /api/v1/session): none at aal 2, which proved a device the user holds. */
export async function sessionDeadline(s: EnforcementPorts, session: { aal: number }, user: Pick<User, 'id' | 'role'>): Promise<number | null> {
  return session.aal >= 2 ? null : (await enforcementFor(s, user)).deadline;
}
