import type { Services } from '../services.js';
import type { MailMessage } from '../mail/messages.js';
import type { User } from '../store/schema.js';

/**
 * Sends a security notification after the change it tells of has committed. A mail outage must
 * not turn a sign-in or a change into an error, so delivery failures are logged, not thrown.
 */
export async function notify(s: Pick<Services, 'mailer' | 'log'>, user: Pick<User, 'id' | 'email' | 'locale'>, msg: MailMessage): Promise<void> {
  try {
    await s.mailer.send(user.email, msg, user.locale);
  } catch (err) {
    s.log.error({ err: { code: (err as { code?: string }).code }, kind: msg.kind, userId: user.id }, 'notification not delivered');
  }
}
