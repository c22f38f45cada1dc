// "Verify chain": the server re-computes every chain and checkpoint; the answer in words, and
// where the log was altered when it was.
import { call, client } from '../../../api/client';
import { fmtDate, t, tn } from '../../../i18n';
import { Alert } from '../../../ui/alert';
import { withStepUp } from '../../sign-in/step-up';

export const verifyChain = () => withStepUp(() => call(client.GET('/api/v1/admin/audit/verify')));
export type LogCheck = Awaited<ReturnType<typeof verifyChain>>;

export function VerifyResult({ check }: { check: LogCheck }) {
  const scope = tn('admin.auditScope', check.chains, { checkpoints: check.checkpoints });
  const last = check.lastCheckpoint ? t('admin.auditLastCheckpoint', { at: fmtDate(new Date(check.lastCheckpoint.at).toISOString()) }) : null;
  if (check.valid) {
    return (
      <Alert kind="success" title={tn('admin.auditValid', check.events)}>
        <p>{scope}</p>
        {last && <p>{last}</p>}
        {check.unkeyed > 0 && <p>{tn('admin.auditUnkeyed', check.unkeyed)}</p>}
      </Alert>
    );
  }
  return (
    <Alert
      kind="error"
      title={check.firstBrokenId === undefined ? tn('admin.auditBrokenCheckpoint', check.events) : t('admin.auditBroken', { id: check.firstBrokenId, n: check.events })}
    >
      <p>{t('admin.auditBrokenAdvice')}</p>
      <p>{scope}</p>
    </Alert>
  );
}
