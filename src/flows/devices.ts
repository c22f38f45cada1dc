import type { Transaction } from 'kysely';
import { MamoriError, fail } from '../errors.js';
import type { AssignedDevice, Assignment, Caller, Factor } from '../methods/types.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import { DEVICE_LIMIT } from '../store/devices.js';
import type { Database, MfaDevice, Session, User } from '../store/schema.js';
import { endGrace, graceAfterAdminRemoval, mfaRequiredFor } from './enforcement.js';
import { notify, originOf } from './notify.js';
import { revokeAllRememberedIn } from './remembered-browsers.js';
import { endSessionsIn } from './sessions.js';

/** What these use of the composition root, and nothing more. */
export type DevicePorts = Pick<Services, 'audit' | 'clock' | 'config' | 'devices' | 'log' | 'mailer' | 'methods' | 'oidcPayloads' | 'rememberedBrowsers' | 'sessions' | 'signIns' | 'store' | 'users'>;


/** A pending device (an app's secret shown, not yet confirmed) is discarded after this long. */
export const PENDING_TTL_MS = 10 * 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The factor that holds a device; every stored device type has one, or the registry changed under the data. */
function factorOf(s: DevicePorts, device: Pick<MfaDevice, 'id' | 'type'>): Factor {
  const factor = s.methods.factors.ofDeviceType(device.type);
  if (!factor) throw new Error(`MFA device ${device.id} is of type "${device.type}", which no registered factor holds`);
  return factor;
}

/** The public view of a device: what every device has, and what its factor adds (never a secret). */
export function deviceView(s: DevicePorts, d: MfaDevice) {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    createdAt: iso(d.created_at)!,
    lastUsedAt: iso(d.last_used_at),
    ...factorOf(s, d).view?.(d),
  };
}

function entry(type: string, user: User, caller: Caller, detail: AuditEntry['detail'], actor?: string): AuditEntry {
  return { type, userId: user.id, actor: actor ?? null, ip: caller.ip, userAgent: caller.userAgent, detail };
}

async function audit(s: DevicePorts, type: string, user: User, caller: Caller, detail: AuditEntry['detail'], trx?: Transaction<Database>) {
  await s.audit.append(entry(type, user, caller, detail), trx);
}

const labelOf = (s: DevicePorts, device: Pick<MfaDevice, 'id' | 'type'>) => factorOf(s, device).ui.deviceLabels[device.type];

export async function listDevices(s: DevicePorts, user: User) {
  return (await s.devices.listActive(user.id)).map((d) => deviceView(s, d));
}

const limitReached = () => fail('device_limit_reached', `A user holds at most ${DEVICE_LIMIT} MFA devices`);

/** The early answer before a ceremony starts; the assigning transaction checks again under the user's row lock. */
async function assertUnderLimit(s: DevicePorts, user: User): Promise<void> {
  if ((await s.devices.countActive(user.id)) >= DEVICE_LIMIT) limitReached();
}

/** A first device brings backup codes; they are hashed before the transaction that stores them opens. */
async function backupCodesIfFirst(s: DevicePorts, user: User) {
  const backup = s.methods.factors.backup;
  return backup && (await s.devices.countActive(user.id)) === 0 ? backup.newSet() : undefined;
}

/** An assignment's refusal is audited with its reason before it reaches the caller. */
async function audited<T>(s: DevicePorts, user: User, caller: Caller, deviceType: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MamoriError) await audit(s, 'mfa_device_assign_failed', user, caller, { type: deviceType, reason: String(err.extra.reason ?? err.code) });
    throw err;
  }
}

/**
 * What a newly active device brings, in the transaction that activated it: the device limit
 * checked under the user's row lock, backup codes with a first device, a raised session, the end
 * of every other session and of every half-finished sign-in (one begun without this device must
 * not finish as if the account had none), and the audit event.
 */
async function completeAssignment(
  s: DevicePorts,
  trx: Transaction<Database>,
  user: User,
  session: Session,
  deviceId: string,
  proved: { amr: string[]; phishingResistant?: boolean },
  backupSet: { codes: string[]; hashes: string[] } | undefined,
  caller: Caller,
) {
  const devices = s.devices.within(trx);
  const active = await devices.countActive(user.id);
  if (active > DEVICE_LIMIT) limitReached();
  const device = (await devices.find(user.id, deviceId))!;
  const backup = s.methods.factors.backup;
  const first = active === 1 && backup !== undefined;
  // A device removed meanwhile made this one the first, without codes hashed for it: try again.
  if (first && !backupSet) fail('conflict', 'The account changed meanwhile; assign the device again');
  if (first && backupSet) await backup.store(trx, user.id, backupSet);
  // A first device ends any MFA grace: should the user lose every device later, it counts afresh.
  if (active === 1) await endGrace(s, trx, user.id);
  const now = s.clock.now();
  // The assignment proved possession (fresh codes, a fresh assertion): the session now carries a second factor.
  const raisedAmr = [...new Set([...(JSON.parse(session.amr) as string[]), ...proved.amr, 'mfa'])];
  const token = await s.sessions.within(trx).raise(session.id, { aal: 2, amr: raisedAmr, mfaVerifiedAt: now, mfaSetupOnly: false, phishingResistant: proved.phishingResistant === true }, now);
  const ended = await endSessionsIn(s, trx, user.id, now, session.id);
  const cancelled = await s.signIns.within(trx).cancelOpen(user.id, now);
  await audit(s, 'mfa_device_assigned', user, caller, { deviceId: device.id, type: device.type, name: device.name, otherSessionsEnded: ended, pendingSignInsEnded: cancelled }, trx);
  return { device, recoveryCodes: first ? backupSet?.codes : undefined, sessionToken: token };
}

/** After the assignment committed: the owner hears of it. */
async function announce(s: DevicePorts, user: User, made: Awaited<ReturnType<typeof completeAssignment>>, caller: Caller) {
  const label = labelOf(s, made.device);
  await notify(s, user, { kind: 'mfa_device_added', deviceName: made.device.name, deviceType: made.device.type, ...(label ? { deviceLabel: label } : {}), at: s.clock.now(), ...originOf(caller) });
  return { device: deviceView(s, made.device), recoveryCodes: made.recoveryCodes, sessionToken: made.sessionToken };
}

/** `POST /me/mfa-devices/{path}-options`: what the browser needs first (WebAuthn creation options). */
export async function assignmentOptions(s: DevicePorts, user: User, assignment: Assignment) {
  await assertUnderLimit(s, user);
  if (!assignment.options) fail('not_found', 'This assignment needs no options');
  return assignment.options(user);
}

export type AssignmentResult =
  | { pending: { id: string; name: string; status: 'pending' } & Record<string, unknown> }
  | { device: ReturnType<typeof deviceView>; recoveryCodes: string[] | undefined; sessionToken: string | undefined };

/**
 * Step 1 of assigning an MFA device: the assignment either makes an active device at once (then
 * it is stored and completed here) or a pending one, stored with its audit event, that
 * `activateDevice` confirms.
 */
export async function startAssignment(s: DevicePorts, user: User, session: Session, assignment: Assignment, body: Record<string, unknown>, caller: Caller): Promise<AssignmentResult> {
  await assertUnderLimit(s, user);
  const now = s.clock.now();
  const started = await audited(s, user, caller, assignment.deviceType, () => assignment.start({ user, caller, now }, body));
  if ('pending' in started) {
    const pending = started.pending;
    await s.store.db.transaction().execute(async (trx) => {
      await s.devices.within(trx).discardStalePending(now - PENDING_TTL_MS);
      await s.devices.within(trx).insert(pending);
      await audit(s, 'mfa_device_pending', user, caller, { deviceId: pending.id, type: pending.type, name: pending.name }, trx);
    });
    return { pending: { id: pending.id, name: pending.name, status: 'pending', ...started.answer } };
  }
  return assignActive(s, user, session, assignment, started.active, caller);
}

async function assignActive(s: DevicePorts, user: User, session: Session, assignment: Assignment, assigned: AssignedDevice, caller: Caller) {
  const backupSet = await backupCodesIfFirst(s, user);
  const id = assigned.device.id;
  const made = await audited(s, user, caller, assignment.deviceType, async () => {
    try {
      return await s.store.db.transaction().execute(async (trx) => {
        await s.users.within(trx).lockRow(user.id);
        if (assigned.claim && !(await assigned.claim(trx))) fail('token_in_use', 'This token is assigned to someone else');
        await s.devices.within(trx).insert(assigned.device);
        return completeAssignment(s, trx, user, session, id, assigned, backupSet, caller);
      });
    } catch (err) {
      // The unique lookup key settles a race between two users registering one credential.
      if (!(err instanceof MamoriError) && assigned.device.lookup_key && (await s.devices.lookupKeyTaken(assigned.device.lookup_key))) fail('credential_in_use');
      throw err;
    }
  });
  return announce(s, user, made, caller);
}

/** Step 2 for a pending device: its factor checks the proof (two consecutive codes), then it is active. */
export async function activateDevice(s: DevicePorts, user: User, session: Session, id: string, body: Record<string, unknown>, caller: Caller) {
  const now = s.clock.now();
  const device = await s.devices.find(user.id, id);
  if (!device || device.status !== 'pending' || device.created_at <= now - PENDING_TTL_MS) fail('not_found', 'No pending MFA device with this id (it may have expired)');
  const assignment = s.methods.factors.assignmentFor(device.type);
  if (!assignment?.activate) fail('not_found', 'No pending MFA device with this id (it may have expired)');
  const proved = await audited(s, user, caller, device.type, () => assignment.activate!({ user, caller, now }, device, body));
  if (!proved) {
    await audit(s, 'mfa_device_assign_failed', user, caller, { type: device.type, reason: 'invalid_code' });
    fail('invalid_code');
  }
  const backupSet = await backupCodesIfFirst(s, user);
  const made = await s.store.db.transaction().execute(async (trx) => {
    await s.users.within(trx).lockRow(user.id);
    if (!(await s.devices.within(trx).activate(id, proved.counter, now, now - PENDING_TTL_MS))) fail('not_found', 'No pending MFA device with this id (it may have expired)');
    return completeAssignment(s, trx, user, session, id, proved, backupSet, caller);
  });
  return announce(s, user, made, caller);
}

/** Finds two consecutive codes far from now and remembers how far the device's clock is off. */
export async function resyncDevice(s: DevicePorts, user: User, id: string, code1: string, code2: string, caller: Caller) {
  const device = await s.devices.find(user.id, id);
  const factor = device?.status === 'active' ? factorOf(s, device) : undefined;
  if (!device || !factor?.resync) fail('not_found', 'No MFA device with this id that can be resynchronised');
  const now = s.clock.now();
  const found = await factor.resync(device, code1, code2, now);
  const updated = await s.store.db.transaction().execute(async (trx) => {
    if (!found || !(await s.devices.within(trx).consumeCounter(device.id, found.counter, now, found.config))) return undefined;
    const moved = (await s.devices.within(trx).find(user.id, id))!;
    await audit(s, 'mfa_device_resynced', user, caller, { deviceId: id, counter: found.counter }, trx);
    return moved;
  });
  if (!updated) {
    await audit(s, 'mfa_device_resync_failed', user, caller, { deviceId: id });
    throw new MamoriError('invalid_code', 'The two codes must be consecutive codes from this device');
  }
  return deviceView(s, updated);
}

export async function renameDevice(s: DevicePorts, user: User, id: string, name: string, caller: Caller) {
  return s.store.db.transaction().execute(async (trx) => {
    const devices = s.devices.within(trx);
    if (!(await devices.rename(user.id, id, name))) fail('not_found', 'No MFA device with this id');
    await audit(s, 'mfa_device_renamed', user, caller, { deviceId: id, name }, trx);
    return deviceView(s, (await devices.find(user.id, id))!);
  });
}

/**
 * What removing devices brings, in the transaction that removed them: the backup codes void if no
 * device is left, for an administrator's removal a fresh MFA grace, every other session and every
 * half-finished sign-in ended. The caller appends the audit event after it.
 */
async function afterRemoval(s: DevicePorts, trx: Transaction<Database>, user: User, now: number, by: { admin?: string; keepSessionId?: string }) {
  const left = await s.devices.within(trx).countActive(user.id);
  // Backup codes stand in for a device; with no device left they would be a lone factor.
  if (left === 0) await s.methods.factors.backup?.voidAll(trx, user.id);
  const deadline = by.admin ? await graceAfterAdminRemoval(s, trx, user, left, now) : null;
  const sessionsEnded = await endSessionsIn(s, trx, user.id, now, by.keepSessionId);
  const pendingSignInsEnded = await s.signIns.within(trx).cancelOpen(user.id, now);
  // A remembered browser stood in for the devices as they were: every one of them ends (src/flows/remembered-browsers.ts).
  const rememberedBrowsersEnded = await revokeAllRememberedIn(s, trx, user.id, now);
  return {
    deadline,
    /** For the audit event's detail. */
    // rememberedBrowsersEnded only when some ended: with the feature off, the events keep their shape.
    facts: { sessionsEnded, pendingSignInsEnded, ...(rememberedBrowsersEnded > 0 ? { rememberedBrowsersEnded } : {}), ...(deadline === null ? {} : { mfaSetupDeadline: new Date(deadline).toISOString() }) },
  };
}

/**
 * Removes a device (the user's own, or an administrator's lost-device recovery). With the device
 * go what its factor ties to it, the backup codes if it was the last one, every other session,
 * every half-finished sign-in, and the audit event — one transaction. While MFA is required of
 * the user, they cannot remove their own last device (409 last_device); an administrator can,
 * and the user is then in a fresh grace of 24 hours.
 */
export async function removeDevice(s: DevicePorts, user: User, id: string, caller: Caller, by: { admin?: string; keepSessionId?: string } = {}) {
  const now = s.clock.now();
  const removed = await s.store.db.transaction().execute((trx) => removeDeviceWithin(s, trx, user, id, caller, by, now));
  await announceDeviceRemoval(s, user, removed, caller, by, now);
}

/**
 * The removal itself, in the caller's transaction (removeDevice's own, or an approval's under the
 * two-person rule, which appends its event after this one). Returns the removed device.
 */
export async function removeDeviceWithin(s: DevicePorts, trx: Transaction<Database>, user: User, id: string, caller: Caller, by: { admin?: string; keepSessionId?: string }, now: number): Promise<MfaDevice> {
  await s.users.within(trx).lockRow(user.id);
  const devices = s.devices.within(trx);
  const device = await devices.remove(user.id, id);
  if (!device) fail('not_found', 'No MFA device with this id');
  // Under the row lock, so two removals at once cannot each leave the other device as the last.
  if (!by.admin && mfaRequiredFor(s.config, user.role) && (await devices.countActive(user.id)) === 0) {
    fail('last_device', 'MFA is required for this account: assign another MFA device before removing this one');
  }
  await factorOf(s, device).onRemove?.(trx, device);
  const after = await afterRemoval(s, trx, user, now, by);
  await s.audit.append(entry(by.admin ? 'mfa_device_deactivated' : 'mfa_device_removed', user, caller, { deviceId: id, type: device.type, name: device.name, ...after.facts }, by.admin), trx);
  return device;
}

/** After a removal committed: the owner hears of it. */
export async function announceDeviceRemoval(s: DevicePorts, user: User, removed: MfaDevice, caller: Caller, by: { admin?: string }, now: number): Promise<void> {
  const label = labelOf(s, removed);
  await notify(s, user, { kind: 'mfa_device_removed', deviceName: removed.name, deviceType: removed.type, ...(label ? { deviceLabel: label } : {}), at: now, byAdmin: Boolean(by.admin), ...originOf(caller) });
}

/**
 * An administrator's recovery of a user who lost everything: every active device deactivated in
 * one act (one transaction, one audit event with the count), then the user is told by mail. Of
 * concurrent requests one does it; the others find no device left and change nothing.
 */
export async function removeAllDevices(s: DevicePorts, user: User, caller: Caller, admin: string): Promise<number> {
  const now = s.clock.now();
  const removed = await s.store.db.transaction().execute((trx) => removeAllDevicesWithin(s, trx, user, caller, admin, now));
  await announceAllRemoved(s, user, removed, now);
  return removed.count;
}

/**
 * The deactivation itself, in the caller's transaction (see removeDeviceWithin).
 * `expected`: how many devices an approved request counted. A device assigned since is not the
 * approver's to remove unseen: a different number (under the row lock) refuses the act.
 */
export async function removeAllDevicesWithin(
  s: DevicePorts,
  trx: Transaction<Database>,
  user: User,
  caller: Caller,
  admin: string,
  now: number,
  expected?: number,
): Promise<{ count: number; deadline: number | null }> {
  await s.users.within(trx).lockRow(user.id);
  const devices = s.devices.within(trx);
  const active = await devices.listActive(user.id);
  if (expected !== undefined && active.length > 0 && active.length !== expected) {
    fail('conflict', `The user's MFA devices changed since the request (${expected} then, ${active.length} now); ask again`);
  }
  const gone: MfaDevice[] = [];
  for (const listed of active) {
    const device = await devices.remove(user.id, listed.id);
    if (!device) continue;
    await factorOf(s, device).onRemove?.(trx, device);
    gone.push(device);
  }
  if (gone.length === 0) return { count: 0, deadline: null };
  const after = await afterRemoval(s, trx, user, now, { admin });
  await s.audit.append(
    entry('mfa_devices_deactivated_all', user, caller, { count: gone.length, deviceIds: gone.map((d) => d.id).join(' '), types: [...new Set(gone.map((d) => d.type))].sort().join(' '), ...after.facts }, admin),
    trx,
  );
  return { count: gone.length, deadline: after.deadline };
}

/** After the deactivation committed: the owner hears of it, if anything was deactivated. */
export async function announceAllRemoved(s: DevicePorts, user: User, removed: { count: number; deadline: number | null }, now: number): Promise<void> {
  if (removed.count > 0) {
    await notify(s, user, { kind: 'mfa_devices_reset', count: removed.count, at: now, ...(removed.deadline === null ? {} : { mfaSetupDeadline: removed.deadline }) });
  }
}

/** A new set of recovery codes, the old one void, with its audit event in one transaction; the plain codes once. */
export async function regenerateRecoveryCodes(s: DevicePorts, user: User, caller: Caller): Promise<string[]> {
  const backup = s.methods.factors.backup ?? fail('not_found', 'Recovery codes are not offered');
  const set = await backup.newSet();
  await s.store.db.transaction().execute(async (trx) => {
    // Under the user's row lock: on PostgreSQL two regenerations at once would otherwise each void
    // only the set they could see and both insert theirs, leaving two live sets; and a device
    // removed meanwhile is seen.
    await s.users.within(trx).lockRow(user.id);
    // Without a device, self-made recovery codes would replace the emailed code as a way in.
    if ((await s.devices.within(trx).countActive(user.id)) === 0) fail('conflict', 'Assign an MFA device first; recovery codes come with it');
    await backup.store(trx, user.id, set);
    await audit(s, 'recovery_codes_regenerated', user, caller, { count: set.codes.length }, trx);
  });
  await notify(s, user, { kind: 'recovery_codes_regenerated', count: set.codes.length, at: s.clock.now(), ...originOf(caller) });
  return set.codes;
}

export async function recoveryCodesLeft(s: DevicePorts, user: User): Promise<number> {
  return (await s.methods.factors.backup?.remaining(user.id)) ?? 0;
}
