// Security credentials (#/security): the signed-in user's own page, reached from the account
// menu. The device list is loaded here once and handed to every part that depends on it (the
// banner, the MFA panel, the recovery codes), so one change redraws them all together.
import { useEffect, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { ensureFactors, notice, session, useLoad } from '../../store';
import { Alert } from '../../ui/alert';
import { Page } from '../../ui/page';
import { ActivityPanel } from './activity';
import { MfaBanner, RecoveryBanner } from './banners';
import { RememberedPanel } from './browsers';
import { DevicesPanel } from './devices';
import { loadDevices } from './parts';
import { PasswordPanel } from './password';
import { RecoveryPanel } from './recovery';
import { SessionsPanel } from './sessions';
import './security.css';

/** The one-time word the previous page left ("You have signed in again"), taken once. */
function useNotice() {
  const [shown] = useState(() => notice.value);
  useEffect(() => {
    notice.value = null;
  }, []);
  return shown;
}

export function SecurityPage() {
  const s = session.value;
  const devices = useLoad(loadDevices);
  const once = useNotice();
  useEffect(() => {
    void ensureFactors();
  }, []);
  if (!s) return null;
  const setupOnly = s.mfaSetupRequired;
  const list = devices.data?.devices;
  // Children keep their places (false holds a slot), so a panel is never remounted under an open dialog.
  return (
    <Page title={t('security.title')} lead={t('security.lead', { email: s.user.email })}>
      {once && (
        <Alert kind={once.kind}>
          <p>{once.text}</p>
        </Alert>
      )}
      {list !== undefined && list.length === 0 && <MfaBanner setupOnly={setupOnly} deadline={s.mfaSetupDeadline} />}
      {!setupOnly && <RecoveryBanner />}
      <DevicesPanel loaded={devices} />
      {setupOnly && <p class="muted">{t('security.setupOnlyRest')}</p>}
      {!setupOnly && <RecoveryPanel devices={list} />}
      {!setupOnly && <PasswordPanel email={s.user.email} />}
      {!setupOnly && <SessionsPanel />}
      {!setupOnly && <RememberedPanel />}
      {!setupOnly && <ActivityPanel devices={list} />}
    </Page>
  );
}
