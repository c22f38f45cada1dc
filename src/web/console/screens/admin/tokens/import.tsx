// Importing a vendor's PSKC file (RFC 6030): the file, and for an encrypted one its pre-shared key
// (hex) or passphrase, which vendors send apart from the file. Both go in the JSON body, so a
// passphrase in any script arrives intact (a header carries Latin-1 at most).
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import { LocalError } from '../../../api/errors';
import { t, tn } from '../../../i18n';
import { changed } from '../../../store';
import { Alert } from '../../../ui/alert';
import { Field } from '../../../ui/field';
import { Form } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { Table } from '../../../ui/table';
import { withStepUp } from '../../sign-in/step-up';
import { skipReason } from './words';

type Result = Awaited<ReturnType<typeof upload>>;

const upload = (body: { pskc: string; key?: string; passphrase?: string }) => withStepUp(() => call(client.POST('/api/v1/admin/hardware-tokens', { body })));

/** "12 34 56 …" or "12:34:…" as vendors print it → plain hex, or a refusal in words. */
function keyHex(raw: string): string | undefined {
  const hex = raw.replace(/[\s:]/g, '');
  if (hex === '') return undefined;
  if (!/^(?:[0-9a-fA-F]{2}){16,32}$/.test(hex)) throw new LocalError(t('admin.tokensKeyInvalid'));
  return hex.toLowerCase();
}

function FileField({ name }: { name: string }) {
  const id = useId(name);
  return (
    <div class="field">
      <label for={id}>{t('admin.tokensFile')}</label>
      <input type="file" id={id} name={name} required accept=".pskc,.xml,application/pskc+xml,application/xml,text/xml" aria-describedby={`${id}-hint`} />
      <p class="hint" id={`${id}-hint`}>
        {t('admin.tokensFileHint')}
      </p>
    </div>
  );
}

function Outcome({ result }: { result: Result }) {
  const skipped = result.skipped;
  return (
    <div class="import-result">
      <Alert kind={result.imported > 0 ? 'success' : 'info'} title={tn('admin.tokensImported', result.imported, { skipped: skipped.length })} />
      {skipped.length > 0 && (
        <>
          <h3>{t('admin.tokensSkipped')}</h3>
          <Table
            caption={t('admin.tokensSkipped')}
            columns={[
              { label: t('admin.col.serial'), primary: true, cell: (x) => <code>{x.serial}</code> },
              { label: t('admin.col.reason'), cell: (x) => skipReason(x.reason) },
            ]}
            rows={skipped}
            rowKey={(x) => x.serial}
          />
        </>
      )}
    </div>
  );
}

export function ImportForm() {
  const [result, setResult] = useState<Result | null>(null);
  return (
    <>
      <Form
        class="tokens-form"
        submitLabel={t('admin.tokensImport')}
        resetOnSuccess
        onSubmit={async (data) => {
          setResult(null);
          const file = data.get('file');
          if (!(file instanceof File) || file.size === 0) throw new LocalError(t('admin.tokensFileMissing'));
          const key = keyHex(String(data.get('key') ?? ''));
          const passphrase = String(data.get('passphrase') ?? '');
          const body = { pskc: await file.text(), ...(key ? { key } : {}), ...(passphrase ? { passphrase } : {}) };
          setResult(await upload(body));
          changed();
        }}
      >
        <FileField name="file" />
        <fieldset class="fieldset">
          <legend>{t('admin.tokensProtection')}</legend>
          <p class="hint">{t('admin.tokensProtectionHint')}</p>
          <Field label={t('admin.tokensKey')} name="key" hint={t('admin.tokensKeyHint')} optional mono autoComplete="off" spellcheck={false} autoCapitalize="none" maxLength={200} />
          <Field label={t('admin.tokensPassphrase')} name="passphrase" type="password" hint={t('admin.tokensPassphraseHint')} optional autoComplete="off" maxLength={256} />
        </fieldset>
      </Form>
      {result && <Outcome result={result} />}
    </>
  );
}
