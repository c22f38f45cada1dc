// #/invite/<token> (the invitation mail's link): an invited user chooses a password. The token
// left the address bar as the page opened (router.ts) and lives in memory only.
import { call, client } from '../../api/client';
import { ApiError, LocalError } from '../../api/errors';
import { t } from '../../i18n';
import { go, linkTokens } from '../../router';
import { notice, session } from '../../store';
import { Alert } from '../../ui/alert';
import { Field } from '../../ui/field';
import { Form } from '../../ui/form';
import { Page } from '../../ui/page';
import { useLinkToken } from '../recover/link-error';
import { startOver } from '../sign-in/state';

async function accept(data: FormData): Promise<void> {
  const token = linkTokens.invite;
  const password = String(data.get('password') ?? '');
  if (password !== String(data.get('confirm') ?? '')) throw new LocalError(t('password.mismatch'));
  if (!token) throw new LocalError(t('invite.missing'));
  try {
    await call(client.POST('/api/v1/invitations/accept', { body: { token, password } }));
  } catch (err) {
    // The server says "code" for any token it does not know: here that is the invitation.
    if (err instanceof ApiError && err.code === 'invalid_code') throw new LocalError(t('invite.invalid'));
    throw err;
  }
  linkTokens.invite = null;
  startOver();
  notice.value = { kind: 'success', text: t('invite.done') };
  go(session.value ? '/security' : '/sign-in');
}

export function InvitePage() {
  if (!useLinkToken('invite')) {
    return (
      <Page narrow title={t('invite.title')}>
        <Alert kind="error">{t('invite.missing')}</Alert>
        <p class="links">
          <a href="#/sign-in">{t('signIn.title')}</a>
        </p>
      </Page>
    );
  }
  return (
    <Page narrow title={t('invite.title')} lead={t('invite.lead')}>
      <Form submitLabel={t('invite.submit')} onSubmit={accept}>
        <Field label={t('password.new')} name="password" type="password" autoComplete="new-password" minLength={15} hint={t('field.newPasswordHint')} />
        <Field label={t('password.confirm')} name="confirm" type="password" autoComplete="new-password" />
      </Form>
    </Page>
  );
}
