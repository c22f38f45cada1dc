import { t } from '../../i18n';
import { Page } from '../../ui/page';

export function SecurityPage() {
  return <Page title={t('security.title')} />;
}
