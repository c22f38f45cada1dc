import { randomBytes } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { MamoriError, fail } from '../../errors.js';
import { newId } from '../../crypto/tokens.js';
import { Code, Name } from '../../schemas/fields.js';
import type { MfaDevice, User } from '../../store/schema.js';
import type { Assignment, Caller, Factor, FactorDeps, FactorModule, FieldUi, Proof } from '../types.js';
import { findConsecutivePair, findCounter, timeStep, type HotpOptions } from './otp.js';
import { base32Encode, otpauthUri } from './otpauth.js';

/** ±1 step around the device's learned drift (RFC 6238 §5.2). */
export const TOTP_SKEW_STEPS = 1;
/** HOTP tokens: the next 10 counters (RFC 4226 §7.4: s as low as possible). */
export const HOTP_LOOK_AHEAD = 10;
export const TOTP_SECRET_BYTES = 20;
/** Resync searches far wider than sign-in, but only with two consecutive codes. */
export const HOTP_RESYNC_WINDOW = 1000n;

/** What an OTP device keeps beside its sealed key: the code parameters and the learned drift. */
const OtpConfig = Type.Object({
  v: Type.Literal(1),
  otpKind: Type.Union([Type.Literal('totp'), Type.Literal('hotp')]),
  algorithm: Type.Union([Type.Literal('SHA1'), Type.Literal('SHA256'), Type.Literal('SHA512')]),
  digits: Type.Union([Type.Literal(6), Type.Literal(8)]),
  period: Type.Integer({ minimum: 1 }),
  t0: Type.Integer(),
  /** TOTP: the device's clock drift in steps, learned at resync. */
  drift: Type.Integer(),
  hardwareTokenId: Type.Optional(Type.String()),
  serial: Type.Optional(Type.String()),
});
type OtpConfig = Static<typeof OtpConfig>;
/** Compiled once: every sign-in checks each device's config, and the interpreted check costs a hundred times more. */
const isOtpConfig = Compile(OtpConfig);

/** The config document of an authenticator-app device (assigned in the console or imported with its seed): no drift learned yet. */
export function appDeviceConfig(p: Pick<OtpConfig, 'algorithm' | 'digits' | 'period'>): string {
  const config: OtpConfig = { v: 1, otpKind: 'totp', algorithm: p.algorithm, digits: p.digits, period: p.period, t0: 0, drift: 0 };
  return JSON.stringify(config);
}

function configOf(d: Pick<MfaDevice, 'id' | 'config'>): OtpConfig {
  const parsed: unknown = JSON.parse(d.config);
  if (!isOtpConfig.Check(parsed)) throw new Error(`MFA device ${d.id}: OTP configuration does not match its schema`);
  return parsed;
}

const options = (c: OtpConfig): HotpOptions => ({ algorithm: c.algorithm, digits: c.digits });
const step = (c: Pick<OtpConfig, 'period' | 't0'>, now: number): bigint => timeStep(now, c.period, c.t0);
const lastCounter = (counter: number | null) => (counter === null ? -1n : BigInt(counter));
/** Two consecutive codes prove a new OTP device: the console asks for them by these names. */
const CODE_PAIR_FIELDS: FieldUi[] = [
  { name: 'code1', kind: 'code', label: { en: 'MFA code 1', ja: 'MFA コード 1' } },
  { name: 'code2', kind: 'code', label: { en: 'MFA code 2', ja: 'MFA コード 2' } },
];
const CodePair = Type.Object({ code1: Code, code2: Code }, { additionalProperties: false });

const invalidPair = () => new MamoriError('invalid_code', 'The two codes must be consecutive codes from this device');

/** Where on the device's counter line a sign-in code may sit right now. */
function window(c: OtpConfig, counter: number | null, now: number): [bigint, bigint] {
  const last = lastCounter(counter);
  if (c.otpKind === 'hotp') return [last + 1n, last + BigInt(HOTP_LOOK_AHEAD)];
  const centre = step(c, now) + BigInt(c.drift);
  const from = centre - BigInt(TOTP_SKEW_STEPS);
  return [from > last ? from : last + 1n, centre + BigInt(TOTP_SKEW_STEPS)];
}

/**
 * Two consecutive codes N, N+1 (N+1 within the skew of now for TOTP, within the look-ahead for
 * HOTP, or within `wide` for a resync): the counter N+1, or null.
 */
function findPair(key: Buffer, c: OtpConfig, counter: number | null, code1: string, code2: string, now: number, wide?: bigint): bigint | null {
  const last = lastCounter(counter);
  let from: bigint;
  let to: bigint;
  if (c.otpKind === 'hotp') {
    from = last + 1n;
    to = last + (wide ?? BigInt(HOTP_LOOK_AHEAD));
  } else {
    const centre = step(c, now) + (wide === undefined ? BigInt(c.drift) : 0n);
    const span = wide ?? BigInt(TOTP_SKEW_STEPS);
    // N+1 must lie within the span around now, so N lies one step earlier.
    from = centre - span - 1n;
    to = centre + span - 1n;
    if (from <= last) from = last + 1n;
  }
  if (to < from) return null;
  const n = findConsecutivePair(key, code1, code2, from, to, options(c));
  return n === null ? null : n + 1n;
}

/**
 * One-time codes, from an authenticator app (TOTP) or a hardware token (TOTP or HOTP, imported
 * from the vendor's PSKC file). A code is accepted once per device: only a counter past the last
 * accepted one passes, decided by one conditional UPDATE.
 */
export const otpFactor: FactorModule = (deps: FactorDeps) => {
  const { box, clock, devices, hardwareTokens } = deps;
  const deviceKey = (d: MfaDevice) => box.open({ keyId: d.secret_key_id!, value: d.secret_sealed! }, `mfa-device:${d.id}`);

  const app: Assignment = {
    path: 'totp',
    deviceType: 'totp',
    startBody: Type.Object({ name: Name }, { additionalProperties: false }),
    activateBody: CodePair,
    ui: {
      label: { en: 'Authenticator app', ja: '認証アプリ' },
      description: { en: 'An app on your phone shows a new 6-digit code every 30 seconds.', ja: 'スマートフォンのアプリが 30 秒ごとに新しい 6 桁のコードを表示します。' },
      fields: CODE_PAIR_FIELDS,
    },
    async start(ctx, body) {
      const id = newId();
      const secret = randomBytes(TOTP_SECRET_BYTES);
      const sealed = box.seal(secret, `mfa-device:${id}`);
      // Apps get SHA1 / 6 digits / 30 s only: Google Authenticator ignores anything else.
      const config = appDeviceConfig({ algorithm: 'SHA1', digits: 6, period: 30 });
      const uri = otpauthUri({ type: 'totp', issuer: deps.issuer(), account: ctx.user.email, secret, algorithm: 'SHA1', digits: 6, period: 30 });
      return {
        pending: { id, user_id: ctx.user.id, type: 'totp', name: String(body.name), status: 'pending', created_at: ctx.now, secret_sealed: sealed.value, secret_key_id: sealed.keyId, config },
        // The only time the secret leaves the server.
        answer: { secret: base32Encode(secret), otpauthUri: uri, qrCodeSvg: await (await import('qrcode')).default.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) },
      };
    },
    async activate(ctx, device, body) {
      const counter = findPair(deviceKey(device), configOf(device), device.counter, String(body.code1), String(body.code2), ctx.now);
      if (counter === null) throw invalidPair();
      return { counter: Number(counter), amr: ['otp'] };
    },
  };

  const hardware: Assignment = {
    path: 'hardware',
    deviceType: 'hardware_totp',
    startBody: Type.Object({ name: Name, serial: Type.String({ minLength: 1, maxLength: 64 }), code1: Code, code2: Code }, { additionalProperties: false }),
    ui: {
      label: { en: 'Hardware TOTP token', ja: 'ハードウェア TOTP トークン' },
      description: { en: 'A key fob that shows codes, issued by your administrator.', ja: '管理者から配布された、コードを表示するキーホルダー型のトークンです。' },
      fields: [{ name: 'serial', kind: 'text', label: { en: 'Serial number', ja: 'シリアル番号' } }, ...CODE_PAIR_FIELDS],
    },
    /**
     * A token from the inventory, claimed by serial number and two consecutive codes. The codes
     * are checked before anything is said about the token's holder: only someone holding the
     * token learns that it is assigned to someone else.
     */
    async start(ctx, body) {
      const token = await hardwareTokens.findBySerial(String(body.serial));
      const key = token ? box.open({ keyId: token.secret_key_id, value: token.secret_sealed }, `hardware-token:${token.id}`) : undefined;
      const config: OtpConfig | undefined = token && { v: 1, otpKind: token.otp_kind, algorithm: token.algorithm, digits: token.digits === 8 ? 8 : 6, period: token.period, t0: token.t0, drift: 0, hardwareTokenId: token.id, serial: token.serial };
      const counter = token && key && config ? findPair(key, config, token.otp_kind === 'hotp' ? token.counter - 1 : null, String(body.code1), String(body.code2), ctx.now) : null;
      if (!token || !key || !config || counter === null) throw invalidPair();
      if (token.assigned_user_id !== null) fail('token_in_use', 'This token is assigned to someone else');
      const id = newId();
      const sealed = box.seal(key, `mfa-device:${id}`);
      return {
        active: {
          device: { id, user_id: ctx.user.id, type: 'hardware_totp', name: String(body.name), status: 'active', created_at: ctx.now, activated_at: ctx.now, last_used_at: ctx.now, secret_sealed: sealed.value, secret_key_id: sealed.keyId, counter: Number(counter), config: JSON.stringify(config) },
          amr: ['otp', 'hwk'],
          claim: (trx) => hardwareTokens.within(trx).claim(token.id, ctx.user.id, id),
        },
      };
    },
  };

  const factor: Factor = {
    id: 'totp',
    guessable: true,
    deviceTypes: ['totp', 'hardware_totp'],
    proofFields: { code: Code },
    ui: {
      label: { en: 'Authenticator app or hardware token', ja: '認証アプリまたはハードウェアトークン' },
      deviceLabels: { totp: app.ui.label, hardware_totp: hardware.ui.label },
      proof: [{ name: 'code', kind: 'code', label: { en: 'MFA code', ja: 'MFA コード' } }],
    },
    assignments: [app, hardware],

    async isAssigned(_userId, active) {
      return active.some((d) => factor.deviceTypes.includes(d.type));
    },

    async verify(user: User, input: Record<string, unknown>, _caller: Caller, _purpose, trx): Promise<Proof | null> {
      const code = input.code;
      if (typeof code !== 'string' || !/^\d{6}(\d{2})?$/.test(code)) return null;
      const now = clock.now();
      // Every device is checked, so the time taken doesn't tell which one holds the code.
      let match: { device: MfaDevice; counter: bigint } | undefined;
      for (const device of await devices.within(trx).listActive(user.id, factor.deviceTypes)) {
        const config = configOf(device);
        const [from, to] = window(config, device.counter, now);
        if (to < from) continue;
        const counter = findCounter(deviceKey(device), code, from, to, options(config));
        if (counter !== null && !match) match = { device, counter };
      }
      if (!match) return null;
      const { device, counter } = match;
      return {
        amr: device.type === 'hardware_totp' ? ['otp', 'hwk'] : ['otp'],
        deviceId: device.id,
        deviceName: device.name,
        // The step (or HOTP counter) is accepted at most once: the conditional UPDATE's row count decides.
        consume: (t) => devices.within(t).consumeCounter(device.id, Number(counter), now),
      };
    },

    view(device): Record<string, string> {
      const serial = device.type === 'hardware_totp' ? configOf(device).serial : undefined;
      return serial ? { serial } : {};
    },

    async resync(device, code1, code2, now) {
      const config = configOf(device);
      const wide = config.otpKind === 'hotp' ? HOTP_RESYNC_WINDOW : BigInt(Math.ceil((deps.resyncWindowMinutes() * 60) / config.period));
      const counter = findPair(deviceKey(device), config, device.counter, code1, code2, now, wide);
      if (counter === null) return null;
      const drift = config.otpKind === 'hotp' ? 0 : Number(counter - step(config, now));
      return { counter: Number(counter), config: JSON.stringify({ ...config, drift }) };
    },

    async onRemove(trx, device) {
      // The token goes back to the inventory, ready for its next holder.
      const tokenId = device.type === 'hardware_totp' ? configOf(device).hardwareTokenId : undefined;
      if (tokenId) await hardwareTokens.within(trx).release(tokenId);
    },
  };
  return factor;
};
