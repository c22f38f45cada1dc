// #/lost-devices: a recovery link by email. The answer is the same whether or not the address
// has an account, so the page says only what happens if it does.
import { call, client } from '../../api/client';
import { t } from '../../i18n';
import { go } from '../../router';
import { notice } from '../../store';
import { Field } from '../../ui/field';
import { Form, text } from '../../ui/form';
import { Page } from '../../ui/page';
import { keepEmail } from '../sign-in/password-step';
import { signInEmail, startOver } from '../sign-in/state';

export function LostDevicesPage() {
  return (
    <Page narrow title={t('lost.title')} lead={t('lost.lead')}>
      <p>{t('lost.how')}</p>
      <Form
        submitLabel={t('lost.submit')}
        onSubmit={async (data) => {
          const email = text(data, 'email');
          await call(client.POST('/api/v1/sign-in/lost-devices', { body: { email } }));
          signInEmail.value = email;
          startOver();
          notice.value = { kind: 'success', text: t('lost.sent', { email }) };
          go('/sign-in');
        }}
        secondary={
          <a class="btn" href="#/sign-in">
            {t('common.back')}
          </a>
        }
      >
        <Field label={t('field.email')} name="email" type="email" autoComplete="username" maxLength={254} value={signInEmail.value} onInput={keepEmail} spellcheck={false} autoCapitalize="none" />
      </Form>
    </Page>
  );
}
