import type { Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import { MamoriError } from '../errors.js';
import type { AttemptRepository } from '../store/attempts.js';
import type { AttemptBudget, Database } from '../store/schema.js';
import {
  EMPTY_BUDGET,
  addressRule,
  afterFailure,
  decide,
  emailCodeSendRule,
  emailCodeWrongRule,
  lostDeviceAddressRule,
  lostDeviceLinkRule,
  mfaRule,
  passkeyChallengeRule,
  passwordRule,
  SETTLE_WITHIN_MS,
  signInRule,
  type BudgetState,
  type Decision,
  type Rule,
} from './rules.js';

/**
 * All attempt accounting: which budgets an attempt draws on, reserving them before the attempt
 * is tried and settling them after. Flows never count anything themselves.
 */
export type BudgetName = 'address' | 'password' | 'mfa' | 'sign_in' | 'email_code_sends' | 'email_code_wrong' | 'passkey_challenges' | 'lost_device_links' | 'lost_device_requests';

export interface Budget {
  readonly name: BudgetName;
  readonly key: string;
  readonly rule: Rule;
}

export interface RegulationSettings {
  ipFailureLimit: number;
  ipFailureWindowMinutes: number;
  mfaLockMinutes: number;
}

/** Who a password attempt is about: an account, or an email no account has (keyed by its HMAC). */
export type PasswordSubject = { userId: string } | { unknownEmailKey: string };

export interface Refusal {
  budget: Budget;
  decision: Exclude<Decision, { allowed: true }>;
}

export interface BudgetFailure {
  budget: Budget;
  failures: number;
  /** True only for the one request whose failure locked the budget. */
  lockedNow: boolean;
  /** The failure put a wait or a lock on the budget. */
  closed: boolean;
}

function state(row: AttemptBudget | undefined): BudgetState {
  if (!row) return EMPTY_BUDGET;
  return {
    failures: Number(row.failures),
    pending: Number(row.pending),
    leaseUntil: Number(row.lease_until),
    windowStart: Number(row.window_start),
    blockedUntil: row.blocked_until === null ? null : Number(row.blocked_until),
    lockedAt: row.locked_at === null ? null : Number(row.locked_at),
  };
}

export class Regulator {
  constructor(
    private readonly attempts: AttemptRepository,
    private readonly clock: Clock,
    private readonly settings: RegulationSettings,
  ) {}

  /** Failed sign-in steps of one client address; none when the limit is off or the address unknown. */
  address(ip: string | null): Budget[] {
    if (this.settings.ipFailureLimit === 0 || !ip) return [];
    return [{ name: 'address', key: `address:${ip}`, rule: addressRule(this.settings.ipFailureLimit, this.settings.ipFailureWindowMinutes) }];
  }

  /** The same rule and the same table for an account and an unknown email: nothing tells them apart. */
  password(subject: PasswordSubject): Budget {
    const key = 'userId' in subject ? `password:user:${subject.userId}` : `password:email:${subject.unknownEmailKey}`;
    return { name: 'password', key, rule: passwordRule };
  }

  mfa(userId: string): Budget {
    return { name: 'mfa', key: `mfa:user:${userId}`, rule: mfaRule(this.settings.mfaLockMinutes) };
  }

  signIn(transactionId: string): Budget {
    return { name: 'sign_in', key: `sign_in:${transactionId}`, rule: signInRule };
  }

  emailCodeSends(userId: string): Budget {
    return { name: 'email_code_sends', key: `email_code_sends:user:${userId}`, rule: emailCodeSendRule };
  }

  emailCodeWrong(userId: string): Budget {
    return { name: 'email_code_wrong', key: `email_code_wrong:user:${userId}`, rule: emailCodeWrongRule };
  }

  /** Recovery links mailed for one account, or asked for one unknown email (the same rule, keyed like `password`). */
  lostDeviceLinks(subject: PasswordSubject): Budget {
    const key = 'userId' in subject ? `lost_device_links:user:${subject.userId}` : `lost_device_links:email:${subject.unknownEmailKey}`;
    return { name: 'lost_device_links', key, rule: lostDeviceLinkRule };
  }

  /** "I lost my MFA devices" requests from one client address. */
  lostDeviceRequests(ip: string | null): Budget[] {
    return ip ? [{ name: 'lost_device_requests', key: `lost_device_requests:address:${ip}`, rule: lostDeviceAddressRule }] : [];
  }

  passkeyChallenges(ip: string | null): Budget[] {
    return ip ? [{ name: 'passkey_challenges', key: `passkey_challenges:address:${ip}`, rule: passkeyChallengeRule }] : [];
  }

  /**
   * Reserves one attempt on each budget, in order, before anything is tried. If one refuses,
   * the places already taken are given back and the refusal says which budget and why.
   */
  async reserve(budgets: Budget[], trx?: Transaction<Database>): Promise<Attempt | Refusal> {
    const now = this.clock.now();
    const before = new Map<BudgetName, number>();
    // Either in the caller's transaction, which then settles the attempt and commits once (a
    // second step: the reservation, the check and its outcome; the row locks taken here are held
    // until then, so concurrent attempts on one budget wait for each other's outcome), or in one
    // of its own: one commit for all the places, which need not wait for the disk
    // (AttemptRepository.atomically says why). A refusal gives back the places already taken, so
    // an attempt holds all of its places or none.
    const take = async (repo: AttemptRepository): Promise<Budget | undefined> => {
      for (const [i, budget] of budgets.entries()) {
        const failures = await repo.reserve(budget.key, budget.rule, now);
        if (failures === null) {
          for (const taken of budgets.slice(0, i)) await repo.release(taken.key, now);
          return budget;
        }
        before.set(budget.name, failures);
      }
      return undefined;
    };
    const repo = trx ? this.attempts.within(trx) : this.attempts;
    const refused = budgets.length === 0 ? undefined : await repo.atomically(take, { waitForDisk: false });
    if (refused) return { budget: refused, decision: await this.explain(refused, now, repo) };
    return new Attempt(this.attempts, this.clock, budgets, before, now + SETTLE_WITHIN_MS);
  }

  /** Counts one use at once (a code sent) if the window has room; the refusal otherwise. */
  async take(budget: Budget): Promise<Refusal | null> {
    const now = this.clock.now();
    if ((await this.attempts.reserve(budget.key, budget.rule, now, { count: true })) !== null) return null;
    return { budget, decision: await this.explain(budget, now) };
  }

  /** Gives back one counted use of a window budget (the code sent was used). */
  async refund(budget: Budget, trx?: Transaction<Database>): Promise<void> {
    if (budget.rule.kind !== 'window') return;
    await (trx ? this.attempts.within(trx) : this.attempts).refund(budget.key, budget.rule, this.clock.now());
  }

  /** True for the first refusal of this window budget in its current window: audit that one. */
  async firstRefusal(budget: Budget): Promise<boolean> {
    return this.attempts.firstRefusalInWindow(budget.key, this.clock.now());
  }

  /**
   * Users an administrator would call locked: the password locked for good, or second-factor
   * codes locked (a timed MFA lock included; a password back-off is not a lock).
   */
  async lockedUsers(): Promise<Set<string>> {
    const now = this.clock.now();
    const keys = [
      ...(await this.attempts.closedKeys('password:user:', now, { blocked: false })),
      ...(await this.attempts.closedKeys('mfa:user:', now, { blocked: true })),
    ];
    return new Set(keys.map((k) => k.slice(k.lastIndexOf(':') + 1)));
  }

  /**
   * Housekeeping: windows that ended, sign-in budgets of sign-ins long gone, and consecutive
   * counts below their first wait that stayed quiet for `quietMs`. Locks and back-offs stay.
   */
  async purge(quietMs: number, endedMs: number): Promise<number> {
    const address = addressRule(Math.max(1, this.settings.ipFailureLimit), this.settings.ipFailureWindowMinutes);
    return this.attempts.purge(this.clock.now(), {
      windowPrefixes: [
        { prefix: 'address:', windowMs: address.windowMs },
        { prefix: 'email_code_sends:', windowMs: emailCodeSendRule.windowMs },
        { prefix: 'email_code_wrong:', windowMs: emailCodeWrongRule.windowMs },
        { prefix: 'passkey_challenges:', windowMs: passkeyChallengeRule.windowMs },
        { prefix: 'lost_device_links:', windowMs: lostDeviceLinkRule.windowMs },
        { prefix: 'lost_device_requests:', windowMs: lostDeviceAddressRule.windowMs },
      ],
      consecutive: [
        { prefix: 'password:', free: passwordRule.free, quietMs },
        { prefix: 'mfa:', free: mfaRule(0).free, quietMs },
        // A sign-in lives minutes; its budget only matters while it does.
        { prefix: 'sign_in:', free: signInRule.free, quietMs: endedMs, dropLocked: true },
      ],
    });
  }

  /** An administrator's unlock: the budgets start from nothing. */
  async clear(budgets: Budget[], trx?: Transaction<Database>): Promise<number> {
    return (trx ? this.attempts.within(trx) : this.attempts).clear(budgets.map((b) => b.key));
  }

  /** Why a budget refused, read after the statement that refused (the refusal itself was decided there). */
  private async explain(budget: Budget, now: number, repo = this.attempts): Promise<Refusal['decision']> {
    const d = decide(budget.rule, state(await repo.find(budget.key)), now);
    // The row changed between the refusing statement and this read: say "busy, try again in a second".
    return d.allowed ? { allowed: false, reason: 'busy', retryAfterMs: 1000 } : d;
  }
}

/**
 * Places reserved on some budgets for one attempt, settled once: `fail`, `succeed` or `release`.
 * `fail` and `succeed` refuse (503) once the attempt lapsed, so a guess that outlived its place
 * is neither counted nor answered.
 * A settlement inside a transaction that rolls back is undone with it; the caller then settles
 * again (usually `release`), so no place stays taken until its lease runs out.
 */
export class Attempt {
  constructor(
    private readonly attempts: AttemptRepository,
    private readonly clock: Clock,
    readonly budgets: readonly Budget[],
    private readonly before: ReadonlyMap<BudgetName, number>,
    private readonly settleBy: number,
  ) {}

  /** Past its settling time the attempt may have lost its place; its outcome must not be used. */
  get lapsed(): boolean {
    return this.clock.now() >= this.settleBy;
  }

  #assertLive(): void {
    if (this.lapsed) throw new MamoriError('service_unavailable', 'The service is too busy to check this attempt; try again');
  }

  /** The failures a budget had counted when this attempt reserved its place. */
  failuresBefore(name: BudgetName): number {
    return this.before.get(name) ?? 0;
  }

  /**
   * The attempt failed: every budget counts it. Given `trx`, the counts commit with the audit
   * events the caller writes in it.
   */
  async fail(trx?: Transaction<Database>): Promise<BudgetFailure[]> {
    this.#assertLive();
    const repo = trx ? this.attempts.within(trx) : this.attempts;
    const now = this.clock.now();
    const out: BudgetFailure[] = [];
    for (const budget of this.budgets) {
      const rule = budget.rule;
      if (rule.kind === 'window') {
        const failures = await repo.failWindow(budget.key, rule, now);
        out.push({ budget, failures, lockedNow: false, closed: failures >= rule.limit });
      } else {
        let closed = false;
        const r = await repo.failConsecutive(budget.key, now, (failures) => {
          const next = afterFailure(rule, failures, now);
          closed = next.lock || next.blockedUntil !== null;
          return next;
        });
        out.push({ budget, failures: r.failures, lockedNow: r.lockedNow, closed });
      }
    }
    return out;
  }

  /** The attempt succeeded: consecutive budgets start again; windows only give the place back. */
  async succeed(trx?: Transaction<Database>): Promise<void> {
    this.#assertLive();
    const now = this.clock.now();
    await this.#eachBudget(trx, (repo, budget) => repo.succeed(budget.key, budget.rule, now));
  }

  /** The attempt was not tried (malformed input): nothing counts. */
  async release(trx?: Transaction<Database>): Promise<void> {
    // A lapsed place was given up already; taking one off now would take a newer attempt's.
    if (this.lapsed) return;
    const now = this.clock.now();
    await this.#eachBudget(trx, (repo, budget) => repo.release(budget.key, now));
  }

  /**
   * One statement per budget: in the caller's transaction, or in one of its own (one commit for
   * all of them, which a success or a give-back need not wait for: AttemptRepository.atomically).
   */
  async #eachBudget(trx: Transaction<Database> | undefined, work: (repo: AttemptRepository, budget: Budget) => Promise<void>): Promise<void> {
    const all = async (repo: AttemptRepository) => {
      for (const budget of this.budgets) await work(repo, budget);
    };
    return (trx ? this.attempts.within(trx) : this.attempts).atomically(all, { waitForDisk: false });
  }
}

export function isRefusal(r: Attempt | Refusal): r is Refusal {
  return !(r instanceof Attempt);
}
