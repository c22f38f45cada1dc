// The top of a user's page: who they are, their status, role and groups, and the acts on the
// account (disable or enable, unlock, resend the invitation, change the role, edit the groups).
import type { ComponentChildren } from 'preact';
import { fmtDate, t, tKnown } from '../../../i18n';
import { session, useLoad } from '../../../store';
import { Alert } from '../../../ui/alert';
import { ActionButton } from '../../../ui/button';
import { Panel } from '../../../ui/page';
import { approvalText } from '../approvals/words';
import { resendInvitation, setDisabled, unlock } from './acts';
import { loadApprovals, type AdminUser } from './api';
import { DateText, Groups, MfaCell, Statuses } from './cells';
import { changeRole, editGroups } from './edit';
import { roleLabel } from './words';

function Fact({ label, children, action }: { label: string; children: ComponentChildren; action?: ComponentChildren }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd>
        <span class="fact-value">{children}</span>
        {action}
      </dd>
    </div>
  );
}

function Invitation({ user: u }: { user: AdminUser }) {
  const at = u.invitationExpiresAt;
  if (at === null) return <>{t('admin.invitationNone')}</>;
  return <>{t(Date.parse(at) > Date.now() ? 'admin.invitationExpires' : 'admin.invitationExpired', { date: fmtDate(at) })}</>;
}

/** Requests about this user that wait for a second administrator. */
function Waiting({ user: u }: { user: AdminUser }) {
  const list = useLoad(loadApprovals).data?.approvals.filter((a) => a.status === 'pending' && a.target.id === u.id) ?? [];
  if (list.length === 0) return null;
  return (
    <Alert kind="info" title={t('admin.userWaiting')}>
      <ul class="plain-list">
        {list.map((a) => (
          <li>{approvalText(a)}</li>
        ))}
      </ul>
      <p>
        <a href="#/admin/approvals">{t('admin.openApprovals')}</a>
      </p>
    </Alert>
  );
}

export function UserDetails({ user: u }: { user: AdminUser }) {
  const self = u.id === session.value?.user.id;
  const email = { email: u.email };
  const actions = (
    <>
      {u.invited && !u.disabled && (
        <ActionButton variant="primary" label={t('admin.resendInvitationNamed', email)} action={() => resendInvitation(u)}>
          {t('admin.resendInvitation')}
        </ActionButton>
      )}
      {u.locked && (
        <button type="button" class="btn" aria-label={t('admin.unlockNamed', email)} onClick={() => void unlock(u)}>
          {t('admin.unlock')}
        </button>
      )}
      {!self && (
        <button type="button" class={u.disabled ? 'btn' : 'btn btn-danger'} aria-label={t(u.disabled ? 'admin.enableNamed' : 'admin.disableNamed', email)} onClick={() => void setDisabled(u, !u.disabled)}>
          {t(u.disabled ? 'admin.enable' : 'admin.disable')}
        </button>
      )}
    </>
  );
  return (
    <Panel title={u.email} description={u.name} actions={actions}>
      <div class="panel-body">
        <Waiting user={u} />
        <dl class="facts">
          <Fact label={t('admin.col.status')}>
            <Statuses user={u} />
          </Fact>
          <Fact
            label={t('admin.col.role')}
            action={
              !self && (
                <button type="button" class="btn btn-small" aria-label={t('admin.changeRoleNamed', email)} onClick={() => void changeRole(u)}>
                  {t('admin.changeRole')}
                </button>
              )
            }
          >
            {roleLabel(u.role)}
          </Fact>
          <Fact
            label={t('admin.col.groups')}
            action={
              <button type="button" class="btn btn-small" aria-label={t('admin.editGroupsNamed', email)} onClick={() => void editGroups(u)}>
                {t('admin.editGroups')}
              </button>
            }
          >
            <Groups groups={u.groups} />
          </Fact>
          <Fact label={t('admin.col.mfa')}>
            <MfaCell user={u} />
          </Fact>
          <Fact label={t('admin.col.lastSignIn')}>
            <DateText iso={u.lastSignInAt} />
          </Fact>
          <Fact label={t('admin.col.created')}>
            <DateText iso={u.createdAt} />
          </Fact>
          <Fact label={t('admin.col.language')}>{tKnown(`lang.${u.locale}`, u.locale)}</Fact>
          {u.invited && (
            <Fact label={t('admin.col.invitation')}>
              <Invitation user={u} />
            </Fact>
          )}
        </dl>
      </div>
    </Panel>
  );
}
