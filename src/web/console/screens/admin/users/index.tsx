// Administration → Users: the users list (search, MFA filter, add user) and the credential report.
import { AdminLayout } from '../layout';
import { UsersPanel } from './list';
import { ReportPanel } from './report';
import './users.css';

export function UsersPage() {
  return (
    <AdminLayout>
      <UsersPanel />
      <ReportPanel />
    </AdminLayout>
  );
}
