import type { SecretBox } from '../crypto/secret-box.js';
import type { Services } from '../services.js';
import type { SealedTable } from '../store/sealed-secrets.js';

/** The tables that hold sealed secrets, and the associated data each row's secret was sealed with. */
const SEALED: ReadonlyArray<{ table: SealedTable; aad: (id: string) => string }> = [
  { table: 'mfa_devices', aad: (id) => `mfa-device:${id}` },
  { table: 'hardware_tokens', aad: (id) => `hardware-token:${id}` },
  { table: 'oidc_clients', aad: (id) => `oidc-client:${id}` },
  { table: 'signing_keys', aad: (id) => `signing-key:${id}` },
];

/**
 * Re-seals every secret at rest under the newest master key, row by row, each with a conditional
 * UPDATE on the old key id, so a concurrent rotation or a crash halfway leaves every row readable.
 */
export async function rotateSecrets(
  s: Pick<Services, 'box' | 'sealedSecrets' | 'audit' | 'sharedSecrets'>,
  box: SecretBox = s.box,
): Promise<{ devices: number; tokens: number; auditKey: boolean }> {
  const counts: number[] = [];
  for (const { table, aad } of SEALED) {
    let n = 0;
    for (const row of await s.sealedSecrets.sealedUnderOtherKeys(table, box.currentKeyId)) {
      const plain = box.open(row.sealed, aad(row.id));
      const sealed = box.seal(plain, aad(row.id));
      plain.fill(0);
      if (await s.sealedSecrets.replace(table, row.id, row.sealed.keyId, sealed)) n++;
    }
    counts.push(n);
  }
  const [devices = 0, tokens = 0] = counts;
  // The audit key itself stays the same (so every keyed row still verifies); only its seal changes.
  const auditKey = await s.sealedSecrets.resealAuditKey(box);
  await s.sharedSecrets.reseal(box);
  await s.audit.append({ type: 'master_key_rotated', actor: 'cli', detail: { keyId: box.currentKeyId, devices, tokens, auditKey } });
  return { devices, tokens, auditKey };
}
