import type { SecretBox } from '../crypto/secret-box.js';
import type { Services } from '../services.js';

/**
 * Re-seals every secret at rest under the newest master key, row by row, each with a conditional
 * UPDATE on the old key id, so a concurrent rotation or a crash halfway leaves every row readable.
 */
export async function rotateSecrets(s: Services, box: SecretBox = s.box): Promise<{ devices: number; tokens: number }> {
  let devices = 0;
  let tokens = 0;
  const staleDevices = await s.store.db
    .selectFrom('mfa_devices')
    .select(['id', 'secret_sealed', 'secret_key_id'])
    .where('secret_sealed', 'is not', null)
    .where('secret_key_id', '!=', box.currentKeyId)
    .execute();
  for (const d of staleDevices) {
    const aad = `mfa-device:${d.id}`;
    const plain = box.open({ keyId: d.secret_key_id!, value: d.secret_sealed! }, aad);
    const sealed = box.seal(plain, aad);
    plain.fill(0);
    const r = await s.store.db
      .updateTable('mfa_devices')
      .set({ secret_sealed: sealed.value, secret_key_id: sealed.keyId })
      .where('id', '=', d.id)
      .where('secret_key_id', '=', d.secret_key_id)
      .executeTakeFirst();
    devices += Number(r.numUpdatedRows);
  }
  const staleTokens = await s.store.db
    .selectFrom('hardware_tokens')
    .select(['id', 'secret_sealed', 'secret_key_id'])
    .where('secret_key_id', '!=', box.currentKeyId)
    .execute();
  for (const t of staleTokens) {
    const aad = `hardware-token:${t.id}`;
    const plain = box.open({ keyId: t.secret_key_id, value: t.secret_sealed }, aad);
    const sealed = box.seal(plain, aad);
    plain.fill(0);
    const r = await s.store.db
      .updateTable('hardware_tokens')
      .set({ secret_sealed: sealed.value, secret_key_id: sealed.keyId })
      .where('id', '=', t.id)
      .where('secret_key_id', '=', t.secret_key_id)
      .executeTakeFirst();
    tokens += Number(r.numUpdatedRows);
  }
  await s.audit.append({ type: 'master_key_rotated', actor: 'cli', detail: { keyId: box.currentKeyId, devices, tokens } });
  return { devices, tokens };
}
