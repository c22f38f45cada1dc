import { t } from '../../i18n';
import { Page } from '../../ui/page';

export function SetupPage() {
  return <Page title={t('setup.title')} />;
}
