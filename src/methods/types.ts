import type { Transaction } from 'kysely';
import type { TSchema } from 'typebox';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { MailMessage } from '../mail/messages.js';
import type { AuditEntry } from '../store/audit.js';
import type { ChallengeRepository } from '../store/challenges.js';
import type { DeviceRepository, NewDevice } from '../store/devices.js';
import type { HardwareTokenRepository } from '../store/hardware-tokens.js';
import type { RecoveryCodeRepository } from '../store/recovery-codes.js';
import type { Database, MfaDevice, User } from '../store/schema.js';
import type { UserRepository } from '../store/users.js';
import type { PasswordHasher } from './password/hasher.js';

/** Who is asking: recorded in the audit log and used by the per-address budget. */
export interface Caller {
  ip: string | null;
  userAgent: string | null;
}

/** What a verified second factor contributes to the session (RFC 8176 `amr` values). */
export interface VerifiedFactor {
  amr: string[];
  /** A passkey or security key: bound to the origin, so a phishing site cannot relay it. */
  phishingResistant?: boolean;
  deviceId?: string;
  deviceName?: string;
}

/**
 * A second factor that checked out but is not used up yet. The flow consumes it inside the
 * transaction that also settles the attempt, records the audit events and opens or raises the
 * session, so either all of that commits or none of it.
 */
export interface Proof extends VerifiedFactor {
  /** Uses the proof up; false when a concurrent request used it first (then it counts as a failure). */
  consume(trx: Transaction<Database>): Promise<boolean>;
  /** What using it means beyond the session: audit events (in the same transaction) and a notice mailed after commit. */
  aftermath?(trx: Transaction<Database>): Promise<{ audit: AuditEntry[]; notice?: MailMessage }>;
}

export type Purpose = 'sign_in' | 'step_up';

/** Words the console and the mails show, as i18n keys of the console's catalogs and plain labels for mail. */
export interface Label {
  en: string;
  ja: string;
}

/** One input the console asks for: a text field, a code field, or a browser ceremony. */
export interface FieldUi {
  name: string;
  kind: 'text' | 'code' | 'webauthn';
  label: Label;
}

/** A new device made by an assignment: its row, and the possession it proved (RFC 8176 `amr`). */
export interface AssignedDevice {
  device: NewDevice;
  amr: string[];
  phishingResistant?: boolean;
  /** Work in the assigning transaction beyond storing the row (claiming an inventory token, say); false: refused. */
  claim?(trx: Transaction<Database>): Promise<boolean>;
}

export interface AssignContext {
  user: User;
  caller: Caller;
  now: number;
}

/**
 * One way to assign an MFA device: `POST /api/v1/me/mfa-devices/{path}` with `startBody`. It
 * either makes an active device at once (a security key, a hardware token proven by two codes)
 * or a pending one that `POST …/{id}/activate` with `activateBody` confirms (an app's secret,
 * shown once, proven by two consecutive codes).
 */
export interface Assignment {
  readonly path: string;
  readonly deviceType: string;
  readonly startBody: TSchema;
  readonly ui: { label: Label; description: Label; fields: FieldUi[] };
  /** `POST …/{path}-options`: what the browser needs before it can answer (WebAuthn creation options). */
  options?(user: User): Promise<unknown>;
  start(ctx: AssignContext, body: Record<string, unknown>): Promise<{ active: AssignedDevice } | { pending: NewDevice; answer: Record<string, unknown> }>;
  readonly activateBody?: TSchema;
  /** Confirms a pending device; null when the proof is wrong. `counter` is the device's first spent counter. */
  activate?(ctx: AssignContext, device: MfaDevice, body: Record<string, unknown>): Promise<{ counter: number | null; amr: string[] } | null>;
}

/**
 * One second factor, owning its whole life: its id (the `method` at sign-in), its body schemas,
 * its assignment ceremonies, an optional challenge, its verification, whether it is guessable,
 * the public view of its devices and what the console shows for it. Flows and routes iterate the
 * registry (src/methods/registry.ts) and never name a factor.
 */
export interface Factor {
  /** The `method` at sign-in and step-up. */
  readonly id: string;
  /**
   * True for proofs an attacker could guess (codes): their failures count toward the account's
   * MFA budget, and its lock refuses them. A signed WebAuthn assertion cannot be guessed, so a
   * lock an attacker provoked with wrong codes doesn't shut out the owner's security key.
   */
  readonly guessable: boolean;
  /** True for proofs bound to the origin (passkeys, security keys): they reach `urn:mamori:phr`. */
  readonly phishingResistant?: boolean;
  /** The device types this factor holds (none for recovery codes). */
  readonly deviceTypes: readonly string[];
  /** Fields of the sign-in / step-up body besides `method`. */
  readonly proofFields: Record<string, TSchema>;
  readonly ui: { label: Label; deviceLabels: Record<string, Label>; proof: FieldUi[] };
  readonly assignments: readonly Assignment[];
  /**
   * True when the user holds an active credential of this kind. `active` is every active MFA
   * device of the user, whatever its type, listed once by the registry for all the factors.
   */
  isAssigned(userId: string, active: readonly MfaDevice[]): Promise<boolean>;
  /** Options the browser needs before it can answer (`POST /sign-in/mfa/{id}-options`, `/me/step-up/{id}-options`). */
  challenge?(user: User, purpose: Purpose): Promise<unknown>;
  /**
   * Checks the proof; null when it is wrong, used or malformed, or the user holds no credential
   * of this kind (as `isAssigned` would say). Nothing is consumed yet (see
   * Proof.consume). It runs inside `trx`, the transaction that reserved the attempt and will
   * settle it, so the step commits once; every read and write here goes through `trx` (on
   * SQLite's one connection a statement outside it would wait for it forever).
   */
  verify(user: User, input: Record<string, unknown>, caller: Caller, purpose: Purpose, trx: Transaction<Database>): Promise<Proof | null>;
  /** Extra public fields of a device's view (never a secret). */
  view?(device: MfaDevice): Record<string, string>;
  /** Finds two consecutive codes far from now and stores the drift; null: not found. Only for code devices. */
  resync?(device: MfaDevice, code1: string, code2: string, now: number): Promise<{ counter: number; config: string } | null>;
  /** Work in the removing transaction (a hardware token goes back to the inventory). */
  onRemove?(trx: Transaction<Database>, device: MfaDevice): Promise<void>;
}

/** A factor whose codes stand in for a lost device: made with the first device, void with the last. */
export interface BackupCodes {
  newSet(): Promise<{ codes: string[]; hashes: string[] }>;
  store(trx: Transaction<Database>, userId: string, set: { hashes: string[] }): Promise<void>;
  voidAll(trx: Transaction<Database>, userId: string): Promise<void>;
  remaining(userId: string): Promise<number>;
}

/** Passwordless sign-in: a credential that stands in for the password and the second factor. */
export interface Passwordless {
  /** The body of `POST /sign-in/passkey`. */
  readonly body: TSchema;
  options(): Promise<unknown>;
  /** The verified owner, or a refusal reason (always audited). */
  signIn(body: Record<string, unknown>): Promise<{ userId: string; amr: string[]; phishingResistant: boolean } | { refused: string }>;
}

/** What a factor may use; each takes what it needs. */
export interface FactorDeps {
  clock: Clock;
  box: SecretBox;
  hasher: PasswordHasher;
  devices: DeviceRepository;
  users: UserRepository;
  challenges: ChallengeRepository;
  hardwareTokens: HardwareTokenRepository;
  recoveryCodes: RecoveryCodeRepository;
  issuer: () => string;
  /** How far from now a resync looks for two consecutive codes. */
  resyncWindowMinutes: () => number;
  relyingParty: () => { id: string; origin: string; name: string };
  /** A WebAuthn signature counter went backwards: record and tell the owner. */
  /** `trx`: the transaction of the step that met the clone; its audit event commits with it. */
  onCloneSuspected: (device: MfaDevice, stored: number, presented: number, trx?: Transaction<Database>) => Promise<void>;
}

/**
 * How a factor is registered: a function from its dependencies to the factor. A factor may also
 * offer backup codes or passwordless sign-in.
 */
export type FactorModule = (deps: FactorDeps) => Factor & { backup?: BackupCodes; passwordless?: Passwordless };
