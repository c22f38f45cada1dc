// #/setup: the first administrator, claimed with the one-time setup token from the server's log.
import { call, client } from '../../api/client';
import { t } from '../../i18n';
import { go } from '../../router';
import { notice, setupNeeded } from '../../store';
import { Field } from '../../ui/field';
import { Form, text } from '../../ui/form';
import { Page } from '../../ui/page';
import { signInEmail, startOver } from '../sign-in/state';

export function SetupPage() {
  return (
    <Page narrow title={t('setup.title')} lead={t('setup.lead')}>
      <Form
        submitLabel={t('setup.submit')}
        onSubmit={async (data) => {
          const email = text(data, 'email');
          const name = text(data, 'name');
          await call(client.POST('/api/v1/setup', { body: { email, password: String(data.get('password') ?? ''), setupToken: text(data, 'setupToken'), ...(name ? { name } : {}) } }));
          setupNeeded.value = false;
          signInEmail.value = email;
          startOver();
          notice.value = { kind: 'success', text: t('setup.done') };
          go('/sign-in');
        }}
      >
        <Field label={t('field.email')} name="email" type="email" autoComplete="username" maxLength={254} spellcheck={false} autoCapitalize="none" />
        <Field label={t('field.name')} name="name" optional autoComplete="name" maxLength={100} />
        <Field label={t('field.password')} name="password" type="password" autoComplete="new-password" minLength={15} hint={t('field.newPasswordHint')} />
        <Field label={t('setup.token')} name="setupToken" mono autoComplete="off" spellcheck={false} autoCapitalize="none" maxLength={200} hint={t('setup.tokenHint')} />
      </Form>
    </Page>
  );
}
