import type { Transaction } from 'kysely';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { newId } from '../crypto/tokens.js';
import { MamoriError, fail } from '../errors.js';
import type { Caller } from '../methods/types.js';
import { Id, Name, Role } from '../schemas/fields.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import type { AdminApproval, Database, Session, User } from '../store/schema.js';
import { announceAllRemoved, announceDeviceRemoval, removeAllDevicesWithin, removeDeviceWithin, type DevicePorts } from './devices.js';
import { adminActionsOf, notifyAdminAction } from './notify.js';
import { parseImportFile } from './import-format.js';
import { updateUserWithin } from './users.js';

/**
 * The two-person rule (MAMORI_ADMIN_APPROVALS=2, issue 10 item 3). The acts of one administrator
 * on another user that could strip that user's protection — removing one or all of their MFA
 * devices, granting the admin role, disabling them — are only requested: nothing changes until a
 * second administrator, with a fresh second factor of their own, approves. A stolen
 * administrator's session alone can then no longer strip a victim's MFA.
 *
 * The approval and the act commit in one transaction: the request leaves `pending` by one
 * conditional UPDATE (whose row count decides between concurrent approvals on any instance),
 * then the act runs with its preconditions checked afresh and writes its usual audit event, then
 * one event naming both administrators is appended last. If the act is refused (the device is
 * already gone), all of that rolls back and the request is marked failed instead, audited.
 *
 * MAMORI_REQUIRE_MFA is read from the environment only: no runtime way to lower enforcement
 * exists, so none is guarded here. Acts on oneself are not guarded (they follow the usual rules).
 */

/** What these use of the composition root. */
export type ApprovalPorts = DevicePorts & Pick<Services, 'approvals'>;

/** A request that nobody approved within this long can no longer be approved. */
export const APPROVAL_TTL_MS = 24 * 3_600_000;
/** How far back the list shows requests that are over (pending ones it always shows). */
const RECENT_MS = 7 * 24 * 3_600_000;
const LIST_LIMIT = 200;

const UserChanges = Type.Object(
  { name: Type.Optional(Name), role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type UserChanges = Static<typeof UserChanges>;

/** What a request asks for, as stored in `payload` (and checked again when it is read back). */
const Payloads = {
  remove_mfa_device: Type.Object({ deviceId: Id, deviceName: Type.String(), deviceType: Type.String() }, { additionalProperties: false }),
  remove_all_mfa_devices: Type.Object({ count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
  update_user: Type.Object({ changes: UserChanges }, { additionalProperties: false }),
};
export type ApprovalAction = keyof typeof Payloads;
type Act =
  | { action: 'remove_mfa_device'; payload: Static<typeof Payloads.remove_mfa_device> }
  | { action: 'remove_all_mfa_devices'; payload: Static<typeof Payloads.remove_all_mfa_devices> }
  | { action: 'update_user'; payload: Static<typeof Payloads.update_user> };

/** A stored row back into an act; a row this code did not write is a broken invariant, not a user's error. */
function actOf(row: AdminApproval): Act {
  const payload: unknown = JSON.parse(row.payload);
  if (row.action === 'remove_mfa_device' && Value.Check(Payloads.remove_mfa_device, payload)) return { action: row.action, payload };
  if (row.action === 'remove_all_mfa_devices' && Value.Check(Payloads.remove_all_mfa_devices, payload)) return { action: row.action, payload };
  if (row.action === 'update_user' && Value.Check(Payloads.update_user, payload)) return { action: row.action, payload };
  throw new Error(`admin approval ${row.id} holds an action or payload this version does not know (${row.action})`);
}

/** Whether `admin`'s act on `target` waits for a second administrator. */
export function needsApproval(s: Pick<Services, 'config'>, admin: Pick<User, 'id'>, target: Pick<User, 'id'>): boolean {
  return s.config.adminApprovals === 2 && admin.id !== target.id;
}

/**
 * Of an administrator's changes to a user, those the rule guards: granting the admin role, taking
 * it away, disabling. Taking it away too: one administrator could otherwise demote every other one
 * at once and be left the only one, with no second administrator to approve anything again.
 */
export function guardsUserChange(before: Pick<User, 'role' | 'disabled'>, changes: UserChanges): boolean {
  return (
    (changes.role === 'admin' && before.role !== 'admin') ||
    (changes.role === 'user' && before.role === 'admin') ||
    (changes.disabled === true && before.disabled === 0)
  );
}

const actor = (u: Pick<User, 'id'>) => `admin:${u.id}`;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The audit detail of an act: flat, non-secret facts. */
function actFacts(act: Act): NonNullable<AuditEntry['detail']> {
  if (act.action === 'update_user') {
    const c = act.payload.changes;
    return { ...(c.name !== undefined ? { name: c.name } : {}), ...(c.role !== undefined ? { role: c.role } : {}), ...(c.disabled !== undefined ? { disabled: c.disabled } : {}) };
  }
  return { ...act.payload };
}

export type ApprovalStatus = AdminApproval['status'] | 'expired';

export interface ApprovalView {
  id: string;
  action: string;
  target: { id: string; email: string | null; name: string | null };
  requestedBy: { id: string; email: string | null; name: string | null };
  requestedAt: string;
  expiresAt: string;
  status: ApprovalStatus;
  /** What the act is: the device, the count, or the changes. */
  change: Record<string, unknown>;
  approvedBy: { id: string; email: string | null; name: string | null } | null;
  approvedAt: string | null;
  executedAt: string | null;
  cancelledBy: { id: string; email: string | null; name: string | null } | null;
  cancelledAt: string | null;
  failure: string | null;
}

/** Looks users up once each, for a page of views. */
function peopleOf(s: Pick<Services, 'users'>) {
  const seen = new Map<string, Promise<User | undefined>>();
  return async (id: string | null) => {
    if (id === null) return null;
    if (!seen.has(id)) seen.set(id, s.users.findById(id));
    const u = await seen.get(id);
    return { id, email: u?.email ?? null, name: u?.name ?? null };
  };
}

async function viewOf(s: Pick<Services, 'users' | 'clock'>, row: AdminApproval, person = peopleOf(s)): Promise<ApprovalView> {
  const payload: unknown = JSON.parse(row.payload);
  const change = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? { ...payload } : {};
  return {
    id: row.id,
    action: row.action,
    target: (await person(row.target_user_id))!,
    requestedBy: (await person(row.requested_by))!,
    requestedAt: iso(row.requested_at)!,
    expiresAt: iso(row.expires_at)!,
    // Expiry is not stored: a pending request past its time is expired the moment it is read.
    status: row.status === 'pending' && row.expires_at <= s.clock.now() ? 'expired' : row.status,
    change,
    approvedBy: await person(row.approved_by),
    approvedAt: iso(row.approved_at),
    executedAt: iso(row.executed_at),
    cancelledBy: await person(row.cancelled_by),
    cancelledAt: iso(row.cancelled_at),
    failure: row.failure,
  };
}

/** `GET /api/v1/admin/approvals`: every pending request and those of the last 7 days, newest first. */
export async function listApprovals(s: Pick<ApprovalPorts, 'approvals' | 'users' | 'clock'>): Promise<ApprovalView[]> {
  const rows = await s.approvals.listRecent(s.clock.now() - RECENT_MS, LIST_LIMIT);
  const person = peopleOf(s);
  return Promise.all(rows.map((r) => viewOf(s, r, person)));
}

/**
 * Files the request (with its audit event, one transaction) and changes nothing else. The same
 * act asked again while a request for it is pending is that request.
 */
async function file(s: ApprovalPorts, admin: User, target: User, act: Act, caller: Caller): Promise<ApprovalView> {
  const now = s.clock.now();
  const payload = JSON.stringify(act.payload);
  const row = await s.store.db.transaction().execute(async (trx) => {
    const approvals = s.approvals.within(trx);
    const same = await approvals.findPendingSame({ action: act.action, targetUserId: target.id, payload, now });
    if (same) return same;
    const made = await approvals.insert({ id: newId(), action: act.action, targetUserId: target.id, payload, requestedBy: admin.id, now, ttlMs: APPROVAL_TTL_MS });
    await s.audit.append(
      {
        type: 'admin_approval_requested',
        userId: target.id,
        actor: actor(admin),
        ip: caller.ip,
        userAgent: caller.userAgent,
        detail: { approvalId: made.id, action: act.action, requestedBy: actor(admin), expiresAt: iso(made.expires_at), ...actFacts(act) },
      },
      trx,
    );
    return made;
  });
  return viewOf(s, row);
}

/** Removing another user's device: the device must be there now (and again at execution). */
export async function requestDeviceRemoval(s: ApprovalPorts, admin: User, target: User, deviceId: string, caller: Caller): Promise<ApprovalView> {
  const device = await s.devices.find(target.id, deviceId);
  if (!device || device.status !== 'active') fail('not_found', 'No MFA device with this id');
  return file(s, admin, target, { action: 'remove_mfa_device', payload: { deviceId, deviceName: device.name, deviceType: device.type } }, caller);
}

/** Removing all of another user's devices; undefined when they hold none (there is nothing to strip, nothing to ask). */
export async function requestAllDevicesRemoval(s: ApprovalPorts, admin: User, target: User, caller: Caller): Promise<ApprovalView | undefined> {
  const count = await s.devices.countActive(target.id);
  if (count === 0) return undefined;
  return file(s, admin, target, { action: 'remove_all_mfa_devices', payload: { count } }, caller);
}

/** A change of another user that grants the admin role or disables them (the whole change waits, not only that part). */
export async function requestUserChange(s: ApprovalPorts, admin: User, target: User, changes: UserChanges, caller: Caller): Promise<ApprovalView> {
  return file(s, admin, target, { action: 'update_user', payload: { changes } }, caller);
}

/**
 * Under the rule an import over HTTP may not make administrators: that would grant the role
 * without a second administrator. They can be imported as users and granted the role one by one
 * (each grant approved), or imported with `mamori user import` on the host.
 */
export function assertImportGrantsNoAdmin(s: Pick<Services, 'config'>, body: Buffer): void {
  if (s.config.adminApprovals !== 2) return;
  const admins = parseImportFile(body).lines.filter((l) => l.role === 'admin').length;
  if (admins > 0) {
    fail('approval_required', `${admins} line(s) make an administrator, which needs a second administrator's approval under MAMORI_ADMIN_APPROVALS=2: import them as users and grant the role, or use mamori user import on the host`, { admins });
  }
}

/** Refuses a request that cannot be approved (or, without `by`, cancelled) by `by` now. */
function assertOpen(row: AdminApproval | undefined, now: number, by?: User): asserts row is AdminApproval {
  if (!row) fail('not_found', 'No such approval request');
  if (row.status !== 'pending') fail('approval_not_pending', `This request is ${row.status}`, { requestStatus: row.status });
  if (row.expires_at <= now) fail('approval_expired', 'Nobody approved this request within 24 hours; ask again', { requestStatus: 'expired' });
  if (by && row.requested_by === by.id) fail('approval_self', 'A second administrator must approve this request: not the one who made it');
}

/** The act refused itself (a precondition no longer held): the request fails, cleanly. */
class ActRefused extends Error {
  constructor(readonly reason: MamoriError) {
    super(reason.message);
  }
}

interface Executed {
  /** The mail to the target, sent after the commit. */
  announce(): Promise<void>;
}

/** The act itself, in the approval's transaction, as the requester's (the approval event names the approver). */
async function execute(s: ApprovalPorts, trx: Transaction<Database>, act: Act, target: User, requester: User, caller: Caller, now: number): Promise<Executed> {
  const by = actor(requester);
  switch (act.action) {
    case 'remove_mfa_device': {
      const removed = await removeDeviceWithin(s, trx, target, act.payload.deviceId, caller, { admin: by }, now);
      return { announce: () => announceDeviceRemoval(s, target, removed, caller, { admin: by }, now) };
    }
    case 'remove_all_mfa_devices': {
      // Only the devices the request counted: one assigned since fails the act (conflict).
      const removed = await removeAllDevicesWithin(s, trx, target, caller, by, now, act.payload.count);
      if (removed.count === 0) fail('not_found', 'The user holds no active MFA device any more');
      return { announce: () => announceAllRemoved(s, target, removed, now) };
    }
    case 'update_user': {
      const after = await updateUserWithin(s, trx, target.id, act.payload.changes, by, caller, now);
      return { announce: () => notifyAdminAction(s, after, adminActionsOf(target, after), caller, after.role) };
    }
  }
}

/**
 * `POST /api/v1/admin/approvals/{id}/approve` by `approver`, whose session `assertFresh` checks
 * for a recent second factor (after the request itself was found approvable, so a refusal says
 * the real reason first). Of any number of concurrent approvals one executes the act; the others
 * get 409 approval_not_pending.
 */
export async function approve(s: ApprovalPorts, approver: User, id: string, caller: Caller, assertFresh: () => void): Promise<ApprovalView> {
  const now = s.clock.now();
  const row = await s.approvals.find(id);
  assertOpen(row, now, approver);
  assertFresh();
  const act = actOf(row);
  try {
    const done = await s.store.db.transaction().execute(async (trx) => {
      const approvals = s.approvals.within(trx);
      if (!(await approvals.claim(id, approver.id, now))) {
        // Another approval or a cancel got there first (or the clock passed the expiry): say which.
        assertOpen(await approvals.find(id), now, approver);
        fail('approval_not_pending', 'This request is no longer pending');
      }
      // An administrator demoted or disabled since asking no longer speaks for the act.
      const requester = await s.users.within(trx).findById(row.requested_by);
      if (!requester || requester.role !== 'admin' || requester.disabled === 1) {
        throw new ActRefused(new MamoriError('forbidden', 'The administrator who asked is no longer an active administrator'));
      }
      // The target as it is now (its role decides the MFA grace after a removal).
      const target = await s.users.within(trx).findById(row.target_user_id);
      if (!target) throw new ActRefused(new MamoriError('not_found', 'No such user'));
      let executed: Executed;
      try {
        executed = await execute(s, trx, act, target, requester, caller, now);
      } catch (err) {
        if (err instanceof MamoriError) throw new ActRefused(err);
        throw err;
      }
      await s.audit.append(
        {
          type: 'admin_approval_executed',
          userId: target.id,
          actor: actor(approver),
          ip: caller.ip,
          userAgent: caller.userAgent,
          detail: { approvalId: id, action: act.action, requestedBy: actor(requester), requestedByEmail: requester.email, approvedBy: actor(approver), approvedByEmail: approver.email, ...actFacts(act) },
        },
        trx,
      );
      return executed;
    });
    await done.announce();
  } catch (err) {
    if (err instanceof ActRefused) return failApproval(s, row, approver, err.reason, caller, now);
    throw err;
  }
  return viewOf(s, (await s.approvals.find(id))!);
}

/** Marks an approved request whose act was refused as failed (once, audited) and says why: 409 approval_failed. */
async function failApproval(s: ApprovalPorts, row: AdminApproval, approver: User, reason: MamoriError, caller: Caller, now: number): Promise<never> {
  const marked = await s.store.db.transaction().execute(async (trx) => {
    if (!(await s.approvals.within(trx).markFailed(row.id, approver.id, reason.code, now))) return false;
    await s.audit.append(
      {
        type: 'admin_approval_failed',
        userId: row.target_user_id,
        actor: actor(approver),
        ip: caller.ip,
        userAgent: caller.userAgent,
        detail: { approvalId: row.id, action: row.action, requestedBy: `admin:${row.requested_by}`, approvedBy: actor(approver), reason: reason.code },
      },
      trx,
    );
    return true;
  });
  // Another approver marked it first, or it was cancelled meanwhile: the row says what it is now.
  if (!marked) assertOpen(await s.approvals.find(row.id), now, approver);
  fail('approval_failed', `Approved, but not carried out: ${reason.detail ?? reason.title}`, { reason: reason.code });
}

/** `POST /api/v1/admin/approvals/{id}/cancel`: by the requester or any other administrator. */
export async function cancelApproval(s: ApprovalPorts, admin: User, id: string, caller: Caller): Promise<ApprovalView> {
  const now = s.clock.now();
  assertOpen(await s.approvals.find(id), now);
  await s.store.db.transaction().execute(async (trx) => {
    const approvals = s.approvals.within(trx);
    if (!(await approvals.cancel(id, admin.id, now))) {
      assertOpen(await approvals.find(id), now);
      fail('approval_not_pending', 'This request is no longer pending');
    }
    const row = (await approvals.find(id))!;
    await s.audit.append(
      {
        type: 'admin_approval_cancelled',
        userId: row.target_user_id,
        actor: actor(admin),
        ip: caller.ip,
        userAgent: caller.userAgent,
        detail: { approvalId: id, action: row.action, requestedBy: `admin:${row.requested_by}`, cancelledBy: actor(admin) },
      },
      trx,
    );
  });
  return viewOf(s, (await s.approvals.find(id))!);
}

/** The session check the approval route passes in: a second factor within `windowMs`. */
export function freshSecondFactor(s: Pick<Services, 'clock'>, session: Pick<Session, 'mfa_verified_at'>, windowMs: number): () => void {
  return () => {
    const at = session.mfa_verified_at;
    if (at === null || s.clock.now() - at > windowMs) {
      fail('step_up_required', `Approving needs a second factor within the last ${Math.round(windowMs / 60_000)} minutes: confirm with your MFA device first (POST /api/v1/me/step-up)`);
    }
  };
}
