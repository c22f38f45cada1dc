import { AdminLayout } from '../layout';

export function ClientsPage() {
  return <AdminLayout>{null}</AdminLayout>;
}
