// A hardware TOTP token the administrator imported: its serial number and two consecutive codes.
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { withStepUp } from '../../sign-in/step-up';
import { Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { readTwoCodes, TwoCodes } from '../devices/two-codes';
import { CancelButton } from '../parts';
import type { Assigned } from '.';

export function HardwareSetup({ name, onBack, onAssigned }: { name: string; onBack: () => void; onAssigned: (r: Assigned) => void }) {
  return (
    <Form
      submitLabel={t('assign.add')}
      secondary={<CancelButton onClick={onBack}>{t('common.back')}</CancelButton>}
      onSubmit={async (data) => {
        const body = { name, serial: text(data, 'serial'), ...readTwoCodes(data) };
        onAssigned(await withStepUp(() => call(client.POST('/api/v1/me/mfa-devices/hardware', { body }))));
      }}
    >
      <Field label={t('assign.serial')} name="serial" hint={t('assign.serialHint')} mono autoComplete="off" spellcheck={false} autoCapitalize="none" maxLength={64} autoFocus />
      {/* Tokens show 6 or 8 digits. */}
      <TwoCodes digits={[6, 8]} autoFocus={false} />
    </Form>
  );
}
