import { AdminLayout } from '../layout';

export function UserPage() {
  return <AdminLayout>{null}</AdminLayout>;
}
