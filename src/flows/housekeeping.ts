import type { Services } from '../services.js';
import { PENDING_TTL_MS } from './devices.js';

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
}

/**
 * Deletes what can no longer matter, so no table grows without bound. Counters that still bound
 * an attacker (back-off, locks) are kept. Runs at start and every few minutes on each instance;
 * the statements are idempotent, so instances may overlap.
 */
export async function purgeExpired(s: Services): Promise<Purged> {
  const now = s.clock.now();
  const db = s.store.db;
  const n = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);
  return {
    // Their email codes go with them (ON DELETE CASCADE).
    signIns: n(await db.deleteFrom('sign_in_transactions').where('expires_at', '<', now - KEEP_ENDED_MS).executeTakeFirstOrThrow()),
    challenges: n(await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).executeTakeFirstOrThrow()),
    sessions: n(
      await db
        .deleteFrom('sessions')
        .where((eb) =>
          eb.or([
            eb('expires_at', '<', now - KEEP_ENDED_MS),
            eb('revoked_at', '<', now - KEEP_ENDED_MS),
            eb('last_seen_at', '<', now - s.config.sessionIdleMinutes * 60_000 - KEEP_ENDED_MS),
          ]),
        )
        .executeTakeFirstOrThrow(),
    ),
    attemptBudgets: await s.regulator.purge(KEEP_QUIET_COUNTS_MS, KEEP_ENDED_MS),
    invitations: n(await db.deleteFrom('invitations').where('expires_at', '<', now - KEEP_ENDED_MS).executeTakeFirstOrThrow()),
    pendingDevices: await s.devices.discardStalePending(now - PENDING_TTL_MS),
  };
}
