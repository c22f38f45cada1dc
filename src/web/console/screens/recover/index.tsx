import { t } from '../../i18n';
import { Page } from '../../ui/page';

export function LostDevicesPage() {
  return <Page title={t('lost.title')} />;
}
export function RecoverPage() {
  return <Page title={t('recover.title')} />;
}
export function RecoverCancelPage() {
  return <Page title={t('recoverCancel.title')} />;
}
