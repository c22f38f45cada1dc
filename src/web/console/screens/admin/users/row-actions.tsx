// The buttons of a user's row. Each accessible name starts with the button's visible words and
// names the user ("Disable bob@example.com"), so a list of them can be told apart.
import { t } from '../../../i18n';
import { setDisabled, unlock } from './acts';
import type { AdminUser } from './api';
import { chooseAndDeactivate } from './deactivate';
import { editGroups } from './edit';

export function RowActions({ user: u, self }: { user: AdminUser; self: boolean }) {
  const email = { email: u.email };
  return (
    <div class="row-actions">
      <button type="button" class="btn btn-small" aria-label={t('admin.editGroupsNamed', email)} onClick={() => void editGroups(u)}>
        {t('admin.editGroups')}
      </button>
      {!self && (
        <button type="button" class="btn btn-small" aria-label={t(u.disabled ? 'admin.enableNamed' : 'admin.disableNamed', email)} onClick={() => void setDisabled(u, !u.disabled)}>
          {t(u.disabled ? 'admin.enable' : 'admin.disable')}
        </button>
      )}
      {u.locked && (
        <button type="button" class="btn btn-small" aria-label={t('admin.unlockNamed', email)} onClick={() => void unlock(u)}>
          {t('admin.unlock')}
        </button>
      )}
      {u.mfaDevices > 0 && (
        <button type="button" class="btn btn-small btn-danger" aria-label={t('admin.deactivateNamed', email)} onClick={() => void chooseAndDeactivate(u)}>
          {t('admin.deactivate')}
        </button>
      )}
    </div>
  );
}
