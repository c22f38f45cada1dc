// Lost MFA devices: #/lost-devices asks for a recovery link, #/recover (the mailed link) starts
// the 24-hour waiting period, #/recover-cancel (the cancel link) ends it. All work signed in or
// not: the cancel link must work wherever it is opened.
export { LostDevicesPage } from './lost';
export { RecoverPage } from './recover';
export { RecoverCancelPage } from './cancel';
