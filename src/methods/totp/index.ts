import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { DeviceRepository } from '../../store/devices.js';
import type { MfaDevice, User } from '../../store/schema.js';
import type { Caller, Proof, SecondFactorMethod } from '../types.js';
import { findConsecutivePair, findCounter, timeStep, type HotpOptions } from './otp.js';

/** ±1 step around the device's learned drift (RFC 6238 §5.2). */
export const TOTP_SKEW_STEPS = 1;
/** HOTP tokens: the next 10 counters (RFC 4226 §7.4: s as low as possible). */
export const HOTP_LOOK_AHEAD = 10;
export const TOTP_SECRET_BYTES = 20;

const OTP_TYPES: MfaDevice['type'][] = ['totp', 'hardware_totp'];

export function newTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

function options(d: MfaDevice): HotpOptions {
  return { algorithm: d.algorithm ?? 'SHA1', digits: d.digits === 8 ? 8 : 6 };
}

/** The device's key, opened with the device id as associated data. */
export function deviceKey(box: SecretBox, d: MfaDevice): Buffer {
  return box.open({ keyId: d.secret_key_id!, value: d.secret_sealed! }, `mfa-device:${d.id}`);
}

export function currentStep(d: Pick<MfaDevice, 'period' | 't0'>, now: number): bigint {
  return timeStep(now, d.period ?? 30, d.t0 ?? 0);
}

/**
 * Authenticator apps and hardware tokens: time-based (TOTP) or counter-based (HOTP) codes.
 * A code is accepted once per device: only a counter past the last accepted one passes.
 */
export class OtpMethod implements SecondFactorMethod {
  readonly id = 'totp' as const;
  readonly guessable = true;

  constructor(
    private readonly devices: DeviceRepository,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async isEnrolled(userId: string): Promise<boolean> {
    return (await this.devices.listActive(userId, OTP_TYPES)).length > 0;
  }

  /** Where on the device's counter line a code may sit right now. */
  window(d: MfaDevice, now: number): [bigint, bigint] {
    const last = d.last_used_counter === null ? -1n : BigInt(d.last_used_counter);
    if (d.otp_kind === 'hotp') return [last + 1n, last + BigInt(HOTP_LOOK_AHEAD)];
    const centre = currentStep(d, now) + BigInt(d.drift);
    const from = centre - BigInt(TOTP_SKEW_STEPS);
    return [from > last ? from : last + 1n, centre + BigInt(TOTP_SKEW_STEPS)];
  }

  async verify(user: User, input: Record<string, unknown>, _caller: Caller): Promise<Proof | null> {
    const code = input.code;
    if (typeof code !== 'string' || !/^\d{6}(\d{2})?$/.test(code)) return null;
    const now = this.clock.now();
    // Every device is checked, so the time taken doesn't tell which one holds the code.
    let match: { device: MfaDevice; counter: bigint } | undefined;
    for (const device of await this.devices.listActive(user.id, OTP_TYPES)) {
      const [from, to] = this.window(device, now);
      if (to < from) continue;
      const counter = findCounter(deviceKey(this.box, device), code, from, to, options(device));
      if (counter !== null && !match) match = { device, counter };
    }
    if (!match) return null;
    const { device, counter } = match;
    return {
      amr: device.type === 'hardware_totp' ? ['otp', 'hwk'] : ['otp'],
      deviceId: device.id,
      deviceName: device.name,
      // The step (or HOTP counter) is accepted at most once: the conditional UPDATE's row count decides.
      consume: (trx) => this.devices.within(trx).consumeCounter(device.id, Number(counter), now),
    };
  }

  /** Two consecutive codes N, N+1 (N+1 within one step of now for TOTP): the counter N+1, or null. */
  findActivationPair(key: Buffer, d: Pick<MfaDevice, 'otp_kind' | 'period' | 't0' | 'drift' | 'algorithm' | 'digits' | 'last_used_counter'>, code1: string, code2: string, now: number, wide?: bigint): bigint | null {
    if (!/^\d{6}(\d{2})?$/.test(code1) || !/^\d{6}(\d{2})?$/.test(code2)) return null;
    const opts = options(d as MfaDevice);
    const last = d.last_used_counter === null ? -1n : BigInt(d.last_used_counter);
    let from: bigint;
    let to: bigint;
    if (d.otp_kind === 'hotp') {
      from = last + 1n;
      to = last + (wide ?? BigInt(HOTP_LOOK_AHEAD));
    } else {
      const centre = currentStep(d, now) + (wide === undefined ? BigInt(d.drift) : 0n);
      const span = wide ?? BigInt(TOTP_SKEW_STEPS);
      // N+1 must lie within the span around now, so N lies one step earlier.
      from = centre - span - 1n;
      to = centre + span - 1n;
      if (from <= last) from = last + 1n;
    }
    if (to < from) return null;
    const n = findConsecutivePair(key, code1, code2, from, to, opts);
    return n === null ? null : n + 1n;
  }
}
