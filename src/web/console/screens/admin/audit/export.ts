import { call, client } from '../../../api/client';
import { withStepUp } from '../../sign-in/step-up';
import { apiFilter, type AuditFilter } from './query';
import { saveFile } from '../../../ui/download';

/** The filtered log as JSON lines (every field, oldest first), as `mamori audit export` writes it. */
export async function exportLog(filter: AuditFilter): Promise<void> {
  const text = await withStepUp(() => call(client.GET('/api/v1/admin/audit/export', { params: { query: apiFilter(filter) }, parseAs: 'text' })));
  saveFile(`audit-${new Date().toISOString().slice(0, 10)}.jsonl`, text, 'application/x-ndjson');
}
