/**
 * The rules that bound an attacker's odds, as data. The README's security model quotes these
 * numbers; src/store/attempts.ts enforces them in SQL and test/unit/regulation.test.ts checks
 * the two against each other.
 *
 * Two shapes of budget:
 * - consecutive: failures in a row (a success resets them). The first `free` failures need no
 *   wait and may be tried side by side; after that one attempt at a time, each failure followed
 *   by the rule's wait; at `hardLock` failures the budget locks until an administrator lifts it.
 * - window: at most `limit` failures per fixed window (a client address, codes sent per hour).
 */
export interface ConsecutiveRule {
  readonly kind: 'consecutive';
  readonly free: number;
  readonly hardLock: number;
  /** The wait after the `failures`-th consecutive failure, in ms, or 'lock'. */
  after(failures: number): number | 'lock';
}

export interface WindowRule {
  readonly kind: 'window';
  readonly limit: number;
  readonly windowMs: number;
}

export type Rule = ConsecutiveRule | WindowRule;

/**
 * A reservation nobody settles (the request's process died) stops holding a place after this
 * long. Far above any real attempt (an argon2id verify takes ~50 ms), so a live slow request is
 * never overtaken.
 */
export const RESERVATION_LEASE_MS = 60_000;

/**
 * An attempt must be settled this long after its reservation, or its outcome is never used (the
 * answer is 503 and nothing is counted or revealed): a request that waited past its lease, in
 * argon2id's queue say, may have lost its place to a newer one. The margin covers clock skew
 * between instances.
 */
export const SETTLE_WITHIN_MS = RESERVATION_LEASE_MS - 10_000;

/** Password: 5 free failures, then 30 s doubling to at most 1 h, and a lock at 100. */
export const PASSWORD_FREE_FAILURES = 5;
export const PASSWORD_BACKOFF_BASE_MS = 30_000;
export const PASSWORD_BACKOFF_MAX_MS = 3_600_000;
export const PASSWORD_HARD_LOCK = 100;

/** How long the account waits after its `failures`-th consecutive password failure. */
export function passwordBackoffMs(failures: number): number {
  if (failures < PASSWORD_FREE_FAILURES) return 0;
  const exp = Math.min(failures - PASSWORD_FREE_FAILURES, 20);
  return Math.min(PASSWORD_BACKOFF_BASE_MS * 2 ** exp, PASSWORD_BACKOFF_MAX_MS);
}

/** One rule for accounts and unknown emails alike, so the two cannot be told apart. */
export const passwordRule: ConsecutiveRule = {
  kind: 'consecutive',
  free: PASSWORD_FREE_FAILURES,
  hardLock: PASSWORD_HARD_LOCK,
  after: (failures) => (failures >= PASSWORD_HARD_LOCK ? 'lock' : passwordBackoffMs(failures)),
};

/** Second factor: a sign-in dies after 5 wrong codes; 10 in a row on the account lock it; 100 stop it. */
export const MFA_TRIES_PER_SIGN_IN = 5;
export const MFA_LOCK_AFTER = 10;
export const MFA_HARD_STOP = 100;

/**
 * Guessable second factors (codes) per account, across sign-ins, step-ups, factors and instances.
 * `lockMinutes` 0: the lock holds until an administrator lifts it; otherwise it lifts itself for
 * one more guess at a time, until the hard stop.
 */
export function mfaRule(lockMinutes: number): ConsecutiveRule {
  return {
    kind: 'consecutive',
    free: MFA_LOCK_AFTER,
    hardLock: MFA_HARD_STOP,
    after: (failures) => {
      if (failures >= MFA_HARD_STOP || (failures >= MFA_LOCK_AFTER && lockMinutes === 0)) return 'lock';
      return failures >= MFA_LOCK_AFTER ? lockMinutes * 60_000 : 0;
    },
  };
}

/** One half-finished sign-in: 5 wrong second factors and it is dead. */
export const signInRule: ConsecutiveRule = {
  kind: 'consecutive',
  free: MFA_TRIES_PER_SIGN_IN,
  hardLock: MFA_TRIES_PER_SIGN_IN,
  after: (failures) => (failures >= MFA_TRIES_PER_SIGN_IN ? 'lock' : 0),
};

/** Failed sign-in steps per client address (the second line of defence; configurable). */
export function addressRule(limit: number, windowMinutes: number): WindowRule {
  return { kind: 'window', limit, windowMs: windowMinutes * 60_000 };
}

/** Emailed sign-in codes: at most 10 sent and never used, and 10 wrong, per account per hour. */
export const EMAIL_CODES_PER_HOUR = 10;
export const EMAIL_CODE_WRONG_PER_HOUR = 10;
export const emailCodeSendRule: WindowRule = { kind: 'window', limit: EMAIL_CODES_PER_HOUR, windowMs: 3_600_000 };
export const emailCodeWrongRule: WindowRule = { kind: 'window', limit: EMAIL_CODE_WRONG_PER_HOUR, windowMs: 3_600_000 };

/**
 * WebAuthn challenges asked for without a session (passwordless sign-in) per client address:
 * each is a row until it expires, so an anonymous caller must not mint them without bound.
 */
export const PASSKEY_CHALLENGES_PER_ADDRESS = 60;
export const passkeyChallengeRule: WindowRule = { kind: 'window', limit: PASSKEY_CHALLENGES_PER_ADDRESS, windowMs: 10 * 60_000 };

/**
 * "I lost my MFA devices" requests: each may mail a link, so they are bounded per account (or
 * unknown email, under the same rule, so the two cannot be told apart) and per client address.
 * A day's window: a real user needs one link, maybe two, and the cooling-off is 24 hours anyway.
 */
export const LOST_DEVICE_LINKS_PER_DAY = 3;
export const LOST_DEVICE_REQUESTS_PER_ADDRESS_PER_HOUR = 20;
export const lostDeviceLinkRule: WindowRule = { kind: 'window', limit: LOST_DEVICE_LINKS_PER_DAY, windowMs: 24 * 3_600_000 };
export const lostDeviceAddressRule: WindowRule = { kind: 'window', limit: LOST_DEVICE_REQUESTS_PER_ADDRESS_PER_HOUR, windowMs: 3_600_000 };

/** The state of one budget as the rules read it. */
export interface BudgetState {
  failures: number;
  pending: number;
  leaseUntil: number;
  windowStart: number;
  blockedUntil: number | null;
  lockedAt: number | null;
}

export const EMPTY_BUDGET: BudgetState = { failures: 0, pending: 0, leaseUntil: 0, windowStart: 0, blockedUntil: null, lockedAt: null };

export type Decision =
  | { allowed: true }
  | { allowed: false; reason: 'locked' }
  | { allowed: false; reason: 'blocked' | 'busy'; retryAfterMs: number };

/** Reservations whose lease ran out no longer hold a place. */
export function livePending(b: BudgetState, now: number): number {
  return b.leaseUntil <= now ? 0 : b.pending;
}

/** Failures that still count: a window that ended counts none. */
export function countedFailures(rule: Rule, b: BudgetState, now: number): number {
  if (rule.kind === 'window' && b.windowStart <= now - rule.windowMs) return 0;
  return b.failures;
}

/**
 * Whether one more attempt may be reserved now. This is the model of the conditional statement
 * in src/store/attempts.ts (`reserve`): the store's row count decides, this explains.
 */
export function decide(rule: Rule, b: BudgetState, now: number): Decision {
  const pending = livePending(b, now);
  if (rule.kind === 'window') {
    const failures = countedFailures(rule, b, now);
    if (failures + pending < rule.limit) return { allowed: true };
    if (failures >= rule.limit) return { allowed: false, reason: 'blocked', retryAfterMs: b.windowStart + rule.windowMs - now };
    return { allowed: false, reason: 'busy', retryAfterMs: Math.min(b.leaseUntil - now, rule.windowMs) };
  }
  if (b.lockedAt !== null) return { allowed: false, reason: 'locked' };
  if (b.blockedUntil !== null && b.blockedUntil > now) return { allowed: false, reason: 'blocked', retryAfterMs: b.blockedUntil - now };
  const room = b.failures + pending < rule.free || pending === 0;
  if (room && b.failures + pending < rule.hardLock) return { allowed: true };
  // Every place is held by attempts still being tried: their outcome decides what comes next.
  return { allowed: false, reason: 'busy', retryAfterMs: 1000 };
}

/** What a failure does to a consecutive budget: its new count, and the wait or lock that follows. */
export function afterFailure(rule: ConsecutiveRule, failures: number, now: number): { blockedUntil: number | null; lock: boolean } {
  const next = rule.after(failures);
  if (next === 'lock' || failures >= rule.hardLock) return { blockedUntil: null, lock: true };
  return { blockedUntil: next > 0 ? now + next : null, lock: false };
}

export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
