import type { SecretBox } from '../crypto/secret-box.js';
import type { Services } from '../services.js';
import { resealAuditKey } from '../store/audit-key.js';

/** The tables that hold sealed secrets, and the associated data each row's secret was sealed with. */
const SEALED = [
  { table: 'mfa_devices', aad: (id: string) => `mfa-device:${id}` },
  { table: 'hardware_tokens', aad: (id: string) => `hardware-token:${id}` },
] as const;

/**
 * Re-seals every secret at rest under the newest master key, row by row, each with a conditional
 * UPDATE on the old key id, so a concurrent rotation or a crash halfway leaves every row readable.
 */
export async function rotateSecrets(s: Services, box: SecretBox = s.box): Promise<{ devices: number; tokens: number; auditKey: boolean }> {
  const counts: number[] = [];
  for (const { table, aad } of SEALED) {
    const stale = await s.store.db
      .selectFrom(table)
      .select(['id', 'secret_sealed', 'secret_key_id'])
      .where('secret_sealed', 'is not', null)
      .where('secret_key_id', '!=', box.currentKeyId)
      .execute();
    let n = 0;
    for (const row of stale) {
      const plain = box.open({ keyId: row.secret_key_id!, value: row.secret_sealed! }, aad(row.id));
      const sealed = box.seal(plain, aad(row.id));
      plain.fill(0);
      const r = await s.store.db
        .updateTable(table)
        .set({ secret_sealed: sealed.value, secret_key_id: sealed.keyId })
        .where('id', '=', row.id)
        .where('secret_key_id', '=', row.secret_key_id!)
        .executeTakeFirst();
      n += Number(r.numUpdatedRows);
    }
    counts.push(n);
  }
  const [devices = 0, tokens = 0] = counts;
  // The audit key itself stays the same (so every keyed row still verifies); only its seal changes.
  const auditKey = await resealAuditKey(s.store.db, box);
  await s.audit.append({ type: 'master_key_rotated', actor: 'cli', detail: { keyId: box.currentKeyId, devices, tokens, auditKey } });
  return { devices, tokens, auditKey };
}
