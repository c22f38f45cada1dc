// Browser ceremonies through @simplewebauthn/browser: the server's options JSON in, the
// credential JSON out. A closed prompt becomes Cancelled (shown as nothing).
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { Cancelled, LocalError } from './api/errors';
import { t } from './i18n';

type RequestOptions = Parameters<typeof startAuthentication>[0]['optionsJSON'];
type CreationOptions = Parameters<typeof startRegistration>[0]['optionsJSON'];
export type AssertionJSON = Awaited<ReturnType<typeof startAuthentication>>;
export type AttestationJSON = Awaited<ReturnType<typeof startRegistration>>;

export const webauthnAvailable = (): boolean => browserSupportsWebAuthn();

function cancelledOr(err: unknown): never {
  // The person closed the browser's prompt: nothing to say.
  if (err instanceof Error && (err.name === 'AbortError' || (err.name === 'NotAllowedError' && /cancel/i.test(err.message)))) throw new Cancelled();
  throw err;
}

export async function getAssertion(options: unknown): Promise<AssertionJSON> {
  if (!webauthnAvailable()) throw new LocalError(t('webauthn.unsupported'));
  return startAuthentication({ optionsJSON: options as RequestOptions }).catch(cancelledOr);
}

export async function createCredential(options: unknown): Promise<AttestationJSON> {
  if (!webauthnAvailable()) throw new LocalError(t('webauthn.unsupported'));
  return startRegistration({ optionsJSON: options as CreationOptions }).catch(cancelledOr);
}
