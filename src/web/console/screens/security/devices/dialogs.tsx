// Rename, resynchronize and remove one MFA device, each in a dialog opened from its row.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { t } from '../../../i18n';
import { changed } from '../../../store';
import { announce } from '../../../ui/announce';
import { Dialog, showDialog } from '../../../ui/dialog';
import { Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { withStepUp } from '../../sign-in/step-up';
import { CancelButton, type Device } from '../parts';
import { confirmAct } from '../../../ui/confirm';
import { readTwoCodes, TwoCodes } from './two-codes';

const at = (device: Device) => ({ params: { path: { id: device.id } } });

/** What is typed stays in state: the dialog draws again (the language switched) without putting the old name back. */
function RenameForm({ device, close }: { device: Device; close: () => void }) {
  const [name, setName] = useState(device.name);
  return (
    <Form
      submitLabel={t('common.save')}
      secondary={<CancelButton onClick={close} />}
      onSubmit={async (data) => {
        await call(client.PATCH('/api/v1/me/mfa-devices/{id}', { ...at(device), body: { name: text(data, 'name') } }));
        close();
        announce(t('mfa.renamed'));
        changed();
      }}
    >
      <Field label={t('mfa.deviceName')} name="name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} maxLength={100} autoComplete="off" />
    </Form>
  );
}

export function renameDevice(device: Device): void {
  void showDialog((close) => (
    <Dialog title={t('mfa.renameTitle')} onClose={() => close()}>
      <RenameForm device={device} close={() => close()} />
    </Dialog>
  ));
}

export function resyncDevice(device: Device): void {
  // Hardware tokens may show 8 digits; apps show 6.
  const digits = device.type === 'totp' ? ([6, 6] as const) : ([6, 8] as const);
  void showDialog((close) => (
    <Dialog title={t('mfa.resyncTitle')} onClose={() => close()}>
      <Form
        submitLabel={t('mfa.resync')}
        secondary={<CancelButton onClick={() => close()} />}
        onSubmit={async (data) => {
          await call(client.POST('/api/v1/me/mfa-devices/{id}/resync', { ...at(device), body: readTwoCodes(data) }));
          close();
          announce(t('mfa.resynced'));
          changed();
        }}
      >
        <p>{t('mfa.resyncIntro', { name: device.name })}</p>
        <TwoCodes digits={digits} />
      </Form>
    </Dialog>
  ));
}

export async function removeDevice(device: Device, count: number): Promise<void> {
  const text = [t('mfa.removeConfirm', { name: device.name })];
  if (count === 1) text.push(t('mfa.removeLast'));
  const removed = await confirmAct({
    title: t('mfa.removeTitle'),
    text,
    confirmLabel: t('mfa.remove'),
    danger: true,
    // Refused with 409 last_device while MFA is required: shown in the dialog in words (problem.last_device).
    action: () => withStepUp(() => call(client.DELETE('/api/v1/me/mfa-devices/{id}', at(device)))),
  });
  if (!removed) return;
  announce(t('mfa.removed', { name: device.name }));
  changed();
}
