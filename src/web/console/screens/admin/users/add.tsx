// Add user: an email, a name and a role, and either an invitation by email (the default: the
// user chooses their own password) or a password set now.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import type { JsonBody } from '../../../api/types';
import { t } from '../../../i18n';
import { changed } from '../../../store';
import { announce } from '../../../ui/announce';
import { Dialog, showDialog } from '../../../ui/dialog';
import { Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { withStepUp } from '../../sign-in/step-up';
import { waitsForApproval } from './api';
import { roleLabel } from './words';

type NewUser = JsonBody<'/api/v1/admin/users', 'post'>;

function RoleSelect() {
  const id = useId('role');
  return (
    <div class="field">
      <label for={id}>{t('admin.col.role')}</label>
      <select id={id} name="role">
        <option value="user">{roleLabel('user')}</option>
        <option value="admin">{roleLabel('admin')}</option>
      </select>
    </div>
  );
}

function AddUserDialog({ close }: { close: (done?: boolean) => void }) {
  const [invite, setInvite] = useState(true);
  const name = useId('how');
  return (
    <Dialog title={t('admin.addUser')} onClose={() => close(false)}>
      <Form
        submitLabel={t(invite ? 'admin.addAndInvite' : 'admin.addUser')}
        onSubmit={async (data) => {
          const body: NewUser = { email: text(data, 'email'), role: text(data, 'role') === 'admin' ? 'admin' : 'user' };
          const n = text(data, 'name');
          if (n) body.name = n;
          if (!invite) body.password = String(data.get('password') ?? '');
          const answer = await withStepUp(() => call(client.POST('/api/v1/admin/users', { body })));
          const added = t(invite ? 'admin.userInvited' : 'admin.userAdded', { email: body.email });
          // A new administrator under the two-person rule: added as a user, the role waiting for approval.
          announce(waitsForApproval(answer) ? `${added} ${t('admin.approvalWaiting')}` : added);
          changed();
          close(true);
        }}
        secondary={
          <button type="button" class="btn" onClick={() => close(false)}>
            {t('common.cancel')}
          </button>
        }
      >
        <Field label={t('field.email')} name="email" type="email" autoComplete="off" maxLength={254} spellcheck={false} autoCapitalize="none" />
        <Field label={t('field.name')} name="name" optional autoComplete="off" maxLength={100} />
        <RoleSelect />
        <fieldset class="choices">
          <legend>{t('admin.passwordHow')}</legend>
          {([true, false] as const).map((inviting) => (
            <div class="choice">
              <input type="radio" name="how" id={`${name}-${String(inviting)}`} checked={invite === inviting} onChange={() => setInvite(inviting)} />
              <label for={`${name}-${String(inviting)}`}>
                <span class="choice-title">{t(inviting ? 'admin.passwordInvite' : 'admin.passwordSet')}</span>
                <span class="choice-text">{t(inviting ? 'admin.passwordInviteText' : 'admin.passwordSetText')}</span>
              </label>
            </div>
          ))}
        </fieldset>
        {!invite && <Field label={t('field.password')} name="password" type="password" autoComplete="new-password" minLength={15} hint={t('field.newPasswordHint')} autoFocus />}
      </Form>
    </Dialog>
  );
}

export function addUser(): Promise<boolean | undefined> {
  return showDialog<boolean>((close) => <AddUserDialog close={close} />);
}
