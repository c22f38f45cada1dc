/** English mail texts. */
import { type Draft, LOW_RECOVERY_CODES, assertNever, clean, code, count, deviceTypeLabel, facts, httpUrl, link, p, plural, when } from './document.js';
import type { MailMessage } from './messages.js';

// ---------------------------------------------------------------------------------------------
// English

export function draftEn(msg: MailMessage, P: string, site: string): Draft {
  const adminNow = 'Contact your administrator right away.';
  switch (msg.kind) {
    case 'email_code': {
      const minutes = plural(count(msg.expiresInMinutes, 'expiresInMinutes'), 'minute', 'minutes');
      return {
        subject: `Your ${P} sign-in code`,
        preheader: `Enter the code in this email to finish signing in. It expires in ${minutes}.`,
        blocks: [
          p(`To finish signing in to ${P}, enter this code. It expires in ${minutes} and works only once.`),
          code(clean(msg.code)),
          p(`Do not share this code with anyone. ${P} administrators will never ask you for it.`),
          p(
            'If you did not just try to sign in, someone else may know your password. ' +
              'Do not enter the code anywhere, and change your password as soon as possible at ',
            { href: site },
            '.',
          ),
        ],
      };
    }
    case 'password_changed':
      return {
        subject: `Your ${P} password was changed`,
        preheader: `The password for your ${P} account was just changed.`,
        blocks: [
          p(`The password for your ${P} account was changed.`),
          facts(
            ['When', when(msg.at, 'en')],
            msg.ip !== undefined && ['IP address', clean(msg.ip)],
            msg.userAgent !== undefined && ['Browser', clean(msg.userAgent)],
          ),
          p('If you made this change, you do not need to do anything.'),
          p(`If you did not, someone else may have taken over your account. ${adminNow}`),
        ],
      };
    case 'mfa_device_added':
      return {
        subject: `An MFA device was added to your ${P} account`,
        preheader: `A new multi-factor authentication device can now sign in to your ${P} account.`,
        blocks: [
          p(`A multi-factor authentication (MFA) device was added to your ${P} account.`),
          facts(
            ['Device', clean(msg.deviceName)],
            ['Type', (msg.deviceLabel ? clean(msg.deviceLabel.en) : deviceTypeLabel(msg.deviceType, 'en'))],
            ['When', when(msg.at, 'en')],
          ),
          p('If you added it, you do not need to do anything.'),
          p(
            'If you did not, someone else may have signed in as you and can now use this device to sign in. ' +
              adminNow,
          ),
        ],
      };
    case 'mfa_device_removed':
      return {
        subject: msg.byAdmin
          ? `An administrator removed an MFA device from your ${P} account`
          : `An MFA device was removed from your ${P} account`,
        preheader: `A multi-factor authentication device was removed from your ${P} account.`,
        blocks: [
          p(
            msg.byAdmin
              ? `An administrator removed a multi-factor authentication (MFA) device from your ${P} account. ` +
                  'The device can no longer be used to sign in.'
              : `A multi-factor authentication (MFA) device was removed from your ${P} account.`,
          ),
          facts(
            ['Device', clean(msg.deviceName)],
            ['Type', (msg.deviceLabel ? clean(msg.deviceLabel.en) : deviceTypeLabel(msg.deviceType, 'en'))],
            ['When', when(msg.at, 'en')],
          ),
          ...(msg.byAdmin
            ? [p('If you did not expect this, contact your administrator.')]
            : [
                p('If you removed it, you do not need to do anything.'),
                p(`If you did not, someone else may have access to your account. ${adminNow}`),
              ]),
        ],
      };
    case 'recovery_code_used': {
      const left = count(msg.remaining, 'remaining');
      return {
        subject: `A recovery code was used to sign in to ${P}`,
        preheader: `Someone signed in to your ${P} account with a recovery code.`,
        blocks: [
          p(`A recovery code was used to sign in to your ${P} account. Each recovery code works only once.`),
          facts(['When', when(msg.at, 'en')], ['Recovery codes left', String(left)]),
          ...(left === 0
            ? [
                p(
                  'You have no recovery codes left. Without them, losing your MFA device would lock you out: sign in at ',
                  { href: site },
                  ' and generate new ones now.',
                ),
              ]
            : left <= LOW_RECOVERY_CODES
              ? [p('You are running low on recovery codes. Sign in at ', { href: site }, ' and generate new ones soon.')]
              : []),
          p(
            'If you did not use a recovery code, someone else has your password and at least one of your ' +
              `recovery codes. ${adminNow}`,
          ),
        ],
      };
    }
    case 'account_locked': {
      const mfa = msg.reason === 'mfa';
      return {
        subject: mfa ? `Sign-in to your ${P} account is locked` : `Your ${P} account is locked`,
        preheader: mfa
          ? 'Sign-in was locked after too many wrong MFA codes.'
          : 'Your account was locked after too many failed sign-in attempts.',
        blocks: [
          mfa
            ? p(
                `Sign-in to your ${P} account was locked after too many wrong multi-factor authentication (MFA) codes. ` +
                  'The correct password was entered before these codes, so if the attempts were not yours, ' +
                  'someone else knows your password.',
              )
            : p(`Your ${P} account was locked after too many sign-in attempts with a wrong password.`),
          facts(['When', when(msg.at, 'en')]),
          msg.hard
            ? p('The lock stays until an administrator lifts it. To get access again, contact your administrator.')
            : p('The lock lifts by itself after a while. If you need access sooner, contact your administrator.'),
          mfa
            ? p('If these attempts were not yours, tell your administrator and ask them to help you change your password.')
            : p('If these attempts were not yours, someone may be trying to get into your account: tell your administrator.'),
        ],
      };
    }
    case 'invitation': {
      const hours = plural(count(msg.expiresInHours, 'expiresInHours'), 'hour', 'hours');
      return {
        subject: `You are invited to ${P}`,
        preheader: `Open the link in this email to set up your ${P} account.`,
        blocks: [
          p(
            msg.invitedBy !== undefined
              ? `${clean(msg.invitedBy)} invited you to create an account on ${P}.`
              : `You have been invited to create an account on ${P}.`,
          ),
          p('To accept, open this link and set up your account:'),
          link(httpUrl(msg.link, 'link')),
          p(
            `The link expires in ${hours} and works only once. Anyone who has the link can set up the account, ` +
              'so do not forward this email.',
          ),
          p('If you were not expecting this invitation, you can ignore this email.'),
        ],
      };
    }
    case 'security_key_clone_suspected':
      return {
        subject: `Security alert: a security key of your ${P} account may have been copied`,
        preheader: `A security key on your ${P} account behaved like a copied key.`,
        blocks: [
          p(
            `A sign-in to your ${P} account used your security key "${clean(msg.deviceName)}", but the key ` +
              'reported a lower signature counter than before. A genuine key only counts up, so this can mean ' +
              'the key was copied (cloned) and someone is using the copy.',
          ),
          facts(['Security key', clean(msg.deviceName)], ['When', when(msg.at, 'en')]),
          p(`${adminNow} Until they have looked into it, treat this security key as compromised.`),
        ],
      };
    case 'sign_in_after_failures': {
      const failures = plural(count(msg.failures, 'failures'), 'failed attempt', 'failed attempts');
      return {
        subject: `New sign-in to your ${P} account after failed attempts`,
        preheader: `Someone signed in to your ${P} account after ${failures}.`,
        blocks: [
          p(`Someone signed in to your ${P} account after ${failures}.`),
          facts(
            ['When', when(msg.at, 'en')],
            msg.ip !== undefined && ['IP address', clean(msg.ip)],
            ['Failed attempts before this sign-in', String(msg.failures)],
          ),
          p('If this was you, for example after mistyping your password, you do not need to do anything.'),
          p(
            'If it was not, someone else knows your password. Change it now at ',
            { href: site },
            ' and contact your administrator.',
          ),
        ],
      };
    }
    default:
      return assertNever(msg);
  }
}
