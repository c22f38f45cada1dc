import type { SecretBox } from '../crypto/secret-box.js';
import type { Mailer } from '../mail/mailer.js';
import type { EmailCodeRepository } from '../store/sign-in.js';
import { SignInCodeMethod } from './email-code/index.js';
import { FACTORS, FactorRegistry } from './registry.js';
import type { FactorDeps, FactorModule } from './types.js';

export interface Methods {
  /** The mailed sign-in code that accounts without MFA confirm (never a second factor). */
  signInCode: SignInCodeMethod;
  /** The second factors. */
  factors: FactorRegistry;
}

export function createMethods(deps: FactorDeps & { box: SecretBox; mailer: Mailer; emailCodes: EmailCodeRepository; factors?: readonly FactorModule[] }): Methods {
  return {
    signInCode: new SignInCodeMethod(deps.emailCodes, deps.mailer, deps.box.deriveKey('email-code')),
    factors: new FactorRegistry(deps.factors ?? FACTORS, deps),
  };
}
