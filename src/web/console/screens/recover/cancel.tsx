// #/recover-cancel (the link in the "recovery started" mail): ends a recovery the user did not ask for.
import { useState } from 'preact/hooks';
import { call, client } from '../../api/client';
import { t } from '../../i18n';
import { linkTokens } from '../../router';
import { changed, session } from '../../store';
import { Alert } from '../../ui/alert';
import { ActionButton } from '../../ui/button';
import { Page } from '../../ui/page';
import { linkRefusal, useLinkToken } from './link-error';

export function RecoverCancelPage() {
  const [done, setDone] = useState(false);
  const token = useLinkToken('cancel');
  if (done && !token) {
    const signedIn = session.value !== null;
    return (
      <Page narrow title={t('recoverCancel.title')}>
        <Alert kind="success">{t('recoverCancel.done')}</Alert>
        <p class="links">
          <a href={signedIn ? '#/security' : '#/sign-in'}>{t(signedIn ? 'nav.security' : 'signIn.title')}</a>
        </p>
      </Page>
    );
  }
  if (!token) {
    return (
      <Page narrow title={t('recoverCancel.title')}>
        <Alert kind="error">{t('recover.missing')}</Alert>
      </Page>
    );
  }
  const cancel = async () => {
    await linkRefusal(call(client.POST('/api/v1/recovery/cancel', { body: { token } })), 'recoverCancel.invalid');
    linkTokens.cancel = null;
    setDone(true);
    // Signed in here, Security credentials no longer shows the recovery.
    if (session.value) changed();
  };
  return (
    <Page narrow title={t('recoverCancel.title')} lead={t('recoverCancel.lead')}>
      <div class="form-actions">
        <ActionButton variant="danger" action={cancel}>
          {t('recoverCancel.submit')}
        </ActionButton>
      </div>
    </Page>
  );
}
