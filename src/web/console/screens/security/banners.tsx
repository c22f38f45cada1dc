// The banners at the top of Security credentials: no MFA device yet (required now, required by a
// date, or only advised: an emailed code is weak protection), and an account recovery under way.
import { call, client } from '../../api/client';
import { fmtDate, t } from '../../i18n';
import { changed, useLoad } from '../../store';
import { Alert } from '../../ui/alert';
import { announce } from '../../ui/announce';
import { ActionButton } from '../../ui/button';

/**
 * Without a device. No button of its own: the one "Assign MFA device" button is in the MFA
 * panel right below, and two identical buttons only make people wonder which is which.
 */
export function MfaBanner({ setupOnly, deadline }: { setupOnly: boolean; deadline: string | null }) {
  // MFA is required but the grace still runs (MAMORI_MFA_GRACE_DAYS): say until when.
  const date = !setupOnly && deadline ? { date: fmtDate(deadline) } : null;
  const title = date ? t('security.mfaDeadlineTitle', date) : t(setupOnly ? 'security.mfaRequiredTitle' : 'security.noMfaTitle');
  const text = date ? t('security.mfaDeadline', date) : t(setupOnly ? 'security.mfaRequired' : 'security.noMfa');
  return (
    <div class="banner-slot">
      <Alert kind={setupOnly ? 'error' : 'warning'} title={title}>
        <p>{text}</p>
      </Alert>
    </div>
  );
}

const loadRecovery = () => call(client.GET('/api/v1/me/recovery'));

/** Someone asked to recover this account without its devices: the owner, signed in, can stop it. */
export function RecoveryBanner() {
  const { data } = useLoad(loadRecovery);
  const rec = data?.recovery;
  if (!rec) return null;
  const text =
    rec.status === 'link_sent'
      ? t('recovery.linkSent', { time: fmtDate(rec.requestedAt) })
      : rec.status === 'cooling_off'
        ? t('recovery.coolingOff', { time: fmtDate(rec.coolingUntil) })
        : t('recovery.ready');
  return (
    <div class="banner-slot">
      <Alert kind="error" title={t('recovery.bannerTitle')}>
        <p>{text}</p>
        <p>{t('recovery.notYou')}</p>
        <div class="form-actions">
          <ActionButton
            variant="danger"
            action={async () => {
              await call(client.DELETE('/api/v1/me/recovery'));
              announce(t('recovery.cancelled'));
              changed();
            }}
          >
            {t('recovery.cancel')}
          </ActionButton>
        </div>
      </Alert>
    </div>
  );
}
