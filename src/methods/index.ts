import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Mailer } from '../mail/mailer.js';
import type { Store } from '../store/db.js';
import type { EmailCodeRepository } from '../store/sign-in.js';
import { EmailCodeMethod } from './email-code/index.js';
import type { PasswordHasher } from './password/hasher.js';
import { RecoveryCodeMethod } from './recovery-code/index.js';
import { OtpMethod } from './totp/index.js';
import { DeviceRepository } from '../store/devices.js';
import { ChallengeRepository } from '../store/challenges.js';
import { RecoveryCodeRepository } from '../store/recovery-codes.js';
import type { MfaDevice } from '../store/schema.js';
import { WebauthnMethod, type RelyingParty } from './webauthn/index.js';
import type { SecondFactorId, SecondFactorMethod } from './types.js';

export interface Methods {
  /** The mailed code that accounts without MFA confirm at sign-in. */
  mailedCode: EmailCodeMethod;
  /** Second factors, in the order the console offers them. */
  secondFactors: Map<SecondFactorId, SecondFactorMethod>;
  otp: OtpMethod;
  recoveryCodes: RecoveryCodeMethod;
  webauthn: WebauthnMethod;
}

/** The one place that knows which factors exist. Adding a factor adds one line here. */
export function createMethods(deps: {
  store: Store;
  box: SecretBox;
  clock: Clock;
  mailer: Mailer;
  emailCodes: EmailCodeRepository;
  hasher: PasswordHasher;
  relyingParty: () => RelyingParty;
  onCloneSuspected: (device: MfaDevice, stored: number, presented: number) => Promise<void>;
}): Methods {
  const devices = new DeviceRepository(deps.store);
  const otp = new OtpMethod(devices, deps.box, deps.clock);
  const recoveryCodes = new RecoveryCodeMethod(new RecoveryCodeRepository(deps.store), devices, deps.hasher, deps.clock);
  const webauthn = new WebauthnMethod(deps.store, devices, new ChallengeRepository(deps.store), deps.clock, deps.relyingParty, deps.onCloneSuspected);
  const secondFactors: SecondFactorMethod[] = [webauthn, otp, recoveryCodes];
  return {
    mailedCode: new EmailCodeMethod(deps.emailCodes, deps.mailer, deps.box.deriveKey('email-code')),
    secondFactors: new Map(secondFactors.map((m) => [m.id, m])),
    otp,
    recoveryCodes,
    webauthn,
  };
}
