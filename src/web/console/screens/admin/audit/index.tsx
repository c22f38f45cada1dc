import { AdminLayout } from '../layout';

export function AuditPage() {
  return <AdminLayout>{null}</AdminLayout>;
}
