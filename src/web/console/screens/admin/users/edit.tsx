// Dialogs that change a user: their groups, and their role.
import { LocalError } from '../../../api/errors';
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { Dialog, showDialog } from '../../../ui/dialog';
import { Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { adminAct, type AdminUser } from './api';
import { roleLabel } from './words';

/** The group names the server takes (src/schemas/groups.ts), checked here so the message is in the user's language. */
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** "ops, dev ,staff" → ["ops", "dev", "staff"], or a refusal in the user's words. */
export function parseGroups(input: string): string[] {
  const names = input
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  if (!names.every((g) => GROUP_NAME.test(g))) throw new LocalError(t('admin.groupsInvalid'));
  return [...new Set(names)];
}

export function editGroups(u: Pick<AdminUser, 'id' | 'email' | 'groups'>): Promise<boolean | undefined> {
  return showDialog<boolean>((close) => (
    <Dialog title={t('admin.groupsTitle', { email: u.email })} onClose={() => close(false)}>
      <Form
        submitLabel={t('common.save')}
        onSubmit={async (data) => {
          const groups = parseGroups(text(data, 'groups'));
          await adminAct(() => call(client.PATCH('/api/v1/admin/users/{id}', { params: { path: { id: u.id } }, body: { groups } })), t('admin.groupsSaved', { email: u.email }));
          close(true);
        }}
        secondary={
          <button type="button" class="btn" onClick={() => close(false)}>
            {t('common.cancel')}
          </button>
        }
      >
        <Field label={t('admin.col.groups')} name="groups" optional autoComplete="off" spellcheck={false} autoCapitalize="none" value={u.groups.join(', ')} hint={t('admin.groupsHint')} />
      </Form>
    </Dialog>
  ));
}

function RoleChoice({ current }: { current: string }) {
  const name = useId('role');
  return (
    <fieldset class="choices">
      <legend>{t('admin.col.role')}</legend>
      {(['user', 'admin'] as const).map((role) => (
        <div class="choice">
          <input type="radio" name="role" id={`${name}-${role}`} value={role} checked={current === role} required />
          <label for={`${name}-${role}`}>
            <span class="choice-title">{roleLabel(role)}</span>
            <span class="choice-text">{t(role === 'admin' ? 'admin.roleAdminText' : 'admin.roleUserText')}</span>
          </label>
        </div>
      ))}
    </fieldset>
  );
}

/** Administrator or user; under the two-person rule a new administrator waits for a second one. */
export function changeRole(u: Pick<AdminUser, 'id' | 'email' | 'role'>): Promise<boolean | undefined> {
  return showDialog<boolean>((close) => (
    <Dialog title={t('admin.roleTitle', { email: u.email })} onClose={() => close(false)}>
      <Form
        submitLabel={t('common.save')}
        onSubmit={async (data) => {
          const role = text(data, 'role') === 'admin' ? 'admin' : 'user';
          if (role !== u.role) {
            await adminAct(() => call(client.PATCH('/api/v1/admin/users/{id}', { params: { path: { id: u.id } }, body: { role } })), t('admin.roleSaved', { email: u.email, role: roleLabel(role) }));
          }
          close(true);
        }}
        secondary={
          <button type="button" class="btn" onClick={() => close(false)}>
            {t('common.cancel')}
          </button>
        }
      >
        <RoleChoice current={u.role} />
      </Form>
    </Dialog>
  ));
}
