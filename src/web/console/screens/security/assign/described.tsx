// A kind of device the console has no screen for, drawn from the server's description: a field
// per described field, a browser ceremony for a `webauthn` one, posted with the name.
import { callFactorRoute } from '../../../api/client';
import { LocalError } from '../../../api/errors';
import { t } from '../../../i18n';
import { CodeField, Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { createCredential } from '../../../webauthn';
import { labelText } from '../../sign-in/second-factor';
import { withStepUp } from '../../sign-in/step-up';
import { CancelButton } from '../parts';
import type { Assigned } from '.';
import type { Assignment } from './kinds';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The answer of a route this build's schema may not name, read for what the wizard needs. */
function asAssigned(answer: unknown): Assigned {
  if (!isRecord(answer)) return {};
  const device = isRecord(answer.device) && typeof answer.device.name === 'string' ? { name: answer.device.name } : undefined;
  const codes = Array.isArray(answer.recoveryCodes) ? answer.recoveryCodes.filter((c): c is string => typeof c === 'string') : undefined;
  return { ...(device ? { device } : {}), ...(codes ? { recoveryCodes: codes } : {}) };
}

export function DescribedSetup({ name, assignment, onBack, onAssigned }: { name: string; assignment: Assignment; onBack: () => void; onAssigned: (r: Assigned) => void }) {
  const path = `/api/v1/me/mfa-devices/${encodeURIComponent(assignment.path)}`;
  const description = labelText(assignment.description);
  const ceremony = async () => {
    if (!assignment.options) throw new LocalError(t('webauthn.unsupported'));
    return createCredential(await withStepUp(() => callFactorRoute(`${path}-options`, {})));
  };
  return (
    <Form
      submitLabel={t('assign.add')}
      secondary={<CancelButton onClick={onBack}>{t('common.back')}</CancelButton>}
      onSubmit={async (data) => {
        const body: Record<string, unknown> = { name };
        for (const f of assignment.fields) body[f.name] = f.kind === 'webauthn' ? await ceremony() : text(data, f.name);
        onAssigned(asAssigned(await withStepUp(() => callFactorRoute(path, body))));
      }}
    >
      {description && <p>{description}</p>}
      {assignment.fields.map((f, i) =>
        f.kind === 'webauthn' ? (
          <p>{labelText(f.label)}</p>
        ) : f.kind === 'code' ? (
          <CodeField label={labelText(f.label)} name={f.name} digits={[1, 32]} autoFocus={i === 0} />
        ) : (
          <Field label={labelText(f.label)} name={f.name} mono autoFocus={i === 0} autoComplete="off" spellcheck={false} autoCapitalize="none" maxLength={256} />
        ),
      )}
    </Form>
  );
}
