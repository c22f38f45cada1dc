import QRCode from 'qrcode';
import { MamoriError, fail } from '../errors.js';
import { newId } from '../crypto/tokens.js';
import type { Caller } from '../methods/types.js';
import { currentStep, deviceKey, newTotpSecret } from '../methods/totp/index.js';
import { base32Encode, otpauthUri } from '../methods/totp/otpauth.js';
import type { Services } from '../services.js';
import { DEVICE_LIMIT } from '../store/devices.js';
import type { MfaDevice, Session, User } from '../store/schema.js';
import { WebauthnError, authenticatorName } from '../methods/webauthn/index.js';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { notify } from './sign-in.js';

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

async function audit(s: Services, type: string, user: User, caller: Caller, detail: Record<string, string | number | boolean | null>, actor?: string) {
  await s.audit.append({ type, userId: user.id, actor: actor ?? null, ip: caller.ip, userAgent: caller.userAgent, detail });
}

export async function listDevices(s: Services, user: User) {
  return (await s.devices.listActive(user.id)).map(deviceView);
}

async function assertUnderLimit(s: Services, user: User): Promise<void> {
  if ((await s.devices.countActive(user.id)) >= DEVICE_LIMIT) fail('device_limit_reached', `A user holds at most ${DEVICE_LIMIT} MFA devices`);
}

/** Step 1 of an authenticator app: a pending device whose secret is shown this once. */
export async function startAuthenticatorApp(s: Services, user: User, name: string, caller: Caller) {
  await assertUnderLimit(s, user);
  const now = s.clock.now();
  await s.devices.discardStalePending(now - PENDING_TTL_MS);
  const id = newId();
  const secret = newTotpSecret();
  const sealed = s.box.seal(secret, `mfa-device:${id}`);
  await s.devices.insert({
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
  // Apps get SHA1 / 6 digits / 30 s only: Google Authenticator ignores anything else.
  const uri = otpauthUri({ type: 'totp', issuer: s.config.issuer, account: user.email, secret, algorithm: 'SHA1', digits: 6, period: 30 });
  await audit(s, 'mfa_device_pending', user, caller, { deviceId: id, type: 'totp', name });
  return {
    id,
    name,
    status: 'pending' as const,
    secret: base32Encode(secret),
    otpauthUri: uri,
    qrCodeSvg: await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
  };
}

/** What a newly active device brings: the first one also brings recovery codes and a raised session. */
async function afterAssign(s: Services, user: User, session: Session, device: MfaDevice, caller: Caller) {
  const first = (await s.devices.countActive(user.id)) === 1;
  const recoveryCodes = first ? await s.methods.recoveryCodes.regenerate(user.id) : undefined;
  const now = s.clock.now();
  // Two fresh codes prove possession: the session now carries a second factor.
  const proof =
    device.type === 'webauthn'
      ? [device.backup_eligible ? 'swk' : 'hwk', ...(device.user_verified ? ['user'] : [])]
      : ['otp', ...(device.type === 'hardware_totp' ? ['hwk'] : [])];
  const amr = [...new Set([...(JSON.parse(session.amr) as string[]), ...proof, 'mfa'])];
  const token = await s.sessions.raise(session.id, { aal: 2, amr, mfaVerifiedAt: now, mfaSetupOnly: false }, now);
  const ended = await s.sessions.revokeAll(user.id, now, session.id);
  await audit(s, 'mfa_device_assigned', user, caller, { deviceId: device.id, type: device.type, name: device.name, otherSessionsEnded: ended });
  await notify(s, user, { kind: 'mfa_device_added', deviceName: device.name, deviceType: device.type, at: now });
  return { device: deviceView(device), recoveryCodes, sessionToken: token };
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
  // The activation's own transaction checks the device limit; its refusal says which rule held.
  if (!(await s.devices.activate(id, user.id, Number(counter), now, now - PENDING_TTL_MS))) {
    await assertUnderLimit(s, user);
    fail('not_found', 'No pending MFA device with this id (it may have expired)');
  }
  return afterAssign(s, user, session, (await s.devices.find(user.id, id))!, caller);
}

/** A hardware token from the inventory, claimed by serial number and two consecutive codes. */
export async function assignHardwareToken(s: Services, user: User, session: Session, input: { name: string; serial: string; code1: string; code2: string }, caller: Caller) {
  await assertUnderLimit(s, user);
  const token = await s.store.db.selectFrom('hardware_tokens').selectAll().where('serial', '=', input.serial).executeTakeFirst();
  if (!token) {
    await audit(s, 'hardware_token_assign_failed', user, caller, { serial: input.serial, reason: 'unknown_serial' });
    throw invalidPair();
  }
  if (token.assigned_user_id !== null) fail('token_in_use', 'This token is assigned to someone else');
  const key = s.box.open({ keyId: token.secret_key_id, value: token.secret_sealed }, `hardware-token:${token.id}`);
  const now = s.clock.now();
  const shape = { otp_kind: token.otp_kind, period: token.period, t0: token.t0, drift: 0, algorithm: token.algorithm, digits: token.digits, last_used_counter: token.otp_kind === 'hotp' ? token.counter - 1 : null };
  const counter = s.methods.otp.findActivationPair(key, shape, input.code1, input.code2, now);
  if (counter === null) {
    await audit(s, 'hardware_token_assign_failed', user, caller, { serial: input.serial, reason: 'wrong_codes' });
    throw invalidPair();
  }
  const id = newId();
  const sealed = s.box.seal(key, `mfa-device:${id}`);
  const claimed = await s.store.db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('hardware_tokens')
      .set({ assigned_user_id: user.id, assigned_device_id: id })
      .where('id', '=', token.id)
      .where('assigned_user_id', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await trx
      .insertInto('mfa_devices')
      .values({
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
      })
      .execute();
    return true;
  });
  if (!claimed) fail('token_in_use', 'This token is assigned to someone else');
  return afterAssign(s, user, session, (await s.devices.find(user.id, id))!, caller);
}

/** Finds two consecutive codes far from now and remembers how far the device's clock is off. */
export async function resyncDevice(s: Services, user: User, id: string, code1: string, code2: string, caller: Caller) {
  const device = await s.devices.find(user.id, id);
  if (!device || device.status !== 'active' || (device.type !== 'totp' && device.type !== 'hardware_totp')) fail('not_found', 'No OTP device with this id');
  const now = s.clock.now();
  const wide = device.otp_kind === 'hotp' ? HOTP_RESYNC_WINDOW : BigInt(Math.ceil((s.config.resyncWindowMinutes * 60) / (device.period ?? 30)));
  const counter = s.methods.otp.findActivationPair(deviceKey(s.box, device), device, code1, code2, now, wide);
  if (counter === null || !(await s.devices.consumeCounter(device.id, Number(counter), now, device.otp_kind === 'hotp' ? 0 : Number(counter - currentStep(device, now))))) {
    await audit(s, 'mfa_device_resync_failed', user, caller, { deviceId: id });
    throw invalidPair();
  }
  const updated = (await s.devices.find(user.id, id))!;
  await audit(s, 'mfa_device_resynced', user, caller, { deviceId: id, driftSteps: updated.drift });
  return deviceView(updated);
}

export async function renameDevice(s: Services, user: User, id: string, name: string, caller: Caller) {
  if (!(await s.devices.rename(user.id, id, name))) fail('not_found', 'No MFA device with this id');
  await audit(s, 'mfa_device_renamed', user, caller, { deviceId: id, name });
  return deviceView((await s.devices.find(user.id, id))!);
}

/** Removes a device (the user's own, or an administrator's lost-device recovery). */
export async function removeDevice(s: Services, user: User, id: string, caller: Caller, by: { admin?: string; keepSessionId?: string } = {}) {
  const device = await s.devices.remove(user.id, id);
  if (!device) fail('not_found', 'No MFA device with this id');
  const now = s.clock.now();
  if ((await s.devices.countActive(user.id)) === 0) {
    // Recovery codes stand in for a device; with no device left they would be a lone factor.
    await s.store.db.updateTable('recovery_codes').set({ voided_at: now }).where('user_id', '=', user.id).where('used_at', 'is', null).where('voided_at', 'is', null).execute();
  }
  const ended = await s.sessions.revokeAll(user.id, now, by.keepSessionId);
  await audit(s, by.admin ? 'mfa_device_deactivated' : 'mfa_device_removed', user, caller, { deviceId: id, type: device.type, name: device.name, sessionsEnded: ended }, by.admin);
  await notify(s, user, { kind: 'mfa_device_removed', deviceName: device.name, deviceType: device.type, at: now, byAdmin: Boolean(by.admin) });
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
  try {
    await s.devices.insert({
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
  } catch (err) {
    // The unique index on credential_id settles a race between two users registering one credential.
    if (await s.store.db.selectFrom('mfa_devices').select('id').where('credential_id', '=', created.credentialId).executeTakeFirst()) fail('credential_in_use');
    throw err;
  }
  return afterAssign(s, user, session, (await s.devices.find(user.id, id))!, caller);
}
