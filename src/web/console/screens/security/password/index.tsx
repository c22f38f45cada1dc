// A new password: the current one, the new one twice; a fresh second factor when the user has MFA.
import { call, client } from '../../../api/client';
import { LocalError } from '../../../api/errors';
import { t } from '../../../i18n';
import { changed } from '../../../store';
import { announce } from '../../../ui/announce';
import { Field } from '../../../ui/field';
import { Form } from '../../../ui/form';
import { Panel } from '../../../ui/page';
import { withStepUp } from '../../sign-in/step-up';

/** Passwords are taken as typed: a space at either end is part of them. */
const raw = (data: FormData, name: string) => String(data.get(name) ?? '');

export function PasswordPanel({ email }: { email: string }) {
  return (
    <Panel title={t('password.title')} description={t('password.description')}>
      <div class="panel-body">
        <Form
          class="form-narrow"
          submitLabel={t('password.submit')}
          resetOnSuccess
          onSubmit={async (data) => {
            const body = { currentPassword: raw(data, 'currentPassword'), newPassword: raw(data, 'newPassword') };
            if (body.newPassword !== raw(data, 'confirm')) throw new LocalError(t('password.mismatch'));
            await withStepUp(() => call(client.PUT('/api/v1/me/password', { body })));
            announce(t('password.changed'));
            changed();
          }}
        >
          {/* For password managers: which account this password belongs to. */}
          <input type="text" name="username" autoComplete="username" defaultValue={email} hidden readOnly tabIndex={-1} aria-hidden="true" />
          <Field label={t('password.current')} name="currentPassword" type="password" autoComplete="current-password" />
          <Field label={t('password.new')} name="newPassword" type="password" autoComplete="new-password" minLength={15} hint={t('field.newPasswordHint')} />
          <Field label={t('password.confirm')} name="confirm" type="password" autoComplete="new-password" />
        </Form>
      </div>
    </Panel>
  );
}
