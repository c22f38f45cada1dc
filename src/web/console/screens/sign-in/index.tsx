// #/sign-in: password (or a passkey), then the emailed code for accounts without MFA or the
// second factor for the others; then back to the application that sent the browser here.
import { useEffect, useState } from 'preact/hooks';
import { t, type MessageKey } from '../../i18n';
import { notice, session } from '../../store';
import { Alert } from '../../ui/alert';
import { Loading, Page } from '../../ui/page';
import { EmailCodeStep } from './email-code-step';
import { leave } from './flow';
import { MfaStep } from './mfa-step';
import { PasswordStep } from './password-step';
import { returns } from './returns';
import { step, type Step } from './state';
import './sign-in.css';

/** The one-time word left for this page ("You have signed out"), taken once and shown until the first step is done. */
function useNotice(kind: Step['kind']) {
  const [shown, setShown] = useState(() => notice.value);
  useEffect(() => {
    notice.value = null;
  }, []);
  useEffect(() => {
    if (kind !== 'password') setShown(null);
  }, [kind]);
  return shown;
}

const TITLES: Record<Step['kind'], MessageKey> = {
  password: 'signIn.title',
  email_code: 'signIn.emailCodeTitle',
  mfa: 'signIn.mfaTitle',
  leaving: 'signIn.returning',
};

export function SignInPage() {
  // Signed in already (the address names an application to go back to): no form, unless the
  // application asked for a new sign-in.
  const [signedIn] = useState(() => session.value !== null && !returns.reauth);
  useEffect(() => {
    if (signedIn) void leave(false);
  }, []);
  const current: Step = signedIn ? { kind: 'leaving' } : step.value;
  const n = useNotice(current.kind);
  return (
    <Page key={current.kind} narrow title={t(TITLES[current.kind])} lead={current.kind === 'mfa' ? t('signIn.mfaLead') : undefined}>
      {n && <Alert kind={n.kind}>{n.text}</Alert>}
      {current.kind === 'password' && <PasswordStep />}
      {current.kind === 'email_code' && <EmailCodeStep step={current} />}
      {current.kind === 'mfa' && <MfaStep step={current} />}
      {current.kind === 'leaving' && <Loading />}
    </Page>
  );
}
