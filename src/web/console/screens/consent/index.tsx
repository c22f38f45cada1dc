// #/consent?uid=…: a third-party application asks to sign the user in (OpenID Connect). What it
// would learn, in words, and Allow or Deny; either answer goes back to the provider.
import { useState } from 'preact/hooks';
import { call, client } from '../../api/client';
import { t, tKnown } from '../../i18n';
import { route } from '../../router';
import { useLoad } from '../../store';
import { Alert, ErrorBox } from '../../ui/alert';
import { ActionButton } from '../../ui/button';
import { Loading, Page } from '../../ui/page';
import './consent.css';

const UID = /^[A-Za-z0-9_-]{1,100}$/;

function Request({ uid }: { uid: string }) {
  const [error, setError] = useState<unknown>(null);
  // Answered: the browser is on its way back, and the request cannot be answered twice.
  const [answered, setAnswered] = useState(false);
  const answer = async (approve: boolean) => {
    setError(null);
    const r = await call(client.POST('/oidc/interaction/{uid}/consent', { params: { path: { uid } }, body: { approve } }));
    setAnswered(true);
    location.assign(r.redirectTo);
  };
  const details = useLoad(() => call(client.GET('/oidc/interaction/{uid}/details', { params: { path: { uid } } })), [uid]);
  if (details.error) return <Alert kind="error">{t('consent.expired')}</Alert>;
  if (!details.data) return <Loading />;
  const d = details.data;
  // `openid` is the sign-in itself, said by the lead.
  const scopes = d.scopes.filter((s) => s !== 'openid');
  return (
    <>
      <p class="lead">{t('consent.lead', { client: d.client.name })}</p>
      {scopes.length > 0 && (
        <ul class="consent-scopes">
          {scopes.map((s) => (
            <li key={s}>{tKnown(`consent.scope.${s}`, s)}</li>
          ))}
        </ul>
      )}
      <p>{t('consent.note')}</p>
      <div class="form-actions">
        <ActionButton variant="primary" action={() => answer(true)} onError={setError} disabled={answered}>
          {t('consent.allow')}
        </ActionButton>
        <ActionButton action={() => answer(false)} onError={setError} disabled={answered}>
          {t('consent.deny')}
        </ActionButton>
      </div>
      <ErrorBox error={error} />
    </>
  );
}

export function ConsentPage() {
  const uid = route.value.params.get('uid') ?? '';
  return (
    <Page narrow title={t('consent.title')}>
      {UID.test(uid) ? <Request uid={uid} /> : <Alert kind="error">{t('consent.expired')}</Alert>}
    </Page>
  );
}
