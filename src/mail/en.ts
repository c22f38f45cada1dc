/** English mail texts. */
import { type Draft, LOW_RECOVERY_CODES, assertNever, clean, code, count, deviceTypeLabel, facts, httpUrl, link, p, plural, when } from './document.js';
import type { AdminAction, MailMessage } from './messages.js';
import { originRows } from './user-agent.js';

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
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
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
            ...originRows(msg, 'en'),
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
            ...originRows(msg, 'en'),
          ),
          ...(msg.byAdmin
            ? [p('If you did not expect this, contact your administrator.')]
            : [
                p('If you removed it, you do not need to do anything.'),
                p(`If you did not, someone else may have access to your account. ${adminNow}`),
              ]),
        ],
      };
    case 'mfa_devices_reset': {
      const devices = plural(count(msg.count, 'count'), 'MFA device', 'MFA devices');
      return {
        subject: `An administrator deactivated the MFA devices of your ${P} account`,
        preheader: `Your ${devices} can no longer be used to sign in to ${P}.`,
        blocks: [
          p(
            `An administrator deactivated all multi-factor authentication (MFA) devices of your ${P} account (${devices}). ` +
              'They can no longer be used to sign in, and your recovery codes no longer work.',
          ),
          facts(['When', when(msg.at, 'en')], msg.mfaSetupDeadline !== undefined && ['Assign a new MFA device by', when(msg.mfaSetupDeadline, 'en')]),
          p('Sign in at ', { href: site }, ' and assign a new MFA device.'),
          p('If you did not ask for this, contact your administrator.'),
        ],
      };
    }
    case 'recovery_code_used': {
      const left = count(msg.remaining, 'remaining');
      return {
        subject: `A recovery code was used to sign in to ${P}`,
        preheader: `Someone signed in to your ${P} account with a recovery code.`,
        blocks: [
          p(`A recovery code was used to sign in to your ${P} account. Each recovery code works only once.`),
          facts(['When', when(msg.at, 'en')], ['Recovery codes left', String(left)], ...originRows(msg, 'en')),
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
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
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
          facts(['Security key', clean(msg.deviceName)], ['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
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
            ...originRows(msg, 'en'),
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
    case 'recovery_codes_regenerated': {
      const codes = plural(count(msg.count, 'count'), 'recovery code', 'recovery codes');
      return {
        subject: `New recovery codes were generated for your ${P} account`,
        preheader: `Your ${P} recovery codes were replaced; the old ones no longer work.`,
        blocks: [
          p(`A new set of ${codes} was generated for your ${P} account. The previous recovery codes no longer work.`),
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
          p('If you did this, keep the new codes somewhere safe. You do not need to do anything else.'),
          p(`If you did not, someone else has signed in to your account with your password and your MFA device. ${adminNow}`),
        ],
      };
    }
    case 'new_browser_sign_in':
      return {
        subject: `New sign-in to your ${P} account from a new browser`,
        preheader: `Your ${P} account was signed in to from a browser it was not used from before.`,
        blocks: [
          p(`Someone signed in to your ${P} account from a browser that had not been used with it before.`),
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
          p('If this was you (a new computer or phone, another browser, or cookies cleared), you do not need to do anything.'),
          p(
            'If it was not, someone else can sign in as you. Change your password now at ',
            { href: site },
            `, check your MFA devices and signed-in sessions there, and contact your administrator.`,
          ),
        ],
      };
    case 'admin_action':
      return {
        subject: `An administrator changed your ${P} account`,
        preheader: `An administrator made a change to your ${P} account.`,
        blocks: [
          p(`An administrator made this change to your ${P} account:`),
          ...msg.actions.map((a) => p(adminActionEn(a, msg.role))),
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
          p('If you expected this, you do not need to do anything.'),
          p(
            'If you did not, ask your administrator about it, through a way of reaching them you already know ' +
              'rather than by replying to this email.',
          ),
        ],
      };
    case 'lost_devices_link': {
      const minutes = plural(count(msg.expiresInMinutes, 'expiresInMinutes'), 'minute', 'minutes');
      const hours = plural(count(msg.coolingHours, 'coolingHours'), 'hour', 'hours');
      return {
        subject: `Recover access to your ${P} account`,
        preheader: `Open the link in this email to recover your ${P} account without your MFA devices.`,
        blocks: [
          p(`Someone asked to recover access to your ${P} account because the MFA devices were lost.`),
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
          p(`To continue, open this link. It expires in ${minutes} and works only once:`),
          link(httpUrl(msg.link, 'link')),
          p(
            `For your protection, opening the link starts a waiting period of ${hours}. Only after it can you sign in ` +
              'with your password and a code sent to this address. You will then assign a new MFA device, and all of ' +
              'your current MFA devices will be deactivated. Until then you can cancel at any time.',
          ),
          p(
            'If you did not ask for this, do not open the link: you can ignore this email, and your account stays as it is. ' +
              'If such emails keep coming, tell your administrator.',
          ),
        ],
      };
    }
    case 'recovery_started':
      return {
        subject: `Account recovery was started for your ${P} account`,
        preheader: 'Your MFA devices can be replaced once the waiting period ends. Cancel now if this was not you.',
        blocks: [
          p(`Account recovery was started for your ${P} account: the link to recover access without the MFA devices was opened.`),
          facts(['When', when(msg.at, 'en')], ['Waiting period ends', when(msg.until, 'en')], ...originRows(msg, 'en')),
          p(
            'When the waiting period ends, whoever knows your password and can read this mailbox can sign in, ' +
              'and all of your current MFA devices will be deactivated.',
          ),
          p('If this was you, wait until then and sign in at ', { href: site }, ' with your password and the code we email you.'),
          p('If this was not you, cancel the recovery now with this link, then change your password and tell your administrator:'),
          link(httpUrl(msg.cancelLink, 'cancelLink')),
          p('Signing in with one of your MFA devices cancels the recovery too.'),
        ],
      };
    case 'recovery_ended':
      return {
        subject: `The waiting period to recover your ${P} account is over`,
        preheader: `You can now sign in to ${P} with your password and an emailed code, and assign a new MFA device.`,
        blocks: [
          p(`The waiting period of the account recovery for your ${P} account is over.`),
          facts(['When', when(msg.at, 'en')], ['Recovery requested', when(msg.requestedAt, 'en')], ...originRows(msg, 'en')),
          p(
            'You can now sign in at ',
            { href: site },
            ' with your password and the code we email you. You will then assign a new MFA device; ' +
              'your old MFA devices will be deactivated.',
          ),
          p('If you did not ask for this, cancel the recovery right away with this link, and contact your administrator:'),
          link(httpUrl(msg.cancelLink, 'cancelLink')),
        ],
      };
    case 'recovery_cancelled':
      return {
        subject: `Account recovery for your ${P} account was cancelled`,
        preheader: `The account recovery for your ${P} account was cancelled; your MFA devices stay as they were.`,
        blocks: [
          p(
            msg.by === 'sign_in'
              ? `The account recovery for your ${P} account was cancelled because someone signed in with one of your MFA devices. ` +
                  'Your MFA devices stay as they were.'
              : `The account recovery for your ${P} account was cancelled. Your MFA devices stay as they were.`,
          ),
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
          p(msg.by === 'sign_in' ? 'If that sign-in was yours, you do not need to do anything.' : 'If you cancelled it, you do not need to do anything.'),
          msg.by === 'sign_in'
            ? p(`If it was not, someone else has your password and one of your MFA devices. ${adminNow}`)
            : p('If you did not, someone else is signed in to your account: change your password at ', { href: site }, ' and contact your administrator.'),
        ],
      };
    case 'recovery_completed': {
      const devices = plural(count(msg.devices, 'devices'), 'MFA device was', 'MFA devices were');
      return {
        subject: `The MFA devices of your ${P} account were deactivated`,
        preheader: `Your ${P} account was recovered: its MFA devices were deactivated.`,
        blocks: [
          p(
            `After the account recovery's waiting period, someone signed in to your ${P} account with your password and an ` +
              `emailed code. ${devices} deactivated, and a new one must be assigned now.`,
          ),
          facts(['When', when(msg.at, 'en')], ...originRows(msg, 'en')),
          p('If this was you, assign your new MFA device now if you have not yet, and keep its recovery codes safe.'),
          p(`If it was not, someone else has your password and can read your email. ${adminNow}`),
        ],
      };
    }
    default:
      return assertNever(msg);
  }
}

function adminActionEn(action: AdminAction, role: 'admin' | 'user' | undefined): string {
  switch (action) {
    case 'unlocked':
      return 'Sign-in was unlocked: the count of failed attempts starts again from zero.';
    case 'disabled':
      return 'Your account was disabled: it cannot sign in, and its sessions were ended.';
    case 'enabled':
      return 'Your account was enabled again: it can sign in.';
    case 'role_changed':
      return role === 'admin' ? 'Your role is now administrator.' : 'Your role is now user (no administration).';
    case 'renamed':
      return 'Your display name was changed.';
    case 'password_change_forced':
      return 'You must choose a new password the next time you sign in. Your sessions were ended.';
  }
}
