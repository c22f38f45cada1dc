import { AdminLayout } from '../layout';

export function UsersPage() {
  return <AdminLayout>{null}</AdminLayout>;
}
