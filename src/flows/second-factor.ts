import type { Transaction } from 'kysely';
import { MamoriError, fail } from '../errors.js';
import type { MailMessage } from '../mail/messages.js';
import type { Caller, Proof, Purpose } from '../methods/types.js';
import { isRefusal, type Budget, type BudgetFailure, type Refusal } from '../regulation/index.js';
import { MFA_HARD_STOP } from '../regulation/rules.js';
import type { Services } from '../services.js';
import type { AuditEntry } from '../store/audit.js';
import type { Database, User } from '../store/schema.js';
import { notify, originOf } from './notify.js';
import { refuseAddress, retryLater } from './refusals.js';

/** What these use of the composition root, and nothing more. */
export type SecondFactorPorts = Pick<Services, 'audit' | 'clock' | 'config' | 'log' | 'mailer' | 'methods' | 'metrics' | 'regulator' | 'store'> & Parameters<typeof refuseAddress>[0];


const lockedDetail = 'Too many wrong codes; an administrator must unlock the account';

export interface SecondFactorStep<T> {
  purpose: Purpose;
  /** Budgets beyond the address's and the account's (a half-finished sign-in's own five tries). */
  budgets?: Budget[];
  /** A refusal by one of `budgets`: the flow's own answer (a sign-in out of tries is dead). */
  refused?: (budget: Budget) => never;
  /**
   * Runs in the transaction that consumes the proof; throw to roll everything back. It writes its
   * rows first and then appends `events` (the factor's audit events) and its own: every
   * transaction takes the audit chain's lock last, after its row locks, so two never wait on each
   * other in opposite orders.
   */
  onSuccess: (trx: Transaction<Database>, proof: Proof, events: AuditEntry[]) => Promise<T>;
  /** Runs in the transaction that counts a failure, when one of `budgets` closed with it. */
  onClosed?: (trx: Transaction<Database>, budget: Budget) => Promise<void>;
}

type Outcome<T> = { refusal: Refusal } | { result: T; notice: MailMessage | undefined } | { closed: BudgetFailure | undefined };

/**
 * Checks a second factor for sign-in or step-up, as one attempt counted before it is tried.
 * Guessable factors (codes) draw on the account's MFA budget, shared by every sign-in, step-up,
 * factor and instance, so a new challenge never buys new guesses; an assertion, which nobody can
 * guess, draws only on the address's (and the step's own) budget, so a lock an attacker provoked
 * with wrong codes does not shut the owner's security key out.
 *
 * The whole step is one transaction and one commit: the places reserved on the budgets (row
 * locks held until the end, so concurrent attempts on a budget wait for each other's outcome),
 * the check, and then either the proof consumed, the attempt settled, the audit written and
 * `onSuccess` run, or the failure counted with its audit. A crash before the commit leaves
 * nothing, and nobody got an answer to learn from. Whatever throws rolls all of it back.
 */
export async function verifySecondFactor<T>(s: SecondFactorPorts, user: User, body: { method: string } & Record<string, unknown>, caller: Caller, step: SecondFactorStep<T>): Promise<T> {
  const method = s.methods.factors.get(body.method);
  if (!method) fail('validation_failed', `Unknown method "${body.method.slice(0, 40)}"`);
  const budgets = [...s.regulator.address(caller.ip), ...(method.guessable ? [s.regulator.mfa(user.id)] : []), ...(step.budgets ?? [])];
  const base = { userId: user.id, ip: caller.ip, userAgent: caller.userAgent };

  const outcome = await s.store.db.transaction().execute(async (trx): Promise<Outcome<T>> => {
    const attempt = await s.regulator.reserve(budgets, trx);
    if (isRefusal(attempt)) return { refusal: attempt };
    const proof = await method.verify(user, body, caller, step.purpose, trx);
    // A proof used first by a concurrent request is a failure like any other.
    if (proof && (await proof.consume(trx))) {
      await attempt.succeed(trx);
      const after = proof.aftermath ? await proof.aftermath(trx) : undefined;
      const events: AuditEntry[] = [
        { ...base, type: step.purpose === 'sign_in' ? 'mfa_verified' : 'step_up_verified', detail: { method: method.id, deviceId: proof.deviceId ?? null, deviceName: proof.deviceName ?? null } },
        ...(after?.audit ?? []).map((entry) => ({ ...base, ...entry })),
      ];
      return { result: await step.onSuccess(trx, proof, events), notice: after?.notice };
    }
    const counted = await attempt.fail(trx);
    const account = counted.find((f) => f.budget.name === 'mfa');
    // A refused assertion (replay, wrong origin, clone) is audited, but only codes count as guesses.
    await s.audit.appendAll(
      [
        { ...base, type: 'mfa_failed', detail: { method: method.id, purpose: step.purpose, ...(account ? { consecutiveFailures: account.failures } : {}) } },
        ...(account?.closed ? [{ ...base, type: 'account_locked', detail: { reason: 'mfa', consecutiveFailures: account.failures } }] : []),
      ],
      trx,
    );
    // When the account locked too, that is the news: the step stays open to say so (423) rather than vanish (401).
    if (!account?.closed) for (const f of counted) if (f.closed && f.budget.name !== 'mfa' && f.budget.name !== 'address' && step.onClosed) await step.onClosed(trx, f.budget);
    return { closed: account?.closed ? account : undefined };
  });

  if ('refusal' in outcome) {
    const { budget, decision } = outcome.refusal;
    if (budget.name === 'address') return refuseAddress(s, outcome.refusal, caller);
    if (budget.name === 'mfa') {
      s.metrics.mfaVerifications.inc({ method: method.id, result: 'locked' });
      await s.audit.append({ type: 'mfa_refused', ...base, detail: { reason: decision.reason === 'busy' ? 'too_many_attempts' : 'mfa_locked', method: method.id, purpose: step.purpose } });
      if (decision.reason === 'busy') throw retryLater(outcome.refusal);
      fail('mfa_locked', lockedDetail);
    }
    if (step.refused) step.refused(budget);
    throw retryLater(outcome.refusal);
  }
  if ('result' in outcome) {
    s.metrics.mfaVerifications.inc({ method: method.id, result: 'success' });
    if (outcome.notice) await notify(s, user, { ...outcome.notice, ...originOf(caller) });
    return outcome.result;
  }
  s.metrics.mfaVerifications.inc({ method: method.id, result: 'failure' });
  if (outcome.closed) {
    s.metrics.lockouts.inc({ kind: 'mfa_lock' });
    await notify(s, user, { kind: 'account_locked', reason: 'mfa', at: s.clock.now(), hard: outcome.closed.failures >= MFA_HARD_STOP || s.config.mfaLockMinutes === 0, ...originOf(caller) });
    throw new MamoriError('mfa_locked', lockedDetail);
  }
  fail('invalid_code');
}
