// The second step of an account with MFA: the method of the device used last first, links to
// the others, "Remember this browser" where the service offers it, and the way out for someone
// who lost their devices.
import { useState } from 'preact/hooks';
import { call, callFactorRoute, client } from '../../api/client';
import type { JsonBody } from '../../api/types';
import { t, tn } from '../../i18n';
import { useId } from '../../ui/ids';
import { afterStep } from './flow';
import { SecondFactor, type ProofBody } from './second-factor';
import { startOver, type Step } from './state';

type MfaBody = JsonBody<'/api/v1/sign-in/mfa', 'post'>;

/** Off until ticked; kept while the user switches methods, and sent with whichever proof goes. */
function RememberBrowser({ days, checked, onChange }: { days: number; checked: boolean; onChange: (on: boolean) => void }) {
  const id = useId('remember');
  return (
    <div class="field">
      <div class="check">
        <input type="checkbox" id={id} checked={checked} aria-describedby={`${id}-hint`} onChange={(e) => onChange(e.currentTarget.checked)} />
        <label for={id}>{tn('mfa.rememberBrowser', days)}</label>
      </div>
      <p class="hint" id={`${id}-hint`}>
        {t('mfa.rememberBrowserHint')}
      </p>
    </div>
  );
}

export function MfaStep({ step }: { step: Extract<Step, { kind: 'mfa' }> }) {
  const [remember, setRemember] = useState(false);
  const days = step.rememberDays;
  return (
    <>
      <SecondFactor
        methods={step.methods}
        first={step.preferred}
        webauthnOptions={() => call(client.POST('/api/v1/sign-in/mfa/webauthn-options', { body: {} }))}
        describedOptions={(id) => callFactorRoute(`/api/v1/sign-in/mfa/${encodeURIComponent(id)}-options`, {})}
        extra={days !== null ? <RememberBrowser days={days} checked={remember} onChange={setRemember} /> : undefined}
        readExtra={() => (days !== null && remember ? { rememberBrowser: true } : {})}
        submit={async (body: ProofBody) => afterStep(await call(client.POST('/api/v1/sign-in/mfa', { body: body as MfaBody })))}
      />
      <ul class="links">
        <li>
          <a href="#/lost-devices">{t('lost.link')}</a>
        </li>
        <li>
          <button type="button" class="link" onClick={startOver}>
            {t('signIn.startOver')}
          </button>
        </li>
      </ul>
    </>
  );
}
