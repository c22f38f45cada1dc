import { recoveryCodeFactor } from './recovery-code/index.js';
import { otpFactor } from './totp/index.js';
import type { MfaDevice } from '../store/schema.js';
import type { Assignment, BackupCodes, Factor, FactorDeps, FactorModule, Passwordless } from './types.js';
import { webauthnFactor } from './webauthn/index.js';

/**
 * The one list of second factors, in the order the console offers them. Adding a factor is one
 * folder under src/methods/ and one line here (or, for a deployment or a test, one more entry
 * in the list given to createServices).
 */
export const FACTORS: readonly FactorModule[] = [webauthnFactor, otpFactor, recoveryCodeFactor];

/** The factors of this process, looked up by what the flows and routes have at hand. */
export class FactorRegistry {
  readonly all: readonly Factor[];
  readonly backup: BackupCodes | undefined;
  readonly passwordless: Passwordless | undefined;
  readonly #byId = new Map<string, Factor>();
  readonly #byDeviceType = new Map<string, Factor>();

  readonly #devices: FactorDeps['devices'];

  constructor(modules: readonly FactorModule[], deps: FactorDeps) {
    this.#devices = deps.devices;
    const made = modules.map((m) => m(deps));
    this.all = made;
    for (const f of made) {
      if (this.#byId.has(f.id)) throw new Error(`two factors are registered as "${f.id}"`);
      this.#byId.set(f.id, f);
      for (const type of f.deviceTypes) {
        if (this.#byDeviceType.has(type)) throw new Error(`two factors hold devices of type "${type}"`);
        this.#byDeviceType.set(type, f);
      }
    }
    const backups = made.flatMap((f) => (f.backup ? [f.backup] : []));
    const passwordless = made.flatMap((f) => (f.passwordless ? [f.passwordless] : []));
    if (backups.length > 1 || passwordless.length > 1) throw new Error('at most one factor may offer backup codes, and one passwordless sign-in');
    this.backup = backups[0];
    this.passwordless = passwordless[0];
  }

  get(id: string): Factor | undefined {
    return this.#byId.get(id);
  }

  /** The factor that holds devices of this type. */
  ofDeviceType(type: string): Factor | undefined {
    return this.#byDeviceType.get(type);
  }

  /** Every assignment ceremony, with its factor. */
  assignments(): Array<{ factor: Factor; assignment: Assignment }> {
    return this.all.flatMap((factor) => factor.assignments.map((assignment) => ({ factor, assignment })));
  }

  /** The assignment that makes devices of this type. */
  assignmentFor(deviceType: string): Assignment | undefined {
    return this.ofDeviceType(deviceType)?.assignments.find((a) => a.deviceType === deviceType);
  }

  /** The highest level the user's devices can reach: 1 (none), 2 (a second factor), 3 (a phishing-resistant one). */
  async reachable(userId: string): Promise<1 | 2 | 3> {
    const ids = await this.assigned(userId);
    if (ids.some((id) => this.get(id)?.phishingResistant === true)) return 3;
    return ids.length > 0 ? 2 : 1;
  }

  /**
   * Active second factors of a user, in the registry's order. `active`: the user's active MFA
   * devices when the caller has just listed them (one query serves every factor either way).
   */
  async assigned(userId: string, active?: readonly MfaDevice[]): Promise<string[]> {
    const devices = active ?? (await this.#devices.listActive(userId));
    const ids: string[] = [];
    for (const f of this.all) if (await f.isAssigned(userId, devices)) ids.push(f.id);
    return ids;
  }
}
