// A user's own page (#/admin/user?id=…): their details and acts, MFA devices, sessions and recent
// activity. Loaded again after every change, like every panel.
import { t } from '../../../i18n';
import { route } from '../../../router';
import { useLoad } from '../../../store';
import { Loading } from '../../../ui/page';
import { AdminError, AdminLayout } from '../layout';
import { loadUser } from './api';
import { UserActivity } from './user-activity';
import { UserDetails } from './user-details';
import { UserDevices } from './user-devices';
import { UserSessions } from './user-sessions';
import './users.css';

export function UserPage() {
  const id = route.value.params.get('id') ?? '';
  const user = useLoad(() => loadUser(id), [id]);
  const u = user.data;
  return (
    <AdminLayout>
      <p class="back-link">
        <a href="#/admin/users">
          <span aria-hidden="true">← </span>
          {t('admin.backToUsers')}
        </a>
      </p>
      <AdminError error={user.error} />
      {u === undefined ? (
        !user.error && <Loading />
      ) : (
        <>
          <UserDetails user={u} />
          <UserDevices user={u} />
          <UserSessions user={u} />
          <UserActivity user={u} />
        </>
      )}
    </AdminLayout>
  );
}
