import { t } from '../../i18n';
import { Page } from '../../ui/page';

export function ConsentPage() {
  return <Page title={t('consent.title')} />;
}
