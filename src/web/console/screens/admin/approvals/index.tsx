import { AdminLayout } from '../layout';

export function ApprovalsPage() {
  return <AdminLayout>{null}</AdminLayout>;
}
