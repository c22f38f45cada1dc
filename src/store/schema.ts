import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The one schema definition: every repository's types flow from here.
 * Times are integer milliseconds since the epoch (UTC); flags are 0/1 integers so the same SQL
 * runs on SQLite and PostgreSQL.
 */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'user';
  locale: 'en' | 'ja';
  password_hash: string | null;
  password_changed_at: number | null;
  disabled: number;
  created_at: number;
  last_sign_in_at: number | null;
  /** 64 random bytes, base64url: the WebAuthn user handle, free of personal data. */
  webauthn_user_handle: string;
  /** 1 after an administrator forced a password change: the next sign-in allows only that. */
  force_password_change: number;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  aal: number;
  amr: string;
  /** 1 while the session may only assign an MFA device (policy demands it and the user has none). */
  mfa_setup_only: number;
  /** 1 while the session may only set a new password (an administrator forced a change). */
  password_change_only: number;
  created_at: number;
  signed_in_at: number;
  mfa_verified_at: number | null;
  /** When a phishing-resistant factor (a passkey or security key) last proved the user in this session. */
  phr_verified_at: number | null;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
  ip: string | null;
  user_agent: string | null;
}

export interface SignInTransactionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  /** What the sign-in waits for: an emailed code or a second factor. */
  step: 'email_code' | 'mfa';
  amr: string;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
  ip: string | null;
  user_agent: string | null;
}

export interface EmailCodesTable {
  id: string;
  transaction_id: string;
  user_id: string;
  code_hmac: string;
  attempts: number;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  voided_at: number | null;
}

/**
 * MFA devices of every kind. What all kinds share is a column; what one kind alone has lives in
 * `config`, a versioned JSON document its factor checks against its own schema (src/methods/*).
 */
export interface MfaDevicesTable {
  id: string;
  user_id: string;
  /** The device type, one of a factor's `deviceTypes` (`totp`, `hardware_totp`, `webauthn`, …). */
  type: string;
  name: string;
  status: 'pending' | 'active';
  created_at: number;
  activated_at: number | null;
  last_used_at: number | null;
  /** A sealed secret (an OTP key), with the id of the master key that sealed it. */
  secret_sealed: string | null;
  secret_key_id: string | null;
  /**
   * The single-use counter: an OTP device's last accepted time step or HOTP counter (only moves
   * forward), a WebAuthn credential's signature counter (compare-and-swap).
   */
  counter: number | null;
  /** A value unique across all devices that sign-in looks devices up by (a WebAuthn credential id). */
  lookup_key: string | null;
  config: string;
}

export interface HardwareTokensTable {
  id: string;
  serial: string;
  manufacturer: string | null;
  model: string | null;
  otp_kind: 'totp' | 'hotp';
  algorithm: 'SHA1' | 'SHA256' | 'SHA512';
  digits: number;
  period: number;
  t0: number;
  counter: number;
  secret_sealed: string;
  secret_key_id: string;
  imported_at: number;
  assigned_user_id: string | null;
  assigned_device_id: string | null;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  batch_id: string;
  code_hash: string;
  /** The public part of a code, unique among the user's live codes; null for codes from before migration 007. */
  lookup_id: string | null;
  created_at: number;
  used_at: number | null;
  voided_at: number | null;
}

export interface WebauthnChallengesTable {
  id: string;
  token_hash: string;
  user_id: string | null;
  purpose: 'register' | 'sign_in_mfa' | 'passkey' | 'step_up';
  challenge: string;
  created_at: number;
  expires_at: number;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  user_id: string | null;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: string;
  instance: string | null;
  prev_hash: string;
  hash: string;
  /** 1: plain SHA-256 (rows from before the key); 2: HMAC-SHA256 under the audit key; 3: HMAC on a per-instance chain. */
  chain_version: Generated<number>;
  /** Version 3: the writing process's chain (a head row in audit_chains); null on the single chain from before migration 012. */
  chain: string | null;
  /** Version 3: the row's place on its chain, 1, 2, ... */
  chain_seq: number | null;
}

/**
 * The head of one audit chain (migration 012): each process appends to its own, locking only this
 * row. Reserved names: `legacy` (where the single chain from before 012 ended) and `checkpoints`
 * (the head of the checkpoint chain).
 */
export interface AuditChainsTable {
  chain: string;
  /** The newest event's id and hash (0 and the genesis hash before the first). */
  head_id: number;
  head_hash: string;
  /** Events on the chain: the newest one's chain_seq. */
  events: number;
  /** `events` as the newest checkpoint recorded it; a chain with more has moved since. */
  checkpointed: number;
  instance: string | null;
  created_at: number;
  updated_at: number;
}

/** A signed checkpoint: the heads of the chains that moved since the previous one, chained to it. */
export interface AuditCheckpointsTable {
  /** 1, 2, ... in the order they were written. */
  id: number;
  at: number;
  instance: string | null;
  /** JSON `[[chain, events, head_id, head_hash], ...]`, sorted by chain: the exact text the MAC covers. */
  heads: string;
  prev_hash: string;
  hash: string;
}

/**
 * One attempt budget (see src/regulation/): a failure count and the attempts reserved but not
 * yet settled. Keys name what is counted, e.g. `password:user:<id>` or `address:<ip>`.
 */
export interface AttemptBudgetsTable {
  key: string;
  /** Consecutive failures, or failures in the current window for windowed budgets. */
  failures: number;
  /** Attempts reserved and not yet settled; void once `lease_until` passes (a crashed request). */
  pending: number;
  lease_until: number;
  window_start: number;
  /** No attempt before this time (a back-off, or a timed lock). */
  blocked_until: number | null;
  /** Locked until an administrator lifts it. */
  locked_at: number | null;
  last_failure_at: number | null;
  /** When a refusal of this budget was last audited (one event per window, not one per request). */
  refusal_audited_at: number | null;
  updated_at: number;
}

export interface InvitationsTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface UserGroupsTable {
  user_id: string;
  /** A group name (lower-case letters, digits, `-`, `_`, `.`); the role is a group too, implicitly. */
  name: string;
  created_at: number;
}

/** An OpenID Connect client (relying party), served read-only to the OpenID Connect library. */
export interface OidcClientsTable {
  /** The client_id. */
  id: string;
  name: string;
  /** Confidential clients: the secret, sealed under the master key; null for public clients. */
  secret_sealed: string | null;
  secret_key_id: string | null;
  /** JSON arrays of exact URIs. */
  redirect_uris: string;
  post_logout_redirect_uris: string;
  public: number;
  /** 1: a consent screen before the first grant (first-party clients skip it). */
  third_party: number;
  /** The lowest level the client accepts (`urn:mamori:aal2`, …), or null for any. */
  min_acr: string | null;
  /** JSON array of groups whose members may use the client; empty: everyone. */
  allowed_groups: string;
  created_at: number;
}

/** Every model the OpenID Connect library stores (sessions, grants, codes, tokens, interactions…), one row each. */
export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: string;
  /** The user the row was issued for (sessions, grants, codes, tokens), so all of them end together. */
  account_id: string | null;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: number | null;
  consumed_at: number | null;
  created_at: number;
}

/** Token signing keys (ES256): published when made, signing from `signs_from`, retired when a newer one signs. */
export interface SigningKeysTable {
  /** The key id (`kid`). */
  id: string;
  alg: string;
  public_jwk: string;
  /** The private key (PKCS#8 DER), sealed under the master key. */
  secret_sealed: string;
  secret_key_id: string;
  created_at: number;
  signs_from: number;
  retired_at: number | null;
}

/** The MFA grace period of a user under MAMORI_REQUIRE_MFA (migration 009). */
export interface MfaGraceTable {
  user_id: string;
  /** The user's first sign-in under the rule without an MFA device: the grace days count from it. */
  started_at: number;
  /** A deadline an administrator's removal of the last device set (a fresh 24 h); it replaces the counted one. */
  until: number | null;
}

export interface Database {
  mfa_grace: MfaGraceTable;
  users: UsersTable;
  sessions: SessionsTable;
  sign_in_transactions: SignInTransactionsTable;
  email_codes: EmailCodesTable;
  mfa_devices: MfaDevicesTable;
  hardware_tokens: HardwareTokensTable;
  recovery_codes: RecoveryCodesTable;
  webauthn_challenges: WebauthnChallengesTable;
  audit_events: AuditEventsTable;
  audit_chains: AuditChainsTable;
  audit_checkpoints: AuditCheckpointsTable;
  attempt_budgets: AttemptBudgetsTable;
  settings: SettingsTable;
  invitations: InvitationsTable;
  user_groups: UserGroupsTable;
  oidc_clients: OidcClientsTable;
  oidc_payloads: OidcPayloadsTable;
  signing_keys: SigningKeysTable;
  recovery_requests: RecoveryRequestsTable;
  known_browsers: KnownBrowsersTable;
  admin_approvals: AdminApprovalsTable;
  remembered_browsers: RememberedBrowsersTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type SignInTransaction = Selectable<SignInTransactionsTable>;
export type MfaDevice = Selectable<MfaDevicesTable>;
export type HardwareToken = Selectable<HardwareTokensTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
export type AttemptBudget = Selectable<AttemptBudgetsTable>;
export type OidcClient = Selectable<OidcClientsTable>;
export type SigningKey = Selectable<SigningKeysTable>;
export type RecoveryRequest = Selectable<RecoveryRequestsTable>;
export type KnownBrowser = Selectable<KnownBrowsersTable>;

/**
 * "I lost my MFA devices" (migration 010): a mailed link (single use, 1 h) that, once confirmed,
 * starts a 24-hour cooling-off; only after it may the user sign in with password + emailed code
 * and assign a new device. Both tokens are kept as SHA-256 only.
 */
export interface RecoveryRequestsTable {
  id: string;
  user_id: string;
  /** The link's token: valid one hour from `requested_at`, until confirmed. */
  token_hash: string;
  /** The token of the cancel link mailed when the cooling-off starts. */
  cancel_token_hash: string | null;
  requested_at: number;
  confirmed_at: number | null;
  /** The end of the cooling-off (`confirmed_at` + 24 h). */
  cooling_until: number | null;
  /** The emailed-code sign-in that deactivated the old devices. */
  completed_at: number | null;
  /** Cancelled by the user (mail or session), voided by a sign-in with MFA, or superseded. */
  cancelled_at: number | null;
  /** Set once, by whichever run claims the "cooling-off ended" mail first. */
  ended_mail_sent_at: number | null;
  /** The cancel link of the "cooling-off ended" mail (the first one cannot be mailed again: only its hash is kept). */
  ended_cancel_token_hash: string | null;
  /** The half-finished sign-in (password accepted after the cooling-off) that may complete this request. */
  sign_in_id: string | null;
  ip: string | null;
  user_agent: string | null;
}

/** Browsers a user has signed in from: the hash of the long-lived `mamori_browser` cookie, per user (migration 010). */
export interface KnownBrowsersTable {
  id: string;
  user_id: string;
  token_hash: string;
  first_seen_at: number;
  last_seen_at: number;
  user_agent: string | null;
  ip: string | null;
}
export type MfaGrace = Selectable<MfaGraceTable>;

/**
 * The two-person rule (migration 011): an administrator's act on another user, waiting for a
 * second administrator. `status` leaves `pending` once; a pending row past `expires_at` is expired.
 */
export interface AdminApprovalsTable {
  id: string;
  /** `remove_mfa_device`, `remove_all_mfa_devices` or `update_user` (src/flows/approvals.ts). */
  action: string;
  target_user_id: string;
  /** JSON: what the act needs (the device, the changes), checked again when it is executed. */
  payload: string;
  requested_by: string;
  requested_at: number;
  expires_at: number;
  approved_by: string | null;
  approved_at: number | null;
  executed_at: number | null;
  cancelled_at: number | null;
  cancelled_by: string | null;
  failed_at: number | null;
  /** The code of the act's refusal when it could not be carried out after the approval. */
  failure: string | null;
  status: 'pending' | 'executed' | 'cancelled' | 'failed';
}
export type AdminApproval = Selectable<AdminApprovalsTable>;

/**
 * "Remember this browser" (migration 013): a grant to skip the second factor in one browser for
 * one user, found by the SHA-256 of its `mamori_remember` cookie, until `expires_at` or revoked.
 */
export interface RememberedBrowsersTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  /** The last sign-in it stood in for the second factor. */
  last_used_at: number | null;
  revoked_at: number | null;
  ip: string | null;
  user_agent: string | null;
  /** The device that proved the second factor when it was granted (null: a recovery code). */
  device_id: string | null;
  /** JSON array: that proof's RFC 8176 methods. */
  amr: string;
}
export type RememberedBrowser = Selectable<RememberedBrowsersTable>;
