import type { Transaction } from 'kysely';
import { MamoriError, fail } from '../errors.js';
import type { MailMessage } from '../mail/messages.js';
import type { Caller, Proof, Purpose } from '../methods/types.js';
import { isRefusal, type Budget } from '../regulation/index.js';
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

/** Thrown inside a success transaction whose proof a concurrent request used first. */
class ProofSpent extends Error {}

/**
 * Checks a second factor for sign-in or step-up, as one reserved attempt. Guessable factors
 * (codes) draw on the account's MFA budget, shared by every sign-in, step-up, factor and
 * instance, so a new challenge never buys new guesses; an assertion, which nobody can guess,
 * draws only on the address's (and the step's own) budget, so a lock an attacker provoked with
 * wrong codes does not shut the owner's security key out. On success the proof is consumed, the
 * attempt settled, the audit written and `onSuccess` run in one transaction.
 */
export async function verifySecondFactor<T>(s: SecondFactorPorts, user: User, body: { method: string } & Record<string, unknown>, caller: Caller, step: SecondFactorStep<T>): Promise<T> {
  const method = s.methods.factors.get(body.method);
  if (!method) fail('validation_failed', `Unknown method "${body.method.slice(0, 40)}"`);
  const budgets = [...s.regulator.address(caller.ip), ...(method.guessable ? [s.regulator.mfa(user.id)] : []), ...(step.budgets ?? [])];
  const attempt = await s.regulator.reserve(budgets);
  if (isRefusal(attempt)) {
    const { budget, decision } = attempt;
    if (budget.name === 'address') return refuseAddress(s, attempt, caller);
    if (budget.name === 'mfa') {
      s.metrics.mfaVerifications.inc({ method: method.id, result: 'locked' });
      await s.audit.append({ type: 'mfa_refused', userId: user.id, ip: caller.ip, userAgent: caller.userAgent, detail: { reason: decision.reason === 'busy' ? 'too_many_attempts' : 'mfa_locked', method: method.id, purpose: step.purpose } });
      if (decision.reason === 'busy') throw retryLater(attempt);
      fail('mfa_locked', lockedDetail);
    }
    if (step.refused) step.refused(budget);
    throw retryLater(attempt);
  }

  const proof = (await method.isAssigned(user.id)) ? await method.verify(user, body, caller, step.purpose) : null;
  if (proof) {
    let notice: MailMessage | undefined;
    try {
      const result = await s.store.db.transaction().execute(async (trx) => {
        if (!(await proof.consume(trx))) throw new ProofSpent();
        await attempt.succeed(trx);
        const base = { userId: user.id, ip: caller.ip, userAgent: caller.userAgent };
        const after = proof.aftermath ? await proof.aftermath(trx) : undefined;
        notice = after?.notice;
        const events: AuditEntry[] = [
          { ...base, type: step.purpose === 'sign_in' ? 'mfa_verified' : 'step_up_verified', detail: { method: method.id, deviceId: proof.deviceId ?? null, deviceName: proof.deviceName ?? null } },
          ...(after?.audit ?? []).map((entry) => ({ ...base, ...entry })),
        ];
        return step.onSuccess(trx, proof, events);
      });
      s.metrics.mfaVerifications.inc({ method: method.id, result: 'success' });
      if (notice) await notify(s, user, { ...notice, ...originOf(caller) });
      return result;
    } catch (err) {
      // Rolled back: the settlement with it. A proof used first by a concurrent request is a failure.
      if (!(err instanceof ProofSpent)) {
        await attempt.release();
        throw err;
      }
    }
  }

  s.metrics.mfaVerifications.inc({ method: method.id, result: 'failure' });
  const closed = await s.store.db.transaction().execute(async (trx) => {
    const counted = await attempt.fail(trx);
    const account = counted.find((f) => f.budget.name === 'mfa');
    const base = { userId: user.id, ip: caller.ip, userAgent: caller.userAgent };
    // A refused assertion (replay, wrong origin, clone) is audited, but only codes count as guesses.
    await s.audit.append({ ...base, type: 'mfa_failed', detail: { method: method.id, purpose: step.purpose, ...(account ? { consecutiveFailures: account.failures } : {}) } }, trx);
    if (account?.closed) await s.audit.append({ ...base, type: 'account_locked', detail: { reason: 'mfa', consecutiveFailures: account.failures } }, trx);
    // When the account locked too, that is the news: the step stays open to say so (423) rather than vanish (401).
    if (!account?.closed) for (const f of counted) if (f.closed && f.budget.name !== 'mfa' && f.budget.name !== 'address' && step.onClosed) await step.onClosed(trx, f.budget);
    return account?.closed ? account : undefined;
  });
  if (closed) {
    s.metrics.lockouts.inc({ kind: 'mfa_lock' });
    await notify(s, user, { kind: 'account_locked', reason: 'mfa', at: s.clock.now(), hard: closed.failures >= MFA_HARD_STOP || s.config.mfaLockMinutes === 0, ...originOf(caller) });
    throw new MamoriError('mfa_locked', lockedDetail);
  }
  fail('invalid_code');
}
