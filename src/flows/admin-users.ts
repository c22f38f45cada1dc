import { fail } from '../errors.js';
import type { Services } from '../services.js';
import type { User } from '../store/schema.js';
import { deadlinesByUser } from './enforcement.js';
import { inviteUser } from './users.js';

/** What the administrators' user list says of a user beyond the account row itself. */
export interface AdminFacts {
  mfaDevices: number;
  locked: boolean;
  mfaSetupDeadline: number | null;
  groups: string[];
  /** Never chose a password nor signed in: the invitation (if one was sent) is not accepted yet. */
  invited: boolean;
  /** The newest invitation not used yet, possibly expired; null when none is on record. */
  invitationExpiresAt: number | null;
}

type FactPorts = Pick<Services, 'deviceReports' | 'regulator' | 'groups' | 'invitations'> & Parameters<typeof deadlinesByUser>[0];

/** The facts of each user of `users`, in a fixed number of queries whatever their count. */
export async function adminFacts(s: FactPorts, users: readonly User[]): Promise<Map<string, AdminFacts>> {
  const devices = await s.deviceReports.activeCountByUser();
  const locked = await s.regulator.lockedUsers();
  const deadlines = await deadlinesByUser(s, users, devices);
  const groups = await s.groups.ofAll();
  const invitations = await s.invitations.openExpiryByUser();
  return new Map(
    users.map((u) => [
      u.id,
      {
        mfaDevices: devices.get(u.id) ?? 0,
        locked: locked.has(u.id),
        mfaSetupDeadline: deadlines.get(u.id) ?? null,
        groups: groups.get(u.id) ?? [],
        invited: u.password_hash === null && u.last_sign_in_at === null,
        invitationExpiresAt: invitations.get(u.id) ?? null,
      },
    ]),
  );
}

/**
 * A new invitation for a user who has not chosen a password yet (the first one expired or was
 * lost); the earlier links stop working. A user with a password is refused: an invitation would
 * let whoever holds the mail replace it.
 */
export async function resendInvitation(s: Parameters<typeof inviteUser>[0] & Pick<Services, 'users'>, userId: string, invitedBy: string): Promise<number> {
  const user = (await s.users.findById(userId)) ?? fail('not_found', 'No such user');
  if (user.password_hash !== null) fail('conflict', 'This user has already chosen a password');
  if (user.disabled === 1) fail('conflict', 'This user is disabled: enable the account first');
  await inviteUser(s, user, invitedBy);
  return (await s.invitations.openExpiryByUser(user.id)).get(user.id) ?? s.clock.now();
}

/** A user's live sessions (newest first), as an administrator sees them: no tokens. */
export async function userSessions(s: Pick<Services, 'users' | 'sessions' | 'clock'>, userId: string) {
  const user = (await s.users.findById(userId)) ?? fail('not_found', 'No such user');
  return s.sessions.listLive(user.id, s.clock.now());
}
