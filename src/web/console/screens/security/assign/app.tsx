// An authenticator app: ③ the QR code, the secret key on request, and on a phone a link that
// hands the key to the app installed there; ④ two consecutive codes from the app.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { Form } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { readTwoCodes, TwoCodes } from '../devices/two-codes';
import { CancelButton } from '../parts';
import type { Assigned } from '.';

/** The pending device `POST /api/v1/me/mfa-devices/totp` made: the only time its secret leaves the server. */
export interface Pending {
  id: string;
  name: string;
  secret?: string;
  otpauthUri?: string;
  qrCodeSvg?: string;
}

/** The server's QR code as an image: an inline <svg> would need style attributes the CSP refuses. */
function svgDataUrl(svg: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(svg)) binary += String.fromCharCode(byte);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/** The key in groups of four, easier to type into an app. */
const grouped = (secret: string) => secret.replace(/(.{4})/g, '$1 ').trim();

function SecretKey({ secret }: { secret: string }) {
  const [shown, setShown] = useState(false);
  const id = useId('secret');
  return (
    <div>
      <button type="button" class="link" aria-expanded={shown} aria-controls={id} onClick={() => setShown(!shown)}>
        {t(shown ? 'assign.hideSecret' : 'assign.showSecret')}
      </button>
      <p class="secret" id={id} hidden={!shown}>
        <code>{grouped(secret)}</code>
      </p>
    </div>
  );
}

export function AppSetup({ pending, onNext, onBack }: { pending: Pending; onNext: () => void; onBack: () => void }) {
  return (
    <>
      <ol class="setup-steps">
        <li>{t('assign.appStep1')}</li>
        <li>
          {t('assign.appStep2')}
          <div class="qr-box">
            {pending.qrCodeSvg && <img class="qr" src={svgDataUrl(pending.qrCodeSvg)} alt={t('assign.qrAlt')} width={200} height={200} />}
            <div class="qr-aside">
              {pending.otpauthUri && (
                // On a phone the QR code cannot be scanned by the phone showing it: this hands the key over instead.
                <p class="open-app-box">
                  <a class="open-app" href={pending.otpauthUri}>
                    {t('assign.openApp')}
                  </a>
                  <span class="hint">{t('assign.openAppHint')}</span>
                </p>
              )}
              {pending.secret && <SecretKey secret={pending.secret} />}
            </div>
          </div>
        </li>
      </ol>
      <div class="form-actions">
        <button type="button" class="btn btn-primary" onClick={onNext}>
          {t('common.next')}
        </button>
        <CancelButton onClick={onBack}>{t('common.back')}</CancelButton>
      </div>
    </>
  );
}

export function AppCodes({ pending, onBack, onAssigned }: { pending: Pending; onBack: () => void; onAssigned: (r: Assigned) => void }) {
  return (
    <Form
      submitLabel={t('assign.add')}
      secondary={<CancelButton onClick={onBack}>{t('common.back')}</CancelButton>}
      onSubmit={async (data) => {
        const r = await call(client.POST('/api/v1/me/mfa-devices/{id}/activate', { params: { path: { id: pending.id } }, body: readTwoCodes(data) }));
        onAssigned(r);
      }}
    >
      <p>{t('assign.appStep3')}</p>
      <TwoCodes digits={[6, 6]} />
    </Form>
  );
}
