// A passkey or security key: the browser's own prompt creates the credential.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { Alert, ErrorBox } from '../../../ui/alert';
import { ActionButton } from '../../../ui/button';
import { createCredential, webauthnAvailable } from '../../../webauthn';
import { withStepUp } from '../../sign-in/step-up';
import { CancelButton } from '../parts';
import type { Assigned } from '.';

export function PasskeySetup({ name, onBack, onAssigned }: { name: string; onBack: () => void; onAssigned: (r: Assigned) => void }) {
  const [error, setError] = useState<unknown>(null);
  const supported = webauthnAvailable();
  const create = async () => {
    setError(null);
    const options = await withStepUp(() => call(client.POST('/api/v1/me/mfa-devices/webauthn-options', { body: {} })));
    const made = await createCredential(options);
    // Spread into plain objects: the library's interfaces are what the server's schema describes, without its open index.
    const credential = { ...made, response: { ...made.response }, clientExtensionResults: { ...made.clientExtensionResults } };
    onAssigned(await call(client.POST('/api/v1/me/mfa-devices/webauthn', { body: { name, credential } })));
  };
  return (
    <>
      <p>{t('assign.passkeyIntro')}</p>
      {!supported && (
        <Alert kind="error">
          <p>{t('webauthn.unsupported')}</p>
        </Alert>
      )}
      <ErrorBox error={error} />
      <div class="form-actions">
        <ActionButton variant="primary" action={create} onError={setError} disabled={!supported}>
          {t('assign.createPasskey')}
        </ActionButton>
        <CancelButton onClick={onBack}>{t('common.back')}</CancelButton>
      </div>
    </>
  );
}
