import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/** SimpleWebAuthn is loaded at the first ceremony: a third of a command-line start otherwise. */
const simpleWebAuthn = () => import('@simplewebauthn/server');
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { MamoriError, fail } from '../../errors.js';
import { newId } from '../../crypto/tokens.js';
import { Name } from '../../schemas/fields.js';
import type { ChallengePurpose } from '../../store/challenges.js';
import type { Transaction } from 'kysely';
import type { Database, MfaDevice, User } from '../../store/schema.js';
import type { Assignment, Factor, FactorDeps, FactorModule, Passwordless, Proof, Purpose } from '../types.js';

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

/** What a passkey or security key keeps: its public key and what registration learned of it. */
const WebauthnConfig = Type.Object({
  v: Type.Literal(1),
  publicKey: Type.String(),
  transports: Type.Array(Type.String()),
  aaguid: Type.Union([Type.String(), Type.Null()]),
  attestationFormat: Type.Union([Type.String(), Type.Null()]),
  backupEligible: Type.Boolean(),
  backupState: Type.Boolean(),
  userVerified: Type.Boolean(),
});
type WebauthnConfig = Static<typeof WebauthnConfig>;
/** Compiled once: every sign-in checks each device's config, and the interpreted check costs a hundred times more. */
const isWebauthnConfig = Compile(WebauthnConfig);

function configOf(d: Pick<MfaDevice, 'id' | 'config'>): WebauthnConfig {
  const parsed: unknown = JSON.parse(d.config);
  if (!isWebauthnConfig.Check(parsed)) throw new Error(`MFA device ${d.id}: WebAuthn configuration does not match its schema`);
  return parsed;
}

/** The name a person recognises: the authenticator's model where its AAGUID is known. */
export function authenticatorName(c: Pick<WebauthnConfig, 'aaguid' | 'backupEligible'>): string {
  const known = c.aaguid ? aaguidNames[c.aaguid] : undefined;
  return known ?? (c.backupEligible ? 'Passkey' : 'Security key');
}

/** RFC 8176: a synced passkey is software-held (`swk`), a device-bound key hardware-held (`hwk`). */
function amrOf(c: Pick<WebauthnConfig, 'backupEligible'>, userVerified: boolean): string[] {
  return [c.backupEligible ? 'swk' : 'hwk', ...(userVerified ? ['user'] : [])];
}

/** A PublicKeyCredential as JSON; SimpleWebAuthn checks its inside. */
export const Credential = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 1400 }),
    rawId: Type.String({ minLength: 1, maxLength: 1400 }),
    type: Type.Literal('public-key'),
    response: Type.Object({ clientDataJSON: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: true, maxProperties: 16 }),
    clientExtensionResults: Type.Optional(Type.Object({}, { additionalProperties: true })),
    authenticatorAttachment: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const transportsOf = (d: MfaDevice) => configOf(d).transports;

/**
 * Passkeys and security keys. One function per ceremony, options in, verified result out; the
 * challenge of each ceremony is kept server-side and deleted the moment an answer arrives.
 */
export const webauthnFactor: FactorModule = (deps: FactorDeps) => {
  const { clock, devices, challenges, users, rp } = { ...deps, rp: deps.relyingParty };

  async function registrationOptions(user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { id, name } = rp();
    const existing = await devices.listActive(user.id, ['webauthn']);
    const options = await (await simpleWebAuthn()).generateRegistrationOptions({
      rpName: name,
      rpID: id,
      userName: user.email,
      userDisplayName: user.name,
      userID: Buffer.from(user.webauthn_user_handle, 'base64url'),
      challenge: randomBytes(32),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((d) => ({ id: d.lookup_key!, transports: transportsOf(d) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    await challenges.issue('register', user.id, options.challenge, clock.now(), CHALLENGE_TTL_MS);
    return options;
  }

  /** Verifies an attestation; throws WebauthnError. */
  async function register(user: User, response: RegistrationResponseJSON): Promise<NewCredential> {
    const challenge = answeredChallenge(response);
    if (!challenge) throw new WebauthnError('malformed');
    if (!(await challenges.consume('register', user.id, challenge, clock.now()))) throw new WebauthnError('challenge');
    const { id, origin } = rp();
    let verified;
    try {
      verified = await (await simpleWebAuthn()).verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: id, requireUserVerification: false, supportedAlgorithmIDs: ALGORITHMS });
    } catch {
      throw new WebauthnError('verification');
    }
    if (!verified.verified) throw new WebauthnError('verification');
    const info = verified.registrationInfo;
    if (Buffer.from(info.credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES) throw new WebauthnError('malformed');
    // Backed up but not backup-eligible is a contradiction only a broken or forged authenticator makes.
    if (info.credentialBackedUp && info.credentialDeviceType !== 'multiDevice') throw new WebauthnError('verification');
    if (await devices.lookupKeyTaken(info.credential.id)) throw new WebauthnError('credential_in_use');
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
  async function authenticationOptions(purpose: Exclude<ChallengePurpose, 'register'>, user: User | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = user ? await devices.listActive(user.id, ['webauthn']) : [];
    const options = await (await simpleWebAuthn()).generateAuthenticationOptions({
      rpID: rp().id,
      challenge: randomBytes(32),
      timeout: CHALLENGE_TTL_MS,
      userVerification: purpose === 'passkey' ? 'required' : 'preferred',
      allowCredentials: allow.map((d) => ({ id: d.lookup_key!, transports: transportsOf(d) })),
    });
    await challenges.issue(purpose, user?.id ?? null, options.challenge, clock.now(), CHALLENGE_TTL_MS);
    return options;
  }

  /** Verifies an assertion and moves the signature counter forward; throws WebauthnError. */
  /** `trx`: the second step's transaction, which the challenge, the counter and a clone's audit event commit with. */
  async function assert(purpose: Exclude<ChallengePurpose, 'register'>, user: User | null, response: AuthenticationResponseJSON, requireUserVerification: boolean, trx?: Transaction<Database>): Promise<{ device: MfaDevice; config: WebauthnConfig; userVerified: boolean }> {
    const challenge = answeredChallenge(response);
    if (!challenge || typeof response.id !== 'string' || response.id.length > 1400) throw new WebauthnError('malformed');
    const inChallenges = trx ? challenges.within(trx) : challenges;
    const inDevices = trx ? devices.within(trx) : devices;
    // Consumed first: a failed answer spends its challenge too.
    if (!(await inChallenges.consume(purpose, user?.id ?? null, challenge, clock.now()))) throw new WebauthnError('challenge');
    const device = await inDevices.findByLookupKey(response.id, { type: 'webauthn', ...(user ? { userId: user.id } : {}) });
    if (!device) throw new WebauthnError('unknown_credential');
    const config = configOf(device);
    const { id, origin } = rp();
    let verified;
    try {
      verified = await (await simpleWebAuthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: id,
        requireUserVerification,
        credential: {
          id: device.lookup_key!,
          publicKey: Buffer.from(config.publicKey, 'base64url'),
          // Our own counter check below decides; the library's would throw before we could notify.
          counter: 0,
          transports: config.transports,
        },
      });
    } catch {
      throw new WebauthnError('verification');
    }
    if (!verified.verified) throw new WebauthnError('verification');
    const info = verified.authenticationInfo;
    if (info.credentialBackedUp && !config.backupEligible) throw new WebauthnError('verification');
    const stored = device.counter ?? 0;
    const presented = info.newCounter;
    if ((stored !== 0 || presented !== 0) && presented <= stored) {
      await deps.onCloneSuspected(device, stored, presented, trx);
      throw new WebauthnError('counter_regression');
    }
    // Compare-and-swap: of two racing assertions with the same counter only one moves it.
    const moved = await inDevices.swapCounter(device.id, stored, presented, clock.now(), JSON.stringify({ ...config, backupState: info.credentialBackedUp }));
    if (!moved) throw new WebauthnError('counter_regression');
    return { device, config, userVerified: info.userVerified };
  }

  const assignment: Assignment = {
    path: 'webauthn',
    deviceType: 'webauthn',
    startBody: Type.Object({ name: Name, credential: Credential }, { additionalProperties: false }),
    ui: {
      label: { en: 'Passkey or security key', ja: 'パスキーまたはセキュリティキー' },
      description: { en: 'Your phone, computer or a security key confirms it is you. Nothing to type, and it cannot be phished.', ja: 'スマートフォン、パソコン、またはセキュリティキーで本人確認します。入力は不要で、フィッシングされません。' },
      fields: [{ name: 'credential', kind: 'webauthn', label: { en: 'Follow your browser', ja: 'ブラウザーの案内に従ってください' } }],
    },
    options: registrationOptions,
    async start(ctx, body) {
      let created: NewCredential;
      try {
        created = await register(ctx.user, body.credential as RegistrationResponseJSON);
      } catch (err) {
        if (!(err instanceof WebauthnError)) throw err;
        if (err.reason === 'credential_in_use') fail('credential_in_use');
        throw new MamoriError('webauthn_failed', `The registration was refused (${err.reason})`, { reason: err.reason });
      }
      const config: WebauthnConfig = {
        v: 1,
        publicKey: created.publicKey,
        transports: created.transports,
        aaguid: created.aaguid,
        attestationFormat: created.format,
        backupEligible: created.backupEligible,
        backupState: created.backedUp,
        userVerified: created.userVerified,
      };
      return {
        active: {
          device: { id: newId(), user_id: ctx.user.id, type: 'webauthn', name: String(body.name), status: 'active', created_at: ctx.now, activated_at: ctx.now, counter: created.signCount, lookup_key: created.credentialId, config: JSON.stringify(config) },
          amr: amrOf(config, created.userVerified),
          phishingResistant: true,
        },
      };
    },
  };

  const passwordless: Passwordless = {
    body: Type.Object({ credential: Credential }, { additionalProperties: false }),
    options: () => authenticationOptions('passkey', null),
    /** A discoverable credential registered with user verification, its handle the owner's. */
    async signIn(body) {
      try {
        const response = body.credential as AuthenticationResponseJSON;
        const { device, config, userVerified } = await assert('passkey', null, response, true);
        if (!config.userVerified) throw new WebauthnError('not_discoverable');
        const owner = await users.findById(device.user_id);
        const handle = response.response?.userHandle;
        if (!owner || typeof handle !== 'string' || handle !== owner.webauthn_user_handle) throw new WebauthnError('user_handle');
        return { userId: owner.id, amr: amrOf(config, userVerified), phishingResistant: true };
      } catch (err) {
        if (err instanceof WebauthnError) return { refused: err.reason };
        throw err;
      }
    },
  };

  const factor: Factor & { passwordless: Passwordless } = {
    id: 'webauthn',
    guessable: false,
    phishingResistant: true,
    deviceTypes: ['webauthn'],
    proofFields: { credential: Credential },
    ui: {
      label: assignment.ui.label,
      deviceLabels: { webauthn: assignment.ui.label },
      proof: [{ name: 'credential', kind: 'webauthn', label: { en: 'Use your passkey or security key', ja: 'パスキーまたはセキュリティキーを使用' } }],
    },
    assignments: [assignment],
    passwordless,
    async isAssigned(_userId, active) {
      return active.some((d) => d.type === 'webauthn');
    },
    challenge: (user: User, purpose: Purpose) => authenticationOptions(purpose === 'sign_in' ? 'sign_in_mfa' : 'step_up', user),
    async verify(user, input, _caller, purpose, trx): Promise<Proof | null> {
      try {
        const { device, config, userVerified } = await assert(purpose === 'sign_in' ? 'sign_in_mfa' : 'step_up', user, input.credential as AuthenticationResponseJSON, false, trx);
        // Already single-use: the challenge was deleted and the signature counter moved by one statement each.
        return { amr: amrOf(config, userVerified), phishingResistant: true, deviceId: device.id, deviceName: device.name, consume: async () => true };
      } catch (err) {
        if (err instanceof WebauthnError) return null;
        throw err;
      }
    },
    view: (device) => ({ authenticator: authenticatorName(configOf(device)) }),
  };
  return factor;
};
