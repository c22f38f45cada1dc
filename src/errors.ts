/**
 * Every refusal the service makes is a MamoriError with a stable `code` from this table, with
 * the HTTP status it usually means. The HTTP layer renders it as RFC 9457 problem+json (and a
 * route may map a code to another status where the contract says so); the CLI prints its detail.
 */
const problems = {
  validation_failed: [400, 'The request is not valid'],
  invalid_return: [400, 'The return address is not allowed'],
  invalid_code: [401, 'The code is not valid'],
  invalid_credentials: [401, 'The email or password is not correct'],
  invalid_setup_token: [403, 'The setup token is not valid'],
  password_too_weak: [400, 'The password is too weak'],
  webauthn_failed: [400, 'The passkey or security key answer was refused'],
  unauthenticated: [401, 'Sign-in required'],
  forbidden: [403, 'Not allowed'],
  forbidden_origin: [403, 'Cross-site request refused'],
  step_up_required: [403, 'A recent second factor is required'],
  reauthentication_required: [403, 'Sign in again first'],
  mfa_setup_required: [403, 'An MFA device must be assigned first'],
  password_change_required: [403, 'A new password must be chosen first'],
  not_found: [404, 'Not found'],
  setup_already_done: [409, 'Setup is already done'],
  email_taken: [409, 'A user with this email already exists'],
  device_limit_reached: [409, 'The MFA device limit is reached'],
  token_in_use: [409, 'The hardware token is assigned to another user'],
  credential_in_use: [409, 'This credential is registered to another user'],
  last_device: [409, 'The last MFA device cannot be removed while MFA is required'],
  conflict: [409, 'The request conflicts with the current state'],
  // The two-person rule (MAMORI_ADMIN_APPROVALS=2, src/flows/approvals.ts).
  approval_self: [403, 'A second administrator must approve this request, not the one who made it'],
  approval_required: [403, 'This needs a second administrator’s approval, which this request cannot ask for'],
  approval_not_pending: [409, 'The approval request is no longer pending'],
  approval_failed: [409, 'The approved act could not be carried out'],
  approval_expired: [410, 'The approval request has expired'],
  payload_too_large: [413, 'The request body is too large'],
  request_timeout: [408, 'The request did not arrive in time'],
  headers_too_large: [431, 'The request headers are too large'],
  unsupported_media_type: [415, 'Unsupported media type'],
  account_locked: [423, 'The account is locked'],
  mfa_locked: [423, 'Second-factor sign-in is locked for this account'],
  too_many_attempts: [429, 'Too many attempts'],
  internal_error: [500, 'Internal error'],
  service_unavailable: [503, 'Service unavailable'],
} as const satisfies Record<string, readonly [number, string]>;

export type ProblemCode = keyof typeof problems;

/** Every code, for the console's catalogs test (each needs words in every language). */
export const PROBLEM_CODES = Object.keys(problems) as ProblemCode[];

export class MamoriError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    /** Extra members of the problem document, e.g. `reason` or `retryAfter`. */
    readonly extra: Record<string, unknown> = {},
  ) {
    const [status, title] = problems[code];
    super(detail ?? title);
    this.name = 'MamoriError';
    this.status = status;
    this.title = title;
  }
}

/** 429: the caller may retry after `retryAfterSeconds`. */
export class TooManyAttemptsError extends MamoriError {
  constructor(readonly retryAfterSeconds: number, detail = 'Too many attempts; try again later') {
    super('too_many_attempts', detail, { retryAfter: retryAfterSeconds });
    this.name = 'TooManyAttemptsError';
  }
}

export function fail(code: ProblemCode, detail?: string, extra?: Record<string, unknown>): never {
  throw new MamoriError(code, detail, extra);
}
