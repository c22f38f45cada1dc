import { t } from '../../i18n';
import { Page } from '../../ui/page';

export function SignInPage() {
  return <Page title={t('signIn.title')} />;
}
