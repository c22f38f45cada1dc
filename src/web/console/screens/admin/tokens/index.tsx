import { AdminLayout } from '../layout';

export function TokensPage() {
  return <AdminLayout>{null}</AdminLayout>;
}
