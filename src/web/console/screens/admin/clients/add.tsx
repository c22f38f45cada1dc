// Add application: the client's name, addresses and policy; then its ID and secret, shown once.
import { useState } from 'preact/hooks';
import { call, client } from '../../../api/client';
import type { JsonBody } from '../../../api/types';
import { t } from '../../../i18n';
import { changed } from '../../../store';
import { Dialog } from '../../../ui/dialog';
import { Field } from '../../../ui/field';
import { Form, text } from '../../../ui/form';
import { useId } from '../../../ui/ids';
import { withStepUp } from '../../sign-in/step-up';
import { Created, type NewClient } from './created';
import { LEVELS, levelName } from './levels';
import { groupNames, redirectUris } from './validate';

type Body = JsonBody<'/api/v1/admin/oidc-clients', 'post'>;

function UriField({ label, name, hint, optional = false }: { label: string; name: string; hint: string; optional?: boolean }) {
  const id = useId(name);
  return (
    <div class="field">
      <label for={id}>
        {label}
        {optional && <span class="optional"> {t('common.optional')}</span>}
      </label>
      <textarea id={id} name={name} rows={3} class="input mono" required={!optional} spellcheck={false} autoCapitalize="none" aria-describedby={`${id}-hint`} />
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    </div>
  );
}

function LevelField() {
  const id = useId('level');
  return (
    <div class="field">
      <label for={id}>{t('admin.clientLevel')}</label>
      <select id={id} name="minAcr">
        {LEVELS.map((acr) => (
          <option value={acr}>{levelName(acr)}</option>
        ))}
      </select>
    </div>
  );
}

function Check({ name, label, hint }: { name: string; label: string; hint: string }) {
  const id = useId(name);
  return (
    <div class="check-field">
      <div class="check">
        <input type="checkbox" id={id} name={name} aria-describedby={`${id}-hint`} />
        <label for={id}>{label}</label>
      </div>
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    </div>
  );
}

function bodyOf(data: FormData): Body {
  const minAcr = text(data, 'minAcr');
  const postLogout = redirectUris(text(data, 'postLogoutRedirectUris'), false);
  return {
    name: text(data, 'name'),
    redirectUris: redirectUris(text(data, 'redirectUris'), true),
    ...(postLogout.length ? { postLogoutRedirectUris: postLogout } : {}),
    public: data.get('public') === 'on',
    thirdParty: data.get('thirdParty') === 'on',
    allowedGroups: groupNames(text(data, 'groups')),
    ...(minAcr === 'urn:mamori:aal2' || minAcr === 'urn:mamori:phr' ? { minAcr } : {}),
  };
}

export function AddClientDialog({ onClose }: { onClose: () => void }) {
  const [made, setMade] = useState<NewClient | null>(null);
  if (made) {
    return (
      <Dialog title={t('admin.clientCreated')} onClose={onClose} locked={made.clientSecret !== undefined} wide>
        <Created made={made} onDone={onClose} />
      </Dialog>
    );
  }
  return (
    <Dialog title={t('admin.clientCreate')} onClose={onClose} wide>
      <Form
        class="client-form"
        submitLabel={t('admin.clientAdd')}
        secondary={
          <button type="button" class="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
        }
        onSubmit={async (data) => {
          const body = bodyOf(data);
          const r = await withStepUp(() => call(client.POST('/api/v1/admin/oidc-clients', { body })));
          setMade({ name: r.client.name, clientId: r.clientId, ...(r.clientSecret === undefined ? {} : { clientSecret: r.clientSecret }) });
          changed();
        }}
      >
        <Field label={t('admin.clientName')} name="name" maxLength={100} autoComplete="off" />
        <UriField label={t('admin.clientRedirectUris')} name="redirectUris" hint={t('admin.clientRedirectHint')} />
        <UriField label={t('admin.clientLogoutUris')} name="postLogoutRedirectUris" hint={t('admin.clientLogoutHint')} optional />
        <LevelField />
        <Field label={t('admin.clientGroups')} name="groups" hint={t('admin.clientGroupsHint')} optional autoComplete="off" spellcheck={false} autoCapitalize="none" />
        <Check name="public" label={t('admin.clientPublic')} hint={t('admin.clientPublicHint')} />
        <Check name="thirdParty" label={t('admin.clientThirdParty')} hint={t('admin.clientThirdPartyHint')} />
      </Form>
    </Dialog>
  );
}
