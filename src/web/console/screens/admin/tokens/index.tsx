// Administration → Hardware TOTP tokens: import a vendor's PSKC file, then the inventory users
// assign their tokens from (by serial number, under Security credentials).
import { t } from '../../../i18n';
import { Panel } from '../../../ui/page';
import { AdminLayout } from '../layout';
import { ImportForm } from './import';
import { Inventory } from './inventory';
import './tokens.css';

export function TokensPage() {
  return (
    <AdminLayout>
      <Panel title={t('admin.tokensImportTitle')} description={t('admin.tokensText')}>
        <div class="panel-body">
          <ImportForm />
        </div>
      </Panel>
      <Panel title={t('admin.tokensInventory')} description={t('admin.tokensInventoryText')}>
        <div class="panel-body">
          <Inventory />
        </div>
      </Panel>
    </AdminLayout>
  );
}
