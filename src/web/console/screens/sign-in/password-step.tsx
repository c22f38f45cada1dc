// The first step: email and password, and, where the service and the browser support it, a
// passkey instead of both (passwordless).
import { call, client } from '../../api/client';
import { t } from '../../i18n';
import { factors } from '../../store';
import { Alert } from '../../ui/alert';
import { ActionButton } from '../../ui/button';
import { Field } from '../../ui/field';
import { Form, text } from '../../ui/form';
import { getAssertion, webauthnAvailable } from '../../webauthn';
import { afterStep } from './flow';
import { returns } from './returns';
import { signInEmail } from './state';

async function passkeySignIn(): Promise<void> {
  const assertion = await getAssertion(await call(client.POST('/api/v1/sign-in/passkey-options', { body: {} })));
  // Copied into plain objects: the contract types them as open records, the library as interfaces.
  const credential = { ...assertion, response: { ...assertion.response }, clientExtensionResults: { ...assertion.clientExtensionResults } };
  await afterStep(await call(client.POST('/api/v1/sign-in/passkey', { body: { credential } })));
}

/** The field shows the signal, so the signal follows what is typed (a re-render must not undo it). */
export const keepEmail = (e: Event): void => {
  if (e.currentTarget instanceof HTMLInputElement) signInEmail.value = e.currentTarget.value;
};

export function PasswordStep() {
  const passkey = factors.value?.passwordless === true && webauthnAvailable();
  return (
    <>
      {returns.reauth && <Alert kind="info">{t('signIn.reauth')}</Alert>}
      <Form
        submitLabel={t('signIn.submit')}
        onSubmit={async (data) => {
          const email = text(data, 'email');
          // An application asked for a new sign-in (prompt=login, max_age): a remembered browser must not skip the second factor.
          const fresh = returns.reauth ? { fresh: true } : {};
          await afterStep(await call(client.POST('/api/v1/sign-in', { body: { email, password: String(data.get('password') ?? ''), ...fresh } })));
        }}
      >
        <Field label={t('field.email')} name="email" type="email" autoComplete="username" maxLength={254} value={signInEmail.value} onInput={keepEmail} autoFocus={!signInEmail.value} spellcheck={false} autoCapitalize="none" />
        <Field label={t('field.password')} name="password" type="password" autoComplete="current-password" autoFocus={signInEmail.value !== ''} />
      </Form>
      {passkey && (
        <div class="alt-method">
          <p class="or">{t('common.or')}</p>
          <ActionButton action={passkeySignIn}>{t('signIn.passkey')}</ActionButton>
        </div>
      )}
    </>
  );
}
