import type { Services } from '../services.js';
import type { AdminAction, MailMessage, Origin } from '../mail/messages.js';
import type { Caller } from '../methods/types.js';
import type { User } from '../store/schema.js';

/**
 * Every security notification goes out through this module, after the change it tells of has
 * committed. A mail outage must not turn a sign-in or a change into an error, so delivery
 * failures are logged (the kind and the SMTP error code, never the address book or a token), not
 * thrown.
 */

type Recipient = Pick<User, 'id' | 'email' | 'locale'>;
type MailPorts = Pick<Services, 'mailer' | 'log'>;

/** Where a request came from, as a mail shows it ("IP address", "Browser"). */
export function originOf(caller: Caller | undefined): Origin {
  if (!caller) return {};
  return { ...(caller.ip ? { ip: caller.ip } : {}), ...(caller.userAgent ? { userAgent: caller.userAgent } : {}) };
}

/** Sends `msg`; false when it could not be delivered (already logged). */
export async function deliver(s: MailPorts, user: Recipient, msg: MailMessage): Promise<boolean> {
  try {
    await s.mailer.send(user.email, msg, user.locale);
    return true;
  } catch (err) {
    s.log.error({ err: { code: (err as { code?: string }).code }, kind: msg.kind, userId: user.id }, 'notification not delivered');
    return false;
  }
}

/** Sends a security notification; never throws for a delivery failure. */
export async function notify(s: MailPorts, user: Recipient, msg: MailMessage): Promise<void> {
  await deliver(s, user, msg);
}

/**
 * The same without waiting: for answers whose timing must not depend on whether a mail went out
 * (the lost-devices request answers alike for every address). Delivery failures are logged.
 */
export function notifyLater(s: MailPorts, user: Recipient, msg: MailMessage): void {
  void deliver(s, user, msg);
}

/** An administrator changed the account (unlock, disable, role, name, forced password change). */
export async function notifyAdminAction(
  s: MailPorts & Pick<Services, 'clock'>,
  user: Recipient,
  actions: AdminAction[],
  caller: Caller,
  role?: 'admin' | 'user',
): Promise<void> {
  if (actions.length === 0) return;
  await notify(s, user, { kind: 'admin_action', actions, ...(role ? { role } : {}), at: s.clock.now(), ...originOf(caller) });
}

/** What an administrator's PATCH of a user changed, in the words of the `admin_action` mail. */
export function adminActionsOf(before: Pick<User, 'name' | 'role' | 'disabled'>, after: Pick<User, 'name' | 'role' | 'disabled'>): AdminAction[] {
  const actions: AdminAction[] = [];
  if (before.disabled !== after.disabled) actions.push(after.disabled ? 'disabled' : 'enabled');
  if (before.role !== after.role) actions.push('role_changed');
  if (before.name !== after.name) actions.push('renamed');
  return actions;
}
