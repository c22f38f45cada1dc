// #/recover (the mailed recovery link): a click, not the page load, starts the waiting period,
// so a mail scanner that opens links does not.
import { useState } from 'preact/hooks';
import { call, client } from '../../api/client';
import { fmtDate, t } from '../../i18n';
import { linkTokens } from '../../router';
import { Alert } from '../../ui/alert';
import { ActionButton } from '../../ui/button';
import { Page } from '../../ui/page';
import { linkRefusal, useLinkToken } from './link-error';

export function RecoverPage() {
  const [until, setUntil] = useState<string | null>(null);
  const token = useLinkToken('recover');
  if (until !== null && !token) {
    return (
      <Page narrow title={t('recover.title')}>
        <Alert kind="success">{t('recover.started', { time: fmtDate(until) })}</Alert>
        <p class="links">
          <a href="#/sign-in">{t('signIn.title')}</a>
        </p>
      </Page>
    );
  }
  if (!token) {
    return (
      <Page narrow title={t('recover.title')}>
        <Alert kind="error">{t('recover.missing')}</Alert>
        <p class="links">
          <a href="#/lost-devices">{t('lost.link')}</a>
        </p>
      </Page>
    );
  }
  const start = async () => {
    const r = await linkRefusal(call(client.POST('/api/v1/recovery/confirm', { body: { token } })), 'recover.invalid');
    linkTokens.recover = null;
    setUntil(r.coolingUntil);
  };
  return (
    <Page narrow title={t('recover.title')} lead={t('recover.lead')}>
      <div class="form-actions">
        <ActionButton variant="primary" action={start}>
          {t('recover.submit')}
        </ActionButton>
        <a class="btn" href="#/sign-in">
          {t('common.cancel')}
        </a>
      </div>
    </Page>
  );
}
