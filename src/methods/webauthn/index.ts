import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Clock } from '../../clock.js';
import type { ChallengePurpose, ChallengeRepository } from '../../store/challenges.js';
import type { DeviceRepository } from '../../store/devices.js';
import type { Store } from '../../store/db.js';
import type { MfaDevice, User } from '../../store/schema.js';
import type { Caller, Proof, SecondFactorMethod } from '../types.js';

/** AAGUID → authenticator model, from the maintained `aaguids` package (a CommonJS JSON map). */
const aaguidNames = createRequire(import.meta.url)('aaguids') as Record<string, string>;

export const CHALLENGE_TTL_MS = 5 * 60_000;
/** EdDSA, ES256, RS256. */
export const ALGORITHMS = [-8, -7, -257];
const MAX_CREDENTIAL_ID_BYTES = 1023;

export interface RelyingParty {
  id: string;
  origin: string;
  name: string;
}

/** Everything the registration ceremony learned about a new credential. */
export interface NewCredential {
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  aaguid: string;
  format: string;
  backupEligible: boolean;
  backedUp: boolean;
  userVerified: boolean;
}

export type WebauthnFailure = 'malformed' | 'challenge' | 'unknown_credential' | 'verification' | 'counter_regression' | 'user_handle' | 'not_discoverable' | 'credential_in_use';

export class WebauthnError extends Error {
  constructor(readonly reason: WebauthnFailure) {
    super(`WebAuthn ceremony refused: ${reason}`);
  }
}

/** The challenge a client answered, read from its clientDataJSON; null when unreadable. */
function answeredChallenge(response: { response?: { clientDataJSON?: unknown } }): string | null {
  const raw = response.response?.clientDataJSON;
  if (typeof raw !== 'string' || raw.length > 4096) return null;
  try {
    const client = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof client.challenge === 'string' && client.challenge.length <= 128 ? client.challenge : null;
  } catch {
    return null;
  }
}

/** The name a person recognises: the authenticator's model where its AAGUID is known. */
export function authenticatorName(d: Pick<MfaDevice, 'aaguid' | 'backup_eligible'>): string {
  const known = d.aaguid ? aaguidNames[d.aaguid] : undefined;
  return known ?? (d.backup_eligible ? 'Passkey' : 'Security key');
}

/** RFC 8176: a synced passkey is software-held (`swk`), a device-bound key hardware-held (`hwk`). */
function amrOf(d: Pick<MfaDevice, 'backup_eligible'>, userVerified: boolean): string[] {
  return [d.backup_eligible ? 'swk' : 'hwk', ...(userVerified ? ['user'] : [])];
}

/**
 * Passkeys and security keys. One function per ceremony, options in, verified result out; the
 * challenge of each ceremony is kept server-side and deleted the moment an answer arrives.
 */
export class WebauthnMethod implements SecondFactorMethod {
  readonly id = 'webauthn' as const;
  readonly guessable = false;

  constructor(
    private readonly store: Store,
    private readonly devices: DeviceRepository,
    private readonly challenges: ChallengeRepository,
    private readonly clock: Clock,
    private readonly rp: () => RelyingParty,
    private readonly onCloneSuspected: (device: MfaDevice, stored: number, presented: number) => Promise<void>,
  ) {}

  async isEnrolled(userId: string): Promise<boolean> {
    return (await this.devices.listActive(userId, ['webauthn'])).length > 0;
  }

  async registrationOptions(user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { id, name } = this.rp();
    const existing = await this.devices.listActive(user.id, ['webauthn']);
    const challenge = randomBytes(32);
    const options = await generateRegistrationOptions({
      rpName: name,
      rpID: id,
      userName: user.email,
      userDisplayName: user.name,
      userID: Buffer.from(user.webauthn_user_handle, 'base64url'),
      challenge,
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((d) => ({ id: d.credential_id!, transports: d.transports ? (JSON.parse(d.transports) as string[]) : [] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    await this.challenges.issue('register', user.id, options.challenge, this.clock.now(), CHALLENGE_TTL_MS);
    return options;
  }

  async register(user: User, response: RegistrationResponseJSON): Promise<NewCredential> {
    const challenge = answeredChallenge(response);
    if (!challenge) throw new WebauthnError('malformed');
    if (!(await this.challenges.consume('register', user.id, challenge, this.clock.now()))) throw new WebauthnError('challenge');
    const { id, origin } = this.rp();
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: id,
        requireUserVerification: false,
        supportedAlgorithmIDs: ALGORITHMS,
      });
    } catch {
      throw new WebauthnError('verification');
    }
    if (!verified.verified) throw new WebauthnError('verification');
    const info = verified.registrationInfo;
    if (Buffer.from(info.credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES) throw new WebauthnError('malformed');
    // Backed up but not backup-eligible is a contradiction only a broken or forged authenticator makes.
    if (info.credentialBackedUp && info.credentialDeviceType !== 'multiDevice') throw new WebauthnError('verification');
    const owner = await this.store.db.selectFrom('mfa_devices').select('user_id').where('credential_id', '=', info.credential.id).executeTakeFirst();
    if (owner) throw new WebauthnError('credential_in_use');
    return {
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      signCount: info.credential.counter,
      transports: info.credential.transports ?? [],
      aaguid: info.aaguid,
      format: info.fmt,
      backupEligible: info.credentialDeviceType === 'multiDevice',
      backedUp: info.credentialBackedUp,
      userVerified: info.userVerified,
    };
  }

  /** Request options: for one user's credentials (second factor, step-up) or for any discoverable one (passwordless). */
  async authenticationOptions(purpose: Exclude<ChallengePurpose, 'register'>, user: User | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = user ? await this.devices.listActive(user.id, ['webauthn']) : [];
    const options = await generateAuthenticationOptions({
      rpID: this.rp().id,
      challenge: randomBytes(32),
      timeout: CHALLENGE_TTL_MS,
      userVerification: purpose === 'passkey' ? 'required' : 'preferred',
      allowCredentials: allow.map((d) => ({ id: d.credential_id!, transports: d.transports ? (JSON.parse(d.transports) as string[]) : [] })),
    });
    await this.challenges.issue(purpose, user?.id ?? null, options.challenge, this.clock.now(), CHALLENGE_TTL_MS);
    return options;
  }

  /** Verifies an assertion and moves the signature counter forward; throws WebauthnError. */
  async #assert(purpose: Exclude<ChallengePurpose, 'register'>, user: User | null, response: AuthenticationResponseJSON, requireUserVerification: boolean): Promise<{ device: MfaDevice; userVerified: boolean }> {
    const challenge = answeredChallenge(response);
    if (!challenge || typeof response.id !== 'string' || response.id.length > 1400) throw new WebauthnError('malformed');
    // Consumed first: a failed answer spends its challenge too.
    if (!(await this.challenges.consume(purpose, user?.id ?? null, challenge, this.clock.now()))) throw new WebauthnError('challenge');
    let q = this.store.db.selectFrom('mfa_devices').selectAll().where('credential_id', '=', response.id).where('status', '=', 'active').where('type', '=', 'webauthn');
    if (user) q = q.where('user_id', '=', user.id);
    const device = await q.executeTakeFirst();
    if (!device) throw new WebauthnError('unknown_credential');
    const { id, origin } = this.rp();
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: id,
        requireUserVerification,
        credential: {
          id: device.credential_id!,
          publicKey: Buffer.from(device.public_key!, 'base64url'),
          // Our own counter check below decides; the library's would throw before we could notify.
          counter: 0,
          transports: device.transports ? (JSON.parse(device.transports) as string[]) : [],
        },
      });
    } catch {
      throw new WebauthnError('verification');
    }
    if (!verified.verified) throw new WebauthnError('verification');
    const info = verified.authenticationInfo;
    if (info.credentialBackedUp && !device.backup_eligible) throw new WebauthnError('verification');
    const stored = device.sign_count ?? 0;
    const presented = info.newCounter;
    if ((stored !== 0 || presented !== 0) && presented <= stored) {
      await this.onCloneSuspected(device, stored, presented);
      throw new WebauthnError('counter_regression');
    }
    // Compare-and-swap: of two racing assertions with the same counter only one moves it.
    const r = await this.store.db
      .updateTable('mfa_devices')
      .set({ sign_count: presented, last_used_at: this.clock.now(), backup_state: info.credentialBackedUp ? 1 : 0 })
      .where('id', '=', device.id)
      .where('sign_count', '=', stored)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new WebauthnError('counter_regression');
    return { device, userVerified: info.userVerified };
  }

  async verify(user: User, input: Record<string, unknown>, _caller: Caller, purpose: 'sign_in' | 'step_up'): Promise<Proof | null> {
    try {
      const { device, userVerified } = await this.#assert(purpose === 'sign_in' ? 'sign_in_mfa' : 'step_up', user, input.credential as AuthenticationResponseJSON, false);
      // Already single-use: the challenge was deleted and the signature counter moved by one statement each.
      return { amr: amrOf(device, userVerified), deviceId: device.id, deviceName: device.name, consume: async () => true };
    } catch (err) {
      if (err instanceof WebauthnError) return null;
      throw err;
    }
  }

  /** Passwordless: a discoverable credential registered with user verification, its handle the owner's. */
  async signInWithPasskey(response: AuthenticationResponseJSON): Promise<{ userId: string; amr: string[]; deviceId: string }> {
    const { device, userVerified } = await this.#assert('passkey', null, response, true);
    if (!device.user_verified) throw new WebauthnError('not_discoverable');
    const owner = await this.store.db.selectFrom('users').select(['id', 'webauthn_user_handle']).where('id', '=', device.user_id).executeTakeFirstOrThrow();
    const handle = response.response?.userHandle;
    if (typeof handle !== 'string' || handle !== owner.webauthn_user_handle) throw new WebauthnError('user_handle');
    return { userId: owner.id, amr: amrOf(device, userVerified), deviceId: device.id };
  }
}
