// The console's pages and who may see them. Each page is a component of its own folder under
// screens/; this table is the only place that names them all.
import type { FunctionComponent } from 'preact';
import type { MessageKey } from './i18n';
import { SetupPage } from './screens/setup';
import { InvitePage } from './screens/setup/invite';
import { SignInPage } from './screens/sign-in';
import { LostDevicesPage, RecoverCancelPage, RecoverPage } from './screens/recover';
import { ConsentPage } from './screens/consent';
import { SecurityPage } from './screens/security';
import { UsersPage } from './screens/admin/users';
import { UserPage } from './screens/admin/users/user';
import { ApprovalsPage } from './screens/admin/approvals';
import { ClientsPage } from './screens/admin/clients';
import { TokensPage } from './screens/admin/tokens';
import { AuditPage } from './screens/admin/audit';

/** `setup`: only before the first user; `public`: anyone; `signedOut`: the sign-in; `user`, `admin`: signed in. */
export type Access = 'setup' | 'public' | 'signedOut' | 'user' | 'admin';

export interface PageRoute {
  access: Access;
  title: MessageKey;
  view: FunctionComponent;
}

export const ROUTES: Readonly<Record<string, PageRoute>> = {
  '/setup': { access: 'setup', title: 'setup.title', view: SetupPage },
  '/sign-in': { access: 'signedOut', title: 'signIn.title', view: SignInPage },
  '/invite': { access: 'public', title: 'invite.title', view: InvitePage },
  '/lost-devices': { access: 'public', title: 'lost.title', view: LostDevicesPage },
  '/recover': { access: 'public', title: 'recover.title', view: RecoverPage },
  '/recover-cancel': { access: 'public', title: 'recoverCancel.title', view: RecoverCancelPage },
  '/consent': { access: 'public', title: 'consent.title', view: ConsentPage },
  '/security': { access: 'user', title: 'security.title', view: SecurityPage },
  '/admin/users': { access: 'admin', title: 'admin.title', view: UsersPage },
  '/admin/user': { access: 'admin', title: 'admin.title', view: UserPage },
  '/admin/approvals': { access: 'admin', title: 'admin.title', view: ApprovalsPage },
  '/admin/applications': { access: 'admin', title: 'admin.title', view: ClientsPage },
  '/admin/tokens': { access: 'admin', title: 'admin.title', view: TokensPage },
  '/admin/audit': { access: 'admin', title: 'admin.title', view: AuditPage },
};
