// Step-up: a fresh second factor before a sensitive change or administration. `withStepUp(fn)`
// runs fn, and when the server answers 403 step_up_required, asks for the factor and runs it once more.
import { call, callFactorRoute, client } from '../../api/client';
import { ApiError, Cancelled } from '../../api/errors';
import type { JsonBody } from '../../api/types';
import { t } from '../../i18n';
import { ensureFactors, session, type Factor } from '../../store';
import { Dialog, showDialog } from '../../ui/dialog';
import { SecondFactor, type ProofBody } from './second-factor';

export interface StepUpOptions {
  /** Only a passkey or security key (an application asked for a phishing-resistant level). */
  keyOnly?: boolean;
  /** Why it is asked, instead of the general words. */
  intro?: string;
}

type StepUpBody = JsonBody<'/api/v1/me/step-up', 'post'>;

/** The methods the user can step up with, from their devices and the factors' descriptions. */
function methodsFor(types: ReadonlySet<string>, all: readonly Factor[], hasRecovery: boolean, keyOnly: boolean): string[] {
  const methods: string[] = [];
  if (!keyOnly && (types.has('totp') || types.has('hardware_totp'))) methods.push('totp');
  if (types.has('webauthn')) methods.push('webauthn');
  if (!keyOnly) {
    for (const f of all) {
      const owns = Object.keys(f.deviceLabels ?? {}).some((d) => types.has(d)) || f.assignments.some((a) => types.has(a.deviceType));
      if (owns && !methods.includes(f.id) && f.id !== 'recovery_code') methods.push(f.id);
    }
    if (hasRecovery) methods.push('recovery_code');
  }
  return methods;
}

/** The method that proves a device of this type (`hardware_totp` → `totp`), from the factors' descriptions. */
function methodOf(type: string, all: readonly Factor[]): string | null {
  if (type === 'totp' || type === 'hardware_totp') return 'totp';
  if (type === 'webauthn') return 'webauthn';
  return all.find((f) => Object.hasOwn(f.deviceLabels ?? {}, type) || f.assignments.some((a) => a.deviceType === type))?.id ?? null;
}

type Device = { type: string; lastUsedAt: string | null; createdAt?: string };

/** The method of the device used last: the step opens with it, as the sign-in does. */
function lastUsed(devices: readonly Device[] | null, all: readonly Factor[]): string | null {
  let best: { at: number; method: string } | null = null;
  for (const d of devices ?? []) {
    const at = Date.parse(d.lastUsedAt ?? d.createdAt ?? '');
    const method = methodOf(d.type, all);
    if (method && !Number.isNaN(at) && (!best || at > best.at)) best = { at, method };
  }
  return best?.method ?? null;
}

/** Asks for a second factor; resolves true once the session has a fresh one. */
export async function stepUp(opts: StepUpOptions = {}): Promise<boolean> {
  const [devices, described, recovery] = await Promise.all([
    call(client.GET('/api/v1/me/mfa-devices')).then((r) => r.devices, () => null),
    ensureFactors(),
    call(client.GET('/api/v1/me/recovery-codes')).then((r) => r.remaining > 0, () => true),
  ]);
  const types = new Set((devices ?? []).map((d) => d.type));
  const methods = devices === null ? ['totp', 'webauthn', 'recovery_code'] : methodsFor(types, described?.factors ?? [], recovery, opts.keyOnly === true);
  const done = await showDialog<boolean>((close) => (
    <Dialog title={t('stepUp.title')} onClose={() => close(false)}>
      {methods.length === 0 ? (
        <>
          <p>{t(opts.keyOnly ? 'stepUp.needKey' : 'stepUp.noDevice')}</p>
          <div class="form-actions">
            <a class="btn btn-primary" href="#/security" onClick={() => close(false)}>
              {t('mfa.assign')}
            </a>
          </div>
        </>
      ) : (
        <SecondFactor
          methods={methods}
          first={opts.keyOnly ? 'webauthn' : lastUsed(devices, described?.factors ?? [])}
          intro={opts.intro ?? t('stepUp.intro')}
          webauthnOptions={() => call(client.POST('/api/v1/me/step-up/webauthn-options', { body: {} }))}
          describedOptions={(id) => callFactorRoute(`/api/v1/me/step-up/${encodeURIComponent(id)}-options`, {})}
          submit={async (body: ProofBody) => {
            const r = await call(client.POST('/api/v1/me/step-up', { body: body as StepUpBody }));
            session.value = r.session;
            close(true);
          }}
        />
      )}
    </Dialog>
  ));
  return done === true;
}

/** Runs `fn`; when the server asks for a fresh second factor, asks for it and runs `fn` once more. */
export async function withStepUp<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'step_up_required')) throw err;
    if (!(await stepUp())) throw new Cancelled();
    return fn();
  }
}
