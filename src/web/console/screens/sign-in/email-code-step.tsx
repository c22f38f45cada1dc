// The emailed-code step of an account without MFA: what such a code is worth, the code, when it
// stops working, and another code when the first mail is lost or late.
import { useEffect, useState } from 'preact/hooks';
import { call, client } from '../../api/client';
import { ApiError } from '../../api/errors';
import { fmtWait, lang, t, type Lang } from '../../i18n';
import { Alert, ErrorBox } from '../../ui/alert';
import { CodeField } from '../../ui/field';
import { Form, text } from '../../ui/form';
import { useId } from '../../ui/ids';
import { afterStep, codeDeadline, toSecondFactor } from './flow';
import { signInEmail, startOver, step as current, type Step } from './state';

/** After a resend, how long before another may be asked for: the mail needs a moment to arrive. */
export const RESEND_WAIT_MS = 30_000;

/** Between two sentences: Japanese sets none after 。 */
const SENTENCE_GAP: Record<Lang, string> = { en: ' ', ja: '' };

/** The time now, again every second while `on`. */
function useNow(on: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on) return;
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, [on]);
  return now;
}

function Resend({ expiresAt, methods }: { expiresAt: number | null; methods: readonly string[] }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState(false);
  const [waitUntil, setWaitUntil] = useState(0);
  const now = useNow(waitUntil > 0);
  const waiting = waitUntil > now;
  const waitId = useId('resend-wait');
  const resend = async () => {
    setBusy(true);
    setError(null);
    setSent(false);
    try {
      const r = await call(client.POST('/api/v1/sign-in/email-code/resend', { body: {} }));
      current.value = { kind: 'email_code', recovery: r.recovery === true, methods: r.recovery === true ? methods : [], expiresAt: codeDeadline(r) ?? expiresAt };
      setSent(true);
      setWaitUntil(Date.now() + RESEND_WAIT_MS);
    } catch (err) {
      setError(err);
      // The server's own wait, when it refused for the hour's budget.
      if (err instanceof ApiError && err.retryAfter) setWaitUntil(Date.now() + err.retryAfter * 1000);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="resend">
      {sent && <Alert kind="success">{t('signIn.resent', { email: signInEmail.value })}</Alert>}
      <ErrorBox error={error} />
      <button type="button" class="btn" onClick={() => void resend()} disabled={busy || waiting} aria-busy={busy} aria-describedby={waiting ? waitId : undefined}>
        {t('signIn.resend')}
      </button>
      {waiting && (
        <p class="hint" id={waitId}>
          {t('signIn.resendWait', { wait: fmtWait((waitUntil - now) / 1000) })}
        </p>
      )}
    </div>
  );
}

export function EmailCodeStep({ step }: { step: Extract<Step, { kind: 'email_code' }> }) {
  const now = useNow(step.expiresAt !== null);
  const left = step.expiresAt === null ? null : step.expiresAt - now;
  const expired = left !== null && left <= 0;
  return (
    <>
      {/* After a recovery's waiting period this code replaces the MFA devices: said before it is typed. */}
      {step.recovery && (
        <Alert kind="error" title={t('signIn.recoveryTitle')}>
          <p>{t('signIn.recoveryWarning')}</p>
          {step.methods.length > 0 && (
            <p>
              <button type="button" class="btn" onClick={() => void toSecondFactor(step.methods, null, null)}>
                {t('signIn.recoveryUseDevice')}
              </button>
            </p>
          )}
        </Alert>
      )}
      <Alert kind="warning" title={t('signIn.emailCodeWeakTitle')}>
        <p>{t('signIn.emailCodeWeak')}</p>
        <p>{t('signIn.emailCodeNudge')}</p>
      </Alert>
      {expired ? (
        <>
          <Alert kind="error">{t('signIn.emailCodeExpired')}</Alert>
          <div class="form-actions">
            <button type="button" class="btn btn-primary" onClick={startOver}>
              {t('signIn.startOver')}
            </button>
          </div>
        </>
      ) : (
        <>
          <Form
            submitLabel={t('common.verify')}
            onSubmit={async (data) => afterStep(await call(client.POST('/api/v1/sign-in/email-code', { body: { code: text(data, 'code') } })))}
            secondary={
              <button type="button" class="btn" onClick={startOver}>
                {t('signIn.startOver')}
              </button>
            }
          >
            <CodeField label={t('signIn.emailCode')} hint={[t('signIn.emailCodeHint', { email: signInEmail.value }), left === null ? '' : t('signIn.emailCodeExpires', { wait: fmtWait(left / 1000) })].join(SENTENCE_GAP[lang.value]).trim()} />
          </Form>
          <Resend expiresAt={step.expiresAt} methods={step.methods} />
        </>
      )}
    </>
  );
}
