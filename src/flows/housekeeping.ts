import type { Services } from '../services.js';
import { PENDING_TTL_MS } from './devices.js';
import { BROWSER_COOKIE_MS } from './known-browsers.js';
import { mailEndedCoolingOffs } from './lost-devices.js';

const DAY = 24 * 3_600_000;
/** Ended sessions and sign-ins stay a week for the session list and support questions. */
export const KEEP_ENDED_MS = 7 * DAY;
/**
 * Password and MFA counts that never reached their first wait are forgotten after 30 quiet days,
 * for accounts and unknown emails alike (so the two age the same and cannot be told apart).
 */
export const KEEP_QUIET_COUNTS_MS = 30 * DAY;

export interface Purged {
  signIns: number;
  challenges: number;
  sessions: number;
  attemptBudgets: number;
  invitations: number;
  pendingDevices: number;
  /** Expired OpenID Connect rows (codes, tokens, sessions, interactions). */
  oidcPayloads: number;
  /** Signing keys retired, and deleted once nothing they signed is still valid. */
  signingKeys: { retired: number; deleted: number };
  /** Recovery requests that ended (cancelled, completed, links never used) a week ago. */
  recoveryRequests: number;
  /** Browsers not seen for as long as their cookie lives. */
  knownBrowsers: number;
  /** "Remember this browser" grants a week after they expired or were revoked. */
  rememberedBrowsers: number;
  /** "Cooling-off ended" mails sent by this run (each claimed once across instances). */
  recoveryEndedMails: number;
  /** The audit checkpoint this run wrote (the heads of the chains that moved), or null when none moved. */
  auditCheckpoint: number | null;
}

/** What housekeeping touches: each table's repository purges its own rows. */
export type HousekeepingDeps = Pick<Services, 'clock' | 'signIns' | 'challenges' | 'sessions' | 'regulator' | 'invitations' | 'devices' | 'oidcPayloads' | 'signingKeys' | 'recoveryRequests' | 'knownBrowsers' | 'audit'> &
  Parameters<typeof mailEndedCoolingOffs>[0] &
  Pick<Services, 'rememberedBrowsers'>;

/**
 * Deletes what can no longer matter, so no table grows without bound. Counters that still bound
 * an attacker (back-off, locks) are kept. Runs at start and every few minutes on each instance;
 * the statements are idempotent, so instances may overlap.
 */
export async function purgeExpired(s: HousekeepingDeps): Promise<Purged> {
  const now = s.clock.now();
  const ended = now - KEEP_ENDED_MS;
  return {
    // Their email codes go with them (ON DELETE CASCADE).
    signIns: await s.signIns.purgeExpired(ended),
    challenges: await s.challenges.purgeExpired(now),
    // Idle sessions count as ended once the idle limit passed, and are kept a week from then.
    sessions: await s.sessions.purgeEnded(ended),
    attemptBudgets: await s.regulator.purge(KEEP_QUIET_COUNTS_MS, KEEP_ENDED_MS),
    invitations: await s.invitations.purgeExpired(ended),
    pendingDevices: await s.devices.discardStalePending(now - PENDING_TTL_MS),
    oidcPayloads: await s.oidcPayloads.sweepExpired(now),
    signingKeys: await s.signingKeys.sweep(),
    recoveryRequests: await s.recoveryRequests.purgeEnded(ended),
    knownBrowsers: await s.knownBrowsers.purgeUnseen(now - BROWSER_COOKIE_MS),
    // Kept a week after they ended, as ended sessions are, for support questions.
    rememberedBrowsers: await s.rememberedBrowsers.purgeEnded(ended),
    // Not a purge, but due on the same beat on every instance; the claim keeps it to one mail.
    recoveryEndedMails: await mailEndedCoolingOffs(s),
    // Also not a purge: signs where every audit chain stands, so cutting one short below it shows.
    // Any instance may write it; the next one records only the chains that moved since.
    auditCheckpoint: await s.audit.checkpoint(),
  };
}
