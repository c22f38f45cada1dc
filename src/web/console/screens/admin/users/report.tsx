// The credential report: one CSV row a user (password age, MFA devices, last sign-in, lockouts).
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { announce } from '../../../ui/announce';
import { ActionButton } from '../../../ui/button';
import { Panel } from '../../../ui/page';
import { withStepUp } from '../../sign-in/step-up';
import { saveFile } from '../../../ui/download';

async function download(): Promise<void> {
  const csv = await withStepUp(() => call(client.GET('/api/v1/admin/credential-report', { parseAs: 'text' })));
  saveFile(`credential-report-${new Date().toISOString().slice(0, 10)}.csv`, csv, 'text/csv;charset=utf-8');
  announce(t('admin.reportSaved'));
}

export function ReportPanel() {
  return (
    <Panel title={t('admin.report')} description={t('admin.reportText')}>
      <div class="panel-body">
        <ActionButton action={download}>{t('admin.reportDownload')}</ActionButton>
      </div>
    </Panel>
  );
}
