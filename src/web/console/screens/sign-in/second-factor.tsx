// The second step, for sign-in and for step-up alike: one method at a time, the first the
// caller chooses (the user's last used), links to the others. A factor the console has no
// screen for is drawn from its own description (GET /api/v1/factors `proof` fields), so a new
// factor needs no console code.
import { useState } from 'preact/hooks';
import { factors, type Factor } from '../../store';
import { lang, t } from '../../i18n';
import { CodeField, Field } from '../../ui/field';
import { Form, text } from '../../ui/form';
import { getAssertion } from '../../webauthn';

/** What a second step posts: `{method:"totp", code}`, `{method:"webauthn", credential}`, or a described factor's fields. */
export type ProofBody = { method: string } & Record<string, unknown>;

/** Methods with a screen of their own here; any other is drawn from its description. */
const OWN = new Set(['totp', 'webauthn', 'recovery_code']);

export const factorById = (id: string): Factor | undefined => factors.value?.factors.find((f) => f.id === id);

/** A label the server sent ({en, ja}) in the user's language. */
export const labelText = (label: { en: string; ja: string } | undefined): string => (label ? label[lang.value] || label.en : '');

export const methodLabel = (id: string): string => labelText(factorById(id)?.label) || id;

export interface SecondFactorProps {
  methods: readonly string[];
  first?: string | null;
  /** Posts the proof; a rejection shows under the form. */
  submit: (body: ProofBody) => Promise<unknown>;
  /** Asks the server for WebAuthn request options (sign-in or step-up). */
  webauthnOptions: () => Promise<unknown>;
  /** Options for a described factor's browser ceremony (`{id}-options`). */
  describedOptions?: (id: string) => Promise<unknown>;
  /** Words above the form (step-up says why it asks). */
  intro?: string;
  /** Extra fields inside each form (sign-in's "Remember this browser"). */
  extra?: preact.ComponentChildren;
  /** Reads the extra fields into the body. */
  readExtra?: (data: FormData) => Record<string, unknown>;
}

/** A refused code is emptied (and focused) for the next try; other fields keep what was typed. */
async function clearCodesOnError(form: HTMLFormElement, run: () => Promise<unknown>): Promise<unknown> {
  try {
    return await run();
  } catch (err) {
    const codes = form.querySelectorAll<HTMLInputElement>('input[autocomplete="one-time-code"], input[name="code"]');
    for (const c of codes) c.value = '';
    codes[0]?.focus();
    throw err;
  }
}

/** The order a second step offers its methods in: `first`, then codes, described factors, keys, recovery codes. */
export function orderMethods(methods: readonly string[], first?: string | null): string[] {
  const rank = (m: string) => (m === first ? 0 : m === 'totp' ? 1 : !OWN.has(m) ? 2 : m === 'webauthn' ? 3 : 4);
  return [...methods].sort((a, b) => rank(a) - rank(b));
}

export function SecondFactor({ methods, first, submit, webauthnOptions, describedOptions, intro, extra, readExtra }: SecondFactorProps) {
  const ordered = orderMethods(methods, first);
  const [mode, setMode] = useState(ordered[0] ?? 'totp');
  const withExtra = (data: FormData, body: ProofBody): ProofBody => (readExtra ? { ...body, ...readExtra(data) } : body);
  const others = ordered.filter((m) => m !== mode);
  const switchLabel = (m: string) =>
    m === 'totp' ? t('mfa.useCode') : m === 'webauthn' ? t('mfa.usePasskey') : m === 'recovery_code' ? t('mfa.useRecoveryCode') : t('mfa.useMethod', { method: methodLabel(m) });
  let body: preact.ComponentChildren;
  if (mode === 'totp' || mode === 'recovery_code') {
    body = (
      <Form key={mode} submitLabel={t('common.verify')} onSubmit={(data, form) => clearCodesOnError(form, () => submit(withExtra(data, { method: mode, code: text(data, 'code') })))}>
        {mode === 'totp' ? (
          <CodeField label={t('mfa.code')} digits={[6, 8]} hint={t('mfa.codeHint')} autoFocus />
        ) : (
          <Field label={t('mfa.recoveryCode')} name="code" hint={t('mfa.recoveryCodeHint')} mono autoFocus autoComplete="off" spellcheck={false} autoCapitalize="none" maxLength={32} />
        )}
        {extra}
      </Form>
    );
  } else if (mode === 'webauthn') {
    body = (
      <Form key={mode} submitLabel={t('mfa.usePasskey')} onSubmit={async (data) => submit(withExtra(data, { method: 'webauthn', credential: await getAssertion(await webauthnOptions()) }))}>
        <p>{t('mfa.passkeyPrompt')}</p>
        {extra}
      </Form>
    );
  } else {
    body = <DescribedProof id={mode} submit={submit} options={describedOptions} extra={extra} readExtra={readExtra} />;
  }
  return (
    <div class="second-factor">
      {intro && <p>{intro}</p>}
      {mode !== 'totp' && mode !== 'webauthn' && mode !== 'recovery_code' && <p class="method-name">{methodLabel(mode)}</p>}
      {body}
      {others.length > 0 && (
        <ul class="links">
          {others.map((m) => (
            <li>
              <button type="button" class="link" onClick={() => setMode(m)}>
                {switchLabel(m)}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A factor the console knows only by its description: its proof fields, in one form. */
function DescribedProof({ id, submit, options, extra, readExtra }: { id: string; submit: (b: ProofBody) => Promise<unknown>; options?: (id: string) => Promise<unknown>; extra?: preact.ComponentChildren; readExtra?: (data: FormData) => Record<string, unknown> }) {
  const proof = factorById(id)?.proof ?? [{ name: 'code', kind: 'code' as const, label: { en: t('mfa.code'), ja: t('mfa.code') } }];
  return (
    <Form
      submitLabel={t('common.verify')}
      onSubmit={(data, form) =>
        clearCodesOnError(form, async () => {
          const body: ProofBody = { method: id };
          for (const f of proof) body[f.name] = f.kind === 'webauthn' ? await getAssertion(await options?.(id)) : text(data, f.name);
          await submit(readExtra ? { ...body, ...readExtra(data) } : body);
        })
      }
    >
      {proof.map((f, i) =>
        f.kind === 'webauthn' ? (
          <p>{labelText(f.label)}</p>
        ) : f.kind === 'code' ? (
          <CodeField label={labelText(f.label)} name={f.name} digits={[1, 32]} autoFocus={i === 0} />
        ) : (
          <Field label={labelText(f.label)} name={f.name} mono autoFocus={i === 0} autoComplete="off" spellcheck={false} autoCapitalize="none" maxLength={256} />
        ),
      )}
      {extra}
    </Form>
  );
}
