import { MamoriError } from '../errors.js';
import { newId } from '../crypto/tokens.js';
import { PskcError, parsePskc } from '../hardware-tokens/pskc.js';
import type { Caller } from '../methods/types.js';
import type { Services } from '../services.js';

export interface ImportResult {
  imported: number;
  skipped: Array<{ serial: string; reason: string }>;
}

/** The key (hex) and passphrase of an encrypted file as the importer takes them; empty means none. */
export function pskcKeys(hex: string | undefined, password: string | undefined): { psk?: Buffer; password?: string } {
  return { ...(hex ? { psk: Buffer.from(hex, 'hex') } : {}), ...(password ? { password } : {}) };
}

/**
 * Imports a vendor's PSKC file into the token inventory. The file is checked whole first (MACs,
 * decryption): one bad key package refuses the whole file. Serials already in the inventory are
 * skipped and reported, so a re-run of the same file is harmless.
 */
export async function importHardwareTokens(
  s: Pick<Services, 'audit' | 'clock' | 'store' | 'box' | 'hardwareTokens'>,
  xml: string | Buffer,
  keys: { psk?: Buffer; password?: string },
  actor: string,
  caller: Caller,
): Promise<ImportResult> {
  let parsed;
  try {
    parsed = await parsePskc(xml, keys);
  } catch (err) {
    if (err instanceof PskcError) {
      await s.audit.append({ type: 'hardware_tokens_import_failed', actor, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: err.code } });
      throw new MamoriError('validation_failed', `The PSKC file was refused (${err.code}): ${err.message}`, { reason: err.code });
    }
    throw err;
  }
  const now = s.clock.now();
  const result: ImportResult = { imported: 0, skipped: [] };
  await s.store.db.transaction().execute(async (trx) => {
    const inventory = s.hardwareTokens.within(trx);
    for (const key of parsed) {
      if (await inventory.findBySerial(key.serial)) {
        result.skipped.push({ serial: key.serial, reason: 'duplicate_serial' });
        continue;
      }
      const id = newId();
      const sealed = s.box.seal(key.secret, `hardware-token:${id}`);
      key.secret.fill(0);
      const added = await inventory.add({
        id,
        serial: key.serial,
        manufacturer: key.manufacturer ?? null,
        model: key.model ?? null,
        otp_kind: key.kind,
        algorithm: key.algorithm,
        digits: key.digits,
        period: key.period,
        t0: key.t0,
        // Exact: parsePskc refuses counters above 2^53 − 1.
        counter: Number(key.counter),
        secret_sealed: sealed.value,
        secret_key_id: sealed.keyId,
        imported_at: now,
        assigned_user_id: null,
        assigned_device_id: null,
      });
      // A concurrent import of the same serial committed after the check above: the serial is
      // reported as skipped instead of a 500.
      if (!added) {
        result.skipped.push({ serial: key.serial, reason: 'duplicate_serial' });
        continue;
      }
      result.imported++;
    }
  });
  await s.audit.append({
    type: 'hardware_tokens_imported',
    actor,
    ip: caller.ip,
    userAgent: caller.userAgent,
    detail: { imported: result.imported, skipped: result.skipped.length },
  });
  return result;
}

export async function listHardwareTokens(s: Pick<Services, 'hardwareTokens'>) {
  const rows = await s.hardwareTokens.list();
  return rows.map((r) => ({
    serial: r.serial,
    kind: r.otp_kind,
    algorithm: r.algorithm,
    digits: r.digits,
    period: r.period,
    manufacturer: r.manufacturer,
    model: r.model,
    assignedTo: r.assignedTo,
  }));
}
