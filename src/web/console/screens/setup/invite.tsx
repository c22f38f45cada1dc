import { t } from '../../i18n';
import { Page } from '../../ui/page';

export function InvitePage() {
  return <Page title={t('invite.title')} />;
}
