import QRCode from 'qrcode';
import type { Transaction } from 'kysely';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { MamoriError, fail } from '../errors.js';
import { newId } from '../crypto/tokens.js';
import type { Caller } from '../methods/types.js';
import type { RecoveryCodeSet } from '../methods/recovery-code/index.js';
import { currentStep, deviceKey, newTotpSecret } from '../methods/totp/index.js';
import { base32Encode, otpauthUri } from '../methods/totp/otpauth.js';
import { WebauthnError, authenticatorName } from '../methods/webauthn/index.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import { DEVICE_LIMIT } from '../store/devices.js';
import type { Database, MfaDevice, Session, User } from '../store/schema.js';
import { notify } from './notify.js';

export const PENDING_TTL_MS = 10 * 60_000;
/** Resync searches far wider than sign-in, but only with two consecutive codes. */
export const HOTP_RESYNC_WINDOW = 1000n;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function deviceView(d: MfaDevice) {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    createdAt: iso(d.created_at)!,
    lastUsedAt: iso(d.last_used_at),
    ...(d.type === 'hardware_totp' && d.serial ? { serial: d.serial } : {}),
    ...(d.type === 'webauthn' ? { authenticator: authenticatorName(d) } : {}),
  };
}

const invalidPair = () => new MamoriError('invalid_code', 'The two codes must be consecutive codes from this device', {}, 400);
const limitReached = () => new MamoriError('device_limit_reached', `A user holds at most ${DEVICE_LIMIT} MFA devices`);

function entry(type: string, user: User, caller: Caller, detail: AuditEntry['detail'], actor?: string): AuditEntry {
  return { type, userId: user.id, actor: actor ?? null, ip: caller.ip, userAgent: caller.userAgent, detail };
}

async function audit(s: Services, type: string, user: User, caller: Caller, detail: AuditEntry['detail'], trx?: Transaction<Database>) {
  await s.audit.append(entry(type, user, caller, detail), trx);
}

export async function listDevices(s: Services, user: User) {
  return (await s.devices.listActive(user.id)).map(deviceView);
}

async function assertUnderLimit(s: Services, user: User): Promise<void> {
  if ((await s.devices.countActive(user.id)) >= DEVICE_LIMIT) throw limitReached();
}

/** A first device brings recovery codes; they are hashed before the transaction that stores them opens. */
async function recoveryCodesIfFirst(s: Services, user: User): Promise<RecoveryCodeSet | undefined> {
  return (await s.devices.countActive(user.id)) === 0 ? s.methods.recoveryCodes.newSet() : undefined;
}

/** Step 1 of an authenticator app: a pending device whose secret is shown this once. */
export async function startAuthenticatorApp(s: Services, user: User, name: string, caller: Caller) {
  await assertUnderLimit(s, user);
  const now = s.clock.now();
  const id = newId();
  const secret = newTotpSecret();
  const sealed = s.box.seal(secret, `mfa-device:${id}`);
  await s.store.db.transaction().execute(async (trx) => {
    await s.devices.within(trx).discardStalePending(now - PENDING_TTL_MS);
    await s.devices.within(trx).insert({
      id,
      user_id: user.id,
      type: 'totp',
      name,
      status: 'pending',
      created_at: now,
      secret_sealed: sealed.value,
      secret_key_id: sealed.keyId,
      otp_kind: 'totp',
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
      t0: 0,
      drift: 0,
    });
    await audit(s, 'mfa_device_pending', user, caller, { deviceId: id, type: 'totp', name }, trx);
  });
  // Apps get SHA1 / 6 digits / 30 s only: Google Authenticator ignores anything else.
  const uri = otpauthUri({ type: 'totp', issuer: s.config.issuer, account: user.email, secret, algorithm: 'SHA1', digits: 6, period: 30 });
  return {
    id,
    name,
    status: 'pending' as const,
    secret: base32Encode(secret),
    otpauthUri: uri,
    qrCodeSvg: await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
  };
}

/**
 * What a newly active device brings, in the transaction that activated it: the device limit
 * checked under the user's row lock, recovery codes with a first device, a raised session, the
 * end of every other session and of every half-finished sign-in (one begun without this device
 * must not finish as if the account had none), and the audit event.
 */
async function completeAssignment(s: Services, trx: Transaction<Database>, user: User, session: Session, deviceId: string, recovery: RecoveryCodeSet | undefined, caller: Caller) {
  const devices = s.devices.within(trx);
  const active = await devices.countActive(user.id);
  if (active > DEVICE_LIMIT) throw limitReached();
  const device = (await devices.find(user.id, deviceId))!;
  const first = active === 1;
  // A device removed meanwhile made this one the first, without codes hashed for it: try again.
  if (first && !recovery) fail('conflict', 'The account changed meanwhile; assign the device again');
  if (first && recovery) await s.methods.recoveryCodes.store(trx, user.id, recovery);
  const now = s.clock.now();
  // Two fresh codes (or a fresh assertion) prove possession: the session now carries a second factor.
  const proof =
    device.type === 'webauthn'
      ? [device.backup_eligible ? 'swk' : 'hwk', ...(device.user_verified ? ['user'] : [])]
      : ['otp', ...(device.type === 'hardware_totp' ? ['hwk'] : [])];
  const amr = [...new Set([...(JSON.parse(session.amr) as string[]), ...proof, 'mfa'])];
  const token = await s.sessions.within(trx).raise(session.id, { aal: 2, amr, mfaVerifiedAt: now, mfaSetupOnly: false }, now);
  const ended = await s.sessions.within(trx).revokeAll(user.id, now, session.id);
  const cancelled = await s.signIns.within(trx).cancelOpen(user.id, now);
  await audit(s, 'mfa_device_assigned', user, caller, { deviceId: device.id, type: device.type, name: device.name, otherSessionsEnded: ended, pendingSignInsEnded: cancelled }, trx);
  return { device, recoveryCodes: first ? recovery?.codes : undefined, sessionToken: token };
}

/** After the assignment committed: the owner hears of it. */
async function announce(s: Services, user: User, made: Awaited<ReturnType<typeof completeAssignment>>) {
  await notify(s, user, { kind: 'mfa_device_added', deviceName: made.device.name, deviceType: made.device.type, at: s.clock.now() });
  return { device: deviceView(made.device), recoveryCodes: made.recoveryCodes, sessionToken: made.sessionToken };
}

export async function activateAuthenticatorApp(s: Services, user: User, session: Session, id: string, code1: string, code2: string, caller: Caller) {
  const now = s.clock.now();
  const device = await s.devices.find(user.id, id);
  if (!device || device.status !== 'pending' || device.created_at <= now - PENDING_TTL_MS) fail('not_found', 'No pending MFA device with this id (it may have expired)');
  const counter = s.methods.otp.findActivationPair(deviceKey(s.box, device), device, code1, code2, now);
  if (counter === null) {
    await audit(s, 'mfa_device_activation_failed', user, caller, { deviceId: id });
    throw invalidPair();
  }
  const recovery = await recoveryCodesIfFirst(s, user);
  const made = await s.store.db.transaction().execute(async (trx) => {
    await s.users.within(trx).lockRow(user.id);
    if (!(await s.devices.within(trx).activate(id, Number(counter), now, now - PENDING_TTL_MS))) fail('not_found', 'No pending MFA device with this id (it may have expired)');
    return completeAssignment(s, trx, user, session, id, recovery, caller);
  });
  return announce(s, user, made);
}

/**
 * A hardware token from the inventory, claimed by serial number and two consecutive codes. The
 * codes are checked before anything is said about the token's holder: only someone holding the
 * token learns that it is assigned to someone else.
 */
export async function assignHardwareToken(s: Services, user: User, session: Session, input: { name: string; serial: string; code1: string; code2: string }, caller: Caller) {
  await assertUnderLimit(s, user);
  const token = await s.hardwareTokens.findBySerial(input.serial);
  const now = s.clock.now();
  const key = token ? s.box.open({ keyId: token.secret_key_id, value: token.secret_sealed }, `hardware-token:${token.id}`) : undefined;
  const shape = token && { otp_kind: token.otp_kind, period: token.period, t0: token.t0, drift: 0, algorithm: token.algorithm, digits: token.digits, last_used_counter: token.otp_kind === 'hotp' ? token.counter - 1 : null };
  const counter = token && key && shape ? s.methods.otp.findActivationPair(key, shape, input.code1, input.code2, now) : null;
  if (!token || !key || counter === null) {
    await audit(s, 'hardware_token_assign_failed', user, caller, { serial: input.serial, reason: token ? 'wrong_codes' : 'unknown_serial' });
    throw invalidPair();
  }
  if (token.assigned_user_id !== null) fail('token_in_use', 'This token is assigned to someone else');
  const id = newId();
  const sealed = s.box.seal(key, `mfa-device:${id}`);
  const recovery = await recoveryCodesIfFirst(s, user);
  const made = await s.store.db.transaction().execute(async (trx) => {
    await s.users.within(trx).lockRow(user.id);
    if (!(await s.hardwareTokens.within(trx).claim(token.id, user.id, id))) fail('token_in_use', 'This token is assigned to someone else');
    await s.devices.within(trx).insert({
      id,
      user_id: user.id,
      type: 'hardware_totp',
      name: input.name,
      status: 'active',
      created_at: now,
      activated_at: now,
      last_used_at: now,
      secret_sealed: sealed.value,
      secret_key_id: sealed.keyId,
      otp_kind: token.otp_kind,
      algorithm: token.algorithm,
      digits: token.digits,
      period: token.period,
      t0: token.t0,
      last_used_counter: Number(counter),
      drift: 0,
      hardware_token_id: token.id,
      serial: token.serial,
    });
    return completeAssignment(s, trx, user, session, id, recovery, caller);
  });
  return announce(s, user, made);
}

/** Finds two consecutive codes far from now and remembers how far the device's clock is off. */
export async function resyncDevice(s: Services, user: User, id: string, code1: string, code2: string, caller: Caller) {
  const device = await s.devices.find(user.id, id);
  if (!device || device.status !== 'active' || (device.type !== 'totp' && device.type !== 'hardware_totp')) fail('not_found', 'No OTP device with this id');
  const now = s.clock.now();
  const wide = device.otp_kind === 'hotp' ? HOTP_RESYNC_WINDOW : BigInt(Math.ceil((s.config.resyncWindowMinutes * 60) / (device.period ?? 30)));
  const counter = s.methods.otp.findActivationPair(deviceKey(s.box, device), device, code1, code2, now, wide);
  const drift = counter === null || device.otp_kind === 'hotp' ? 0 : Number(counter - currentStep(device, now));
  const updated = await s.store.db.transaction().execute(async (trx) => {
    if (counter === null || !(await s.devices.within(trx).consumeCounter(device.id, Number(counter), now, drift))) return undefined;
    const moved = (await s.devices.within(trx).find(user.id, id))!;
    await audit(s, 'mfa_device_resynced', user, caller, { deviceId: id, driftSteps: moved.drift }, trx);
    return moved;
  });
  if (!updated) {
    await audit(s, 'mfa_device_resync_failed', user, caller, { deviceId: id });
    throw invalidPair();
  }
  return deviceView(updated);
}

export async function renameDevice(s: Services, user: User, id: string, name: string, caller: Caller) {
  return s.store.db.transaction().execute(async (trx) => {
    const devices = s.devices.within(trx);
    if (!(await devices.rename(user.id, id, name))) fail('not_found', 'No MFA device with this id');
    await audit(s, 'mfa_device_renamed', user, caller, { deviceId: id, name }, trx);
    return deviceView((await devices.find(user.id, id))!);
  });
}

/**
 * Removes a device (the user's own, or an administrator's lost-device recovery). With the device
 * go the recovery codes if it was the last one, every other session, every half-finished sign-in,
 * and the audit event — one transaction.
 */
export async function removeDevice(s: Services, user: User, id: string, caller: Caller, by: { admin?: string; keepSessionId?: string } = {}) {
  const now = s.clock.now();
  const removed = await s.store.db.transaction().execute(async (trx) => {
    await s.users.within(trx).lockRow(user.id);
    const devices = s.devices.within(trx);
    const device = await devices.remove(user.id, id);
    if (!device) fail('not_found', 'No MFA device with this id');
    // Recovery codes stand in for a device; with no device left they would be a lone factor.
    if ((await devices.countActive(user.id)) === 0) await s.methods.recoveryCodes.voidAll(trx, user.id);
    const ended = await s.sessions.within(trx).revokeAll(user.id, now, by.keepSessionId);
    const cancelled = await s.signIns.within(trx).cancelOpen(user.id, now);
    await s.audit.append(
      entry(by.admin ? 'mfa_device_deactivated' : 'mfa_device_removed', user, caller, { deviceId: id, type: device.type, name: device.name, sessionsEnded: ended, pendingSignInsEnded: cancelled }, by.admin),
      trx,
    );
    return device;
  });
  await notify(s, user, { kind: 'mfa_device_removed', deviceName: removed.name, deviceType: removed.type, at: now, byAdmin: Boolean(by.admin) });
}

/** A new set of recovery codes, the old one void, with its audit event in one transaction; the plain codes once. */
export async function regenerateRecoveryCodes(s: Services, user: User, caller: Caller): Promise<string[]> {
  // Without a device, self-made recovery codes would replace the emailed code as a way in.
  if ((await s.devices.countActive(user.id)) === 0) fail('conflict', 'Assign an MFA device first; recovery codes come with it');
  const set = await s.methods.recoveryCodes.newSet();
  await s.store.db.transaction().execute(async (trx) => {
    await s.methods.recoveryCodes.store(trx, user.id, set);
    await audit(s, 'recovery_codes_regenerated', user, caller, { count: set.codes.length }, trx);
  });
  return set.codes;
}

export async function webauthnRegistrationOptions(s: Services, user: User) {
  await assertUnderLimit(s, user);
  return s.methods.webauthn.registrationOptions(user);
}

/** A passkey or security key as an MFA device. A credential id belongs to one user only. */
export async function assignWebauthn(s: Services, user: User, session: Session, name: string, credential: RegistrationResponseJSON, caller: Caller) {
  await assertUnderLimit(s, user);
  let created;
  try {
    created = await s.methods.webauthn.register(user, credential);
  } catch (err) {
    if (!(err instanceof WebauthnError)) throw err;
    await audit(s, 'webauthn_registration_failed', user, caller, { reason: err.reason });
    if (err.reason === 'credential_in_use') fail('credential_in_use');
    fail('webauthn_failed', `The registration was refused (${err.reason})`, { reason: err.reason });
  }
  const id = newId();
  const now = s.clock.now();
  const recovery = await recoveryCodesIfFirst(s, user);
  let made;
  try {
    made = await s.store.db.transaction().execute(async (trx) => {
      await s.users.within(trx).lockRow(user.id);
      await s.devices.within(trx).insert({
        id,
        user_id: user.id,
        type: 'webauthn',
        name,
        status: 'active',
        created_at: now,
        activated_at: now,
        drift: 0,
        credential_id: created.credentialId,
        public_key: created.publicKey,
        sign_count: created.signCount,
        transports: JSON.stringify(created.transports),
        aaguid: created.aaguid,
        attestation_format: created.format,
        backup_eligible: created.backupEligible ? 1 : 0,
        backup_state: created.backedUp ? 1 : 0,
        user_verified: created.userVerified ? 1 : 0,
      });
      return completeAssignment(s, trx, user, session, id, recovery, caller);
    });
  } catch (err) {
    // The unique index on credential_id settles a race between two users registering one credential.
    if (!(err instanceof MamoriError) && (await s.devices.findByCredential(created.credentialId))) fail('credential_in_use');
    throw err;
  }
  return announce(s, user, made);
}
