import { call, client } from '../../../api/client';
import { withStepUp } from '../../sign-in/step-up';
import { apiFilter, type AuditFilter } from './query';

/** Offers `text` as a file download (a link clicked from code; nothing is kept). */
function saveFile(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The filtered log as JSON lines (every field, oldest first), as `mamori audit export` writes it. */
export async function exportLog(filter: AuditFilter): Promise<void> {
  const text = await withStepUp(() => call(client.GET('/api/v1/admin/audit/export', { params: { query: apiFilter(filter) }, parseAs: 'text' })));
  saveFile(`audit-${new Date().toISOString().slice(0, 10)}.jsonl`, text, 'application/x-ndjson');
}
