// "Assign MFA device", a wizard in one dialog: ① a name, ② the kind of device, ③ its set-up
// (④ the codes, for an app), then the recovery codes with the first device. Every step is
// announced by the dialog's title and "Step n of m"; focus moves to each step's first field.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import type { JsonAnswer } from '../../../api/types';
import { t } from '../../../i18n';
import { replace } from '../../../router';
import { changed, factors, notice, refreshSession, session } from '../../../store';
import { announce } from '../../../ui/announce';
import { Dialog, showDialog } from '../../../ui/dialog';
import { withStepUp } from '../../sign-in/step-up';
import { RecoveryCodes } from '../recovery/codes';
import { AppCodes, AppSetup, type Pending } from './app';
import { DescribedSetup } from './described';
import { HardwareSetup } from './hardware';
import { kindsFrom, type Kind } from './kinds';
import { PasskeySetup } from './passkey';
import { ChooseStep, NameStep } from './start';

type Step = 'name' | 'choose' | 'setup' | 'codes' | 'recovery';

/** What an assignment answers: the device, and the recovery codes with the first one. */
export interface Assigned {
  device?: { name: string };
  recoveryCodes?: readonly string[];
}

type TotpAnswer = JsonAnswer<'/api/v1/me/mfa-devices/totp', 'post', 201>;
const isPending = (r: TotpAnswer): r is Extract<TotpAnswer, { status: 'pending' }> => 'status' in r && r.status === 'pending';

/** Opens the wizard; resolves when it closes (assigned or not). */
export function openAssignWizard(): Promise<unknown> {
  return showDialog((close) => <AssignWizard close={close} />);
}

/** Each step starts at its first field, else at the dialog's title (read out first). */
function StepBody({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>('input:not([type=hidden]):not([type=radio]):not([type=checkbox]), input[type=radio]:checked, select, textarea');
    (first ?? el?.closest('dialog')?.querySelector<HTMLElement>('.dialog-title'))?.focus();
  }, []);
  return (
    <div class="wizard-step" ref={ref}>
      {children}
    </div>
  );
}

function setupTitle(kind: Kind | undefined): string {
  if (kind?.path === 'webauthn') return t('assign.passkeyTitle');
  if (kind?.path === 'totp') return t('assign.appTitle');
  if (kind?.path === 'hardware') return t('assign.hardwareTitle');
  return t('assign.genericTitle', { method: kind?.label ?? '' });
}

/**
 * A session that could only assign a device is a full one once it has one. Should the server
 * not have raised it, the user signs in again with the new device.
 */
async function settleSession(): Promise<void> {
  if (!session.value?.mfaSetupRequired) return;
  await refreshSession();
  if (!session.value?.mfaSetupRequired) return;
  await call(client.POST('/api/v1/sign-out')).catch(() => undefined);
  session.value = null;
  notice.value = { kind: 'info', text: t('assign.signInAgain') };
  replace('/sign-in');
}

function AssignWizard({ close }: { close: (v?: unknown) => void }) {
  const kinds = kindsFrom(factors.value);
  const [step, setStep] = useState<Step>('name');
  const [name, setName] = useState('');
  const [path, setPath] = useState(kinds[0]?.path ?? 'webauthn');
  const [pending, setPending] = useState<Pending | null>(null);
  const [codes, setCodes] = useState<readonly string[]>([]);
  const [assignedName, setAssignedName] = useState('');
  const kind = kinds.find((k) => k.path === path);

  const finish = (deviceName: string) => {
    close(true);
    announce(t('assign.done', { name: deviceName }));
    void settleSession();
  };
  const assigned = (r: Assigned) => {
    // Every panel at once: the list, the recovery count, Sessions (now with MFA) and Recent activity.
    changed();
    const deviceName = r.device?.name ?? name;
    if (r.recoveryCodes && r.recoveryCodes.length > 0) {
      setAssignedName(deviceName);
      setCodes(r.recoveryCodes);
      setStep('recovery');
    } else finish(deviceName);
  };
  const chosen = async (next: string) => {
    setPath(next);
    if (next === 'totp' && (pending === null || pending.name !== name)) {
      const r = await withStepUp(() => call(client.POST('/api/v1/me/mfa-devices/totp', { body: { name } })));
      if (!isPending(r)) return assigned(r);
      setPending(r);
    }
    setStep('setup');
  };

  const total = path === 'totp' ? 4 : 3;
  const n = { name: 1, choose: 2, setup: 3, codes: 4, recovery: 0 }[step];
  const title = step === 'name' ? t('assign.title') : step === 'choose' ? t('assign.chooseTitle') : step === 'recovery' ? t('recovery.saveTitle') : setupTitle(kind);
  const back = () => setStep(step === 'codes' ? 'setup' : step === 'setup' ? 'choose' : 'name');

  let body: ComponentChildren = null;
  if (step === 'name') body = <NameStep name={name} onCancel={() => close()} onNext={(v) => (setName(v), setStep('choose'))} />;
  else if (step === 'choose') body = <ChooseStep kinds={kinds} chosen={path} onBack={back} onNext={chosen} />;
  else if (step === 'recovery') body = <RecoveryCodes codes={codes} onDone={() => finish(assignedName)} />;
  else if (path === 'totp' && pending) body = step === 'setup' ? <AppSetup pending={pending} onBack={back} onNext={() => setStep('codes')} /> : <AppCodes pending={pending} onBack={back} onAssigned={assigned} />;
  else if (path === 'hardware') body = <HardwareSetup name={name} onBack={back} onAssigned={assigned} />;
  else if (path === 'webauthn') body = <PasskeySetup name={name} onBack={back} onAssigned={assigned} />;
  else if (kind?.described) body = <DescribedSetup name={name} assignment={kind.described} onBack={back} onAssigned={assigned} />;

  return (
    <Dialog title={title} wide locked={step === 'recovery'} onClose={() => close()}>
      <StepBody key={step}>
        {n > 0 && <p class="step-label">{t('assign.step', { n, total })}</p>}
        {body}
      </StepBody>
    </Dialog>
  );
}
