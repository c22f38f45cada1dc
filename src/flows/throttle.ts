/**
 * The numbers that bound an attacker's odds (the README's security model quotes them).
 * Password: 5 free failures, then a back-off of 30 s doubling to at most 1 h, and a hard lock at
 * 100 consecutive failures that only an administrator lifts.
 */
export const PASSWORD_FREE_FAILURES = 5;
export const PASSWORD_BACKOFF_BASE_MS = 30_000;
export const PASSWORD_BACKOFF_MAX_MS = 3_600_000;
export const PASSWORD_HARD_LOCK = 100;

/** Second factor: a sign-in dies after 5 wrong codes; 10 consecutive on the account lock it. */
export const MFA_TRIES_PER_SIGN_IN = 5;
export const MFA_LOCK_AFTER = 10;
export const MFA_HARD_STOP = 100;

/** How long the account waits after its `failures`-th consecutive password failure. */
export function passwordBackoffMs(failures: number): number {
  if (failures < PASSWORD_FREE_FAILURES) return 0;
  const exp = Math.min(failures - PASSWORD_FREE_FAILURES, 20);
  return Math.min(PASSWORD_BACKOFF_BASE_MS * 2 ** exp, PASSWORD_BACKOFF_MAX_MS);
}

export function retryAfterSeconds(untilMs: number, now: number): number {
  return Math.max(1, Math.ceil((untilMs - now) / 1000));
}
