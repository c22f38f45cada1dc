// Mamori console: a small single-page app with hash routes, no framework and no build step.
// Rules this file keeps: text goes in with textContent (never innerHTML), no inline styles or
// scripts (the server's CSP forbids them), no secret is kept in storage or in the URL, every
// request is same-origin with JSON bodies.
import { dict } from './i18n.js';

// ---------------------------------------------------------------------------------------------
// Language

const LANG_KEY = 'mamori.lang';
const LANGS = /** @type {const} */ (['en', 'ja']);

function readSavedLang() {
  try {
    const v = localStorage.getItem(LANG_KEY);
    return v && Object.hasOwn(dict, v) ? v : null;
  } catch {
    return null;
  }
}

function pickLang() {
  const saved = readSavedLang();
  if (saved) return saved;
  const nav = (navigator.language || 'en').toLowerCase();
  return nav === 'ja' || nav.startsWith('ja-') ? 'ja' : 'en';
}

/** The current language's text for `key`, with `{name}` placeholders filled in. */
function t(key, vars) {
  const table = dict[state.lang] ?? dict.en;
  let s = Object.hasOwn(table, key) ? table[key] : Object.hasOwn(dict.en, key) ? dict.en[key] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (Object.hasOwn(vars, k) ? String(vars[k]) : m));
  return s;
}
const has = (key) => Object.hasOwn(dict[state.lang] ?? dict.en, key);

/** `t` for a count: `key.one` when the language has a singular form for n = 1, else `key`. */
function tn(key, n, vars) {
  const one = `${key}.one`;
  const form = new Intl.PluralRules(locale()).select(n) === 'one' && has(one) ? one : key;
  return t(form, { ...vars, n });
}

function locale() {
  return state.lang === 'ja' ? 'ja-JP' : 'en';
}

function fmtDate(iso) {
  if (!iso) return t('common.never');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** A timestamp as a <time> element that does not wrap inside a table cell. */
function dateEl(iso) {
  return iso ? h('time', { datetime: iso, class: 'date' }, fmtDate(iso)) : fmtDate(iso);
}

function fmtWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return t('time.seconds', { n: s });
  const m = Math.ceil(s / 60);
  if (m < 120) return t('time.minutes', { n: m });
  return t('time.hours', { n: Math.ceil(m / 60) });
}

// ---------------------------------------------------------------------------------------------
// State (in memory only: nothing secret is ever written to storage or to the address)

const state = {
  lang: 'en',
  setupNeeded: false,
  /** GET /api/v1/session, or null when signed out. */
  session: null,
  /** Where sign-in stands: `password`, `email_code` or `mfa` (no codes or passwords kept). */
  signIn: { step: 'password', email: '', methods: [], mode: 'totp' },
  /** A one-time message for the next page (signed out, session ended, setup done). */
  notice: null,
  /** A same-origin address to return to after sign-in (`?rd=`). */
  returnTo: null,
  /** forward-auth's `#/sign-in?rd=…&aal=…`: `{rd, aal}`, followed only when GET /api/v1/return-to approves it. */
  forwardReturn: null,
  /** The token of an invitation link, taken out of the address bar as soon as it is read. */
  inviteToken: null,
  /** The token of a recovery link or of its cancel link (`#/recover?token=`, `#/recover/cancel?token=`), likewise. */
  recoverToken: null,
  cancelToken: null,
  /** GET /api/v1/factors' `factors` once loaded (public: it describes the service, no user). */
  factors: null,
};

// ---------------------------------------------------------------------------------------------
// DOM helpers

let idSeq = 0;
const uid = (prefix) => `${prefix}-${++idSeq}`;

/** Builds an element. Strings become text nodes; attributes are set one by one, never as HTML. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, ...children);
  return el;
}

/** Replaces an element's children with `children`, skipping null/undefined/false like append. */
function setChildren(el, ...children) {
  el.replaceChildren();
  return append(el, ...children);
}

/** Appends children (nested arrays flattened; null, undefined and false skipped). */
function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const $ = (sel) => document.querySelector(sel);

/** A polite live region for short confirmations ("Device removed"). */
function announce(text) {
  const toast = $('#toast');
  toast.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => {
    toast.textContent = '';
  }, 6000);
}

// ---------------------------------------------------------------------------------------------
// HTTP

class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem && typeof problem === 'object' ? problem : null;
    this.code = this.problem?.code ?? null;
    this.retryAfter = retryAfter;
  }
}

/** Thrown when the user closes a dialog that an action was waiting for; shown as nothing. */
class Cancelled extends Error {}

/** A message of the console itself (e.g. "the passwords do not match"). */
class LocalError extends Error {}

function retryAfterOf(res, problem) {
  const raw = res.headers.get('retry-after');
  if (raw) {
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0) return n;
    const at = Date.parse(raw);
    if (!Number.isNaN(at)) return Math.max(0, (at - Date.now()) / 1000);
  }
  return typeof problem?.retryAfter === 'number' ? problem.retryAfter : null;
}

/**
 * One request to the API. JSON in and out; errors become ApiError carrying the problem document.
 * `opts.raw` sends a string as is with `opts.contentType`; `opts.text` reads the answer as text.
 */
async function api(method, path, body, opts = {}) {
  const headers = { accept: opts.text ? 'text/csv, application/problem+json' : 'application/json, application/problem+json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error' };
  if (opts.raw !== undefined) {
    init.body = opts.raw;
    headers['content-type'] = opts.contentType;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: 'network_error' }, null);
  }
  const type = res.headers.get('content-type') || '';
  if (!res.ok) {
    const problem = type.includes('json') ? await res.json().catch(() => null) : null;
    const err = new ApiError(res.status, problem, retryAfterOf(res, problem));
    if (res.status === 401 && err.code === 'unauthenticated' && /^\/api\/v1\/(me|admin)\//.test(path)) sessionEnded();
    throw err;
  }
  if (res.status === 204) return null;
  if (opts.text || !type.includes('json')) return res.text();
  return res.json();
}

/** The session ran out or was revoked elsewhere: back to sign-in with a word about it. */
function sessionEnded() {
  if (!state.session) return;
  closeDialogs();
  state.session = null;
  state.notice = { kind: 'info', text: t('signIn.sessionEnded') };
  go('/sign-in');
}

// ---------------------------------------------------------------------------------------------
// Errors shown to the user

/** Lines to show for an error: a translated main line, and the server's own detail if it adds something. */
function describeError(err) {
  if (err instanceof ApiError) {
    const p = err.problem ?? {};
    if (err.status === 0) return [t('problem.network_error')];
    if (err.code === 'too_many_attempts' || err.status === 429) {
      const lines = [err.retryAfter ? t('problem.retryAfter', { wait: fmtWait(err.retryAfter) }) : t('problem.too_many_attempts')];
      if (p.detail && p.detail !== p.title) lines.push(p.detail);
      return lines;
    }
    // A reason the console can say in the user's language (e.g. why a password is too weak).
    const reasonKey = typeof p.reason === 'string' ? `problem.${err.code}.${p.reason}` : null;
    if (reasonKey && has(reasonKey)) return [t(`problem.${err.code}`), t(reasonKey)];
    const main = err.code && has(`problem.${err.code}`) ? t(`problem.${err.code}`) : p.detail || p.title || t('problem.status', { status: err.status });
    const lines = [main];
    if (p.detail && p.detail !== main && p.detail !== p.title) lines.push(p.detail);
    return lines;
  }
  if (err instanceof LocalError) return [err.message];
  if (err && typeof err === 'object' && 'name' in err) {
    // WebAuthn ceremonies fail with DOMExceptions named by the spec.
    const key = `webauthn.${err.name}`;
    if (has(key)) return [t(key)];
  }
  return [t('problem.unexpected'), err instanceof Error ? err.message : String(err)];
}

/** An alert box under a form or action; hidden until something goes wrong. */
function errorBox() {
  const el = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  return {
    el,
    clear() {
      el.hidden = true;
      el.replaceChildren();
    },
    show(err) {
      if (err instanceof Cancelled) return;
      const [first, ...rest] = describeError(err);
      setChildren(el, h('p', { class: 'alert-title' }, first), ...rest.map((r) => h('p', { class: 'alert-detail' }, r)));
      el.hidden = false;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Forms

/** Messages for the browser's own checks, in the console's language rather than the browser's. */
function localizeValidity(input, kind) {
  input.addEventListener('invalid', () => {
    const v = input.validity;
    let msg = '';
    if (v.valueMissing) msg = t('validation.required');
    else if (v.typeMismatch && input.type === 'email') msg = t('validation.email');
    else if ((v.patternMismatch || v.tooShort) && kind === 'code') msg = t('validation.code', { digits: input.dataset.digits });
    else if (v.tooShort) msg = t('validation.tooShort', { n: input.minLength });
    if (msg) input.setCustomValidity(msg);
  });
  input.addEventListener('input', () => input.setCustomValidity(''));
}

/**
 * A labelled input. `hint` is tied to the input with aria-describedby.
 * Returns `{ el, input }`.
 */
function field({ label, name, type = 'text', autocomplete, required = true, hint, value, inputmode, pattern, minlength, maxlength, cls, spellcheck, autocapitalize }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h('input', {
    id,
    name,
    type,
    autocomplete,
    required,
    inputmode,
    pattern,
    minlength,
    maxlength,
    spellcheck,
    autocapitalize,
    class: cls,
    'aria-describedby': hintId,
  });
  if (value !== undefined) input.value = value;
  localizeValidity(input, cls === 'code' ? 'code' : 'text');
  const el = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label, required ? null : h('span', { class: 'optional' }, ` ${t('common.optional')}`)),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    input,
  );
  return { el, input };
}

/** A field for a one-time code of `min`–`max` digits; non-digits typed or pasted are dropped. */
function codeField(label, { name = 'code', min = 6, max = 6, hint } = {}) {
  const f = field({
    label,
    name,
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: min === max ? `[0-9]{${min}}` : `[0-9]{${min},${max}}`,
    minlength: min,
    maxlength: max,
    hint,
    cls: 'code',
    spellcheck: 'false',
  });
  f.input.dataset.digits = min === max ? String(min) : `${min}–${max}`;
  f.input.addEventListener('input', () => {
    const clean = f.input.value.replace(/\D/g, '').slice(0, max);
    if (clean !== f.input.value) f.input.value = clean;
  });
  return f;
}

function recoveryCodeField() {
  return field({
    label: t('mfa.recoveryCode'),
    name: 'code',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'none',
    maxlength: 32,
    cls: 'mono',
    hint: t('mfa.recoveryCodeHint'),
  });
}

/**
 * A form whose submit runs `onSubmit(data)` with the button disabled meanwhile; whatever it
 * throws is shown in the form's alert box.
 */
function form({ submitLabel, onSubmit, children, secondary, cls }) {
  const error = errorBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
  const el = h('form', { class: cls ? `form ${cls}` : 'form' }, children, error.el, h('div', { class: 'form-actions' }, submit, secondary));
  let busy = false;
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    error.clear();
    submit.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(new FormData(el));
    } catch (err) {
      error.show(err);
      // Put the keyboard where the fix is: the first code or password field, emptied.
      if (err instanceof ApiError && (err.code === 'invalid_code' || err.code === 'invalid_credentials')) {
        const target = el.querySelector('input.code, input[type=password]');
        if (target) {
          target.value = '';
          target.focus();
        }
      }
    } finally {
      busy = false;
      submit.disabled = false;
      el.removeAttribute('aria-busy');
    }
  });
  return { el, error, submit };
}

/** A button that runs an async action, disabled while it runs, errors into `error` (an errorBox). */
function actionButton(label, action, { cls = 'btn', error, ariaLabel, type = 'button' } = {}) {
  const b = h('button', { type, class: cls, 'aria-label': ariaLabel }, label);
  b.addEventListener('click', async () => {
    if (b.disabled) return;
    b.disabled = true;
    error?.clear();
    try {
      await action();
    } catch (err) {
      if (error) error.show(err);
      else if (!(err instanceof Cancelled)) announce(describeError(err).join(' '));
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

const linkButton = (label, onclick) => h('button', { type: 'button', class: 'link', onclick }, label);

const str = (data, name) => String(data.get(name) ?? '').trim();

// ---------------------------------------------------------------------------------------------
// WebAuthn: JSON <-> ArrayBuffer (the server speaks the JSON forms of the WebAuthn Level 3 spec)

function b64urlToBuffer(s) {
  const b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** Standard base64 (with padding) of an ArrayBuffer or a typed array. */
function bytesToBase64(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

const bufferToB64url = (buf) => bytesToBase64(buf).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

const descriptorsFromJSON = (list) => list?.map((c) => ({ ...c, id: b64urlToBuffer(c.id) }));

function requestOptionsFromJSON(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  const o = { ...json, challenge: b64urlToBuffer(json.challenge) };
  if (json.allowCredentials) o.allowCredentials = descriptorsFromJSON(json.allowCredentials);
  return o;
}

function creationOptionsFromJSON(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  const o = { ...json, challenge: b64urlToBuffer(json.challenge), user: { ...json.user, id: b64urlToBuffer(json.user.id) } };
  if (json.excludeCredentials) o.excludeCredentials = descriptorsFromJSON(json.excludeCredentials);
  return o;
}

/** RegistrationResponseJSON or AuthenticationResponseJSON. */
function credentialToJSON(cred) {
  if (typeof cred.toJSON === 'function') {
    try {
      return cred.toJSON();
    } catch {
      // Some browsers have toJSON but fail on unusual extension results; fall through.
    }
  }
  const r = cred.response;
  const out = {
    id: cred.id,
    rawId: bufferToB64url(cred.rawId),
    type: cred.type,
    clientExtensionResults: cred.getClientExtensionResults?.() ?? {},
    response: { clientDataJSON: bufferToB64url(r.clientDataJSON) },
  };
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  if ('attestationObject' in r) {
    out.response.attestationObject = bufferToB64url(r.attestationObject);
    out.response.transports = r.getTransports?.() ?? [];
    const authData = r.getAuthenticatorData?.();
    if (authData) out.response.authenticatorData = bufferToB64url(authData);
    const alg = r.getPublicKeyAlgorithm?.();
    if (typeof alg === 'number') out.response.publicKeyAlgorithm = alg;
    const pk = r.getPublicKey?.();
    if (pk) out.response.publicKey = bufferToB64url(pk);
  } else {
    out.response.authenticatorData = bufferToB64url(r.authenticatorData);
    out.response.signature = bufferToB64url(r.signature);
    if (r.userHandle) out.response.userHandle = bufferToB64url(r.userHandle);
  }
  return out;
}

const webauthnAvailable = () => typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;

/** POST `optionsPath`, ask the browser for an assertion, and return it as JSON. */
async function getAssertion(optionsPath) {
  if (!webauthnAvailable()) throw new LocalError(t('webauthn.unsupported'));
  const json = await api('POST', optionsPath, {});
  const publicKey = requestOptionsFromJSON(json);
  const cred = await navigator.credentials.get({ publicKey });
  if (!cred) throw new Cancelled();
  return credentialToJSON(cred);
}

// ---------------------------------------------------------------------------------------------
// Factors: what the server describes (GET /api/v1/factors), so a factor the console has never
// heard of is still offered, assigned, listed and asked for, from its fields and labels.

/** Sign-in and step-up methods with a screen of their own; any other is drawn from its proof fields. */
const CUSTOM_METHODS = ['totp', 'webauthn', 'recovery_code'];
/** Assignments with a screen of their own (the wizard's value → its i18n keys); any other is drawn from its fields. */
const CUSTOM_ASSIGNMENTS = { webauthn: ['assign.passkey', 'assign.passkeyText'], totp: ['assign.app', 'assign.appText'], hardware: ['assign.hardware', 'assign.hardwareText'] };

/** The built-in assignments, offered when the description cannot be had. */
const BUILT_IN_ASSIGNMENTS = Object.keys(CUSTOM_ASSIGNMENTS).map((path) => ({ path, fields: [], options: false, confirms: false }));

let factorsLoad = null;

/** GET /api/v1/factors, once per page (null when it could not be had; then asked again next time). */
function loadFactors() {
  factorsLoad ??= api('GET', '/api/v1/factors').then(
    (r) => (state.factors = Array.isArray(r?.factors) ? r.factors : null),
    () => {
      factorsLoad = null;
      return null;
    },
  );
  return factorsLoad;
}

/** A label the server sent ({en, ja}) in the user's language. */
const labelText = (label) => (label && typeof label === 'object' ? (label[state.lang] ?? label.en ?? '') : String(label ?? ''));

const factorById = (id) => state.factors?.find((f) => f.id === id) ?? null;

/** The device types a described factor holds. */
const typesOf = (factor) => new Set([...Object.keys(factor.deviceLabels ?? {}), ...(factor.assignments ?? []).map((a) => a.deviceType)]);

/** A method's name in the user's language, for "Use … instead". */
const methodLabel = (id) => labelText(factorById(id)?.label) || id;

/**
 * Inputs for described fields: a code or text input each, labelled in the user's language.
 * Returns `{ els, first, read(data, ceremony) }`; `read` fills in a browser ceremony field by
 * awaiting `ceremony()` (WebAuthn), so a form of any mix of fields posts one body.
 */
function describedFields(fields) {
  const inputs = [];
  const els = [];
  for (const f of fields) {
    if (f.kind === 'webauthn') {
      els.push(h('p', null, labelText(f.label)));
      continue;
    }
    const made = f.kind === 'code'
      ? codeField(labelText(f.label), { name: f.name, min: 1, max: 32 })
      : field({ label: labelText(f.label), name: f.name, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', maxlength: 256, cls: 'mono' });
    inputs.push(made.input);
    els.push(made.el);
  }
  const read = async (data, ceremony) => {
    const body = {};
    for (const f of fields) body[f.name] = f.kind === 'webauthn' ? await ceremony() : str(data, f.name);
    return body;
  };
  return { els, first: inputs[0] ?? null, read };
}

/**
 * The form of a method the console has no screen for, from its factor's proof fields (one code
 * field when the description could not be had); `submit` gets `{ method, ...fields }`.
 */
function describedProofForm(id, optionsPath, submit) {
  const proof = factorById(id)?.proof ?? [{ name: 'code', kind: 'code', label: t('mfa.code') }];
  const fields = describedFields(proof);
  const fm = form({
    submitLabel: t('common.verify'),
    children: [h('p', { class: 'method-name' }, methodLabel(id)), fields.els],
    onSubmit: async (data) => submit({ method: id, ...(await fields.read(data, () => getAssertion(optionsPath))) }),
  });
  return { el: fm.el, first: fields.first };
}

/** The method a second step opens with: the app's code, else another factor's form, else the passkey, else a recovery code. */
function firstMethod(methods) {
  if (methods.includes('totp')) return 'totp';
  return methods.find((m) => !CUSTOM_METHODS.includes(m)) ?? (methods.includes('webauthn') ? 'webauthn' : 'recovery_code');
}

// ---------------------------------------------------------------------------------------------
// Dialogs (native <dialog>: modal, focus kept inside, Escape closes)

/**
 * Opens a modal dialog. Returns `{ body, close(value), done, setTitle, lock(bool) }`; `done`
 * resolves with the value given to close (undefined when dismissed).
 */
function openDialog(title, { wide = false } = {}) {
  const titleId = uid('dlg-title');
  const heading = h('h2', { id: titleId, class: 'dialog-title', tabindex: '-1' }, title);
  const body = h('div', { class: 'dialog-body' });
  let result;
  let locked = false;
  const closeBtn = h('button', { type: 'button', class: 'btn-icon', 'aria-label': t('common.close') }, '×');
  const dlg = h('dialog', { class: wide ? 'dialog dialog-wide' : 'dialog', 'aria-labelledby': titleId }, h('div', { class: 'dialog-head' }, heading, closeBtn), body);
  const opener = document.activeElement;
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const ctl = {
    body,
    done,
    setTitle(text) {
      heading.textContent = text;
    },
    lock(v) {
      locked = v;
      closeBtn.hidden = v;
    },
    close(value) {
      result = value;
      dlg.close();
    },
    focusTitle() {
      heading.focus();
    },
  };
  closeBtn.addEventListener('click', () => ctl.close());
  dlg.addEventListener('cancel', (e) => {
    if (locked) e.preventDefault();
  });
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    resolveDone(result);
  });
  document.body.append(dlg);
  dlg.showModal();
  return ctl;
}

/** Closes every open dialog (the session ended under them). */
function closeDialogs() {
  for (const d of document.querySelectorAll('dialog')) d.close();
}

/** A yes/no dialog whose confirm button runs `action`; resolves true when it ran. */
function confirmDialog({ title, text, confirmLabel, danger = false, action }) {
  const dlg = openDialog(title);
  const error = errorBox();
  const ok = actionButton(
    confirmLabel,
    async () => {
      await action();
      dlg.close(true);
    },
    { cls: danger ? 'btn btn-danger' : 'btn btn-primary', error },
  );
  dlg.body.append(
    ...(Array.isArray(text) ? text : [text]).map((p) => h('p', null, p)),
    error.el,
    h('div', { class: 'form-actions' }, ok, h('button', { type: 'button', class: 'btn', onclick: () => dlg.close(false) }, t('common.cancel'))),
  );
  ok.focus();
  return dlg.done.then((v) => v === true);
}

// ---------------------------------------------------------------------------------------------
// Step-up: a fresh second factor for sensitive changes and administration

/**
 * Asks for a second factor (POST /api/v1/me/step-up); resolves true when confirmed. `keyOnly`
 * offers only a passkey or security key (an application asked for a phishing-resistant level);
 * `intro` says why it is asked.
 */
async function stepUp(opts = {}) {
  const dlg = openDialog(t('stepUp.title'));
  const body = dlg.body;
  body.append(h('p', { class: 'muted' }, t('common.loading')));
  let devices = null;
  try {
    devices = (await api('GET', '/api/v1/me/mfa-devices')).devices;
  } catch {
    // Offer every method when the list can't be had; the server decides.
  }
  await loadFactors();
  const types = new Set((devices ?? []).map((d) => d.type));
  const hasCode = !opts.keyOnly && (devices === null || types.has('totp') || types.has('hardware_totp'));
  const hasKey = devices === null || types.has('webauthn');
  if (devices !== null && (devices.length === 0 || (opts.keyOnly && !hasKey))) {
    setChildren(body,
      h('p', null, t(opts.keyOnly ? 'stepUp.needKey' : 'stepUp.noDevice')),
      h('div', { class: 'form-actions' }, h('a', { class: 'btn btn-primary', href: '#/security', onclick: () => dlg.close(false) }, t('mfa.assign'))),
    );
    return dlg.done.then(() => false);
  }
  // Factors without a screen of their own: those whose devices the user holds (all when the list can't be had).
  const others = opts.keyOnly ? [] : (state.factors ?? []).filter((f) => !CUSTOM_METHODS.includes(f.id) && (devices === null || [...typesOf(f)].some((x) => types.has(x)))).map((f) => f.id);
  let mode = hasCode ? 'totp' : (others[0] ?? (hasKey ? 'webauthn' : 'recovery_code'));
  const done = (r) => {
    if (r?.session) state.session = r.session;
    dlg.close(true);
  };
  const draw = () => {
    const error = errorBox();
    const parts = [h('p', null, opts.intro ?? t('stepUp.intro'))];
    if (mode === 'totp' || mode === 'recovery_code') {
      const f = mode === 'totp' ? codeField(t('mfa.code'), { min: 6, max: 8, hint: t('mfa.codeHint') }) : recoveryCodeField();
      const fm = form({
        submitLabel: t('common.verify'),
        children: [f.el],
        onSubmit: async (data) => done(await api('POST', '/api/v1/me/step-up', { method: mode, code: str(data, 'code') })),
      });
      parts.push(fm.el);
      queueMicrotask(() => f.input.focus());
    } else if (mode !== 'webauthn') {
      const fm = describedProofForm(mode, `/api/v1/me/step-up/${encodeURIComponent(mode)}-options`, async (body) => done(await api('POST', '/api/v1/me/step-up', body)));
      parts.push(fm.el);
      queueMicrotask(() => fm.first?.focus());
    }
    if (hasKey) {
      parts.push(
        h(
          'div',
          { class: 'alt-method' },
          actionButton(t('mfa.usePasskey'), async () => done(await api('POST', '/api/v1/me/step-up', { method: 'webauthn', credential: await getAssertion('/api/v1/me/step-up/webauthn-options') })), { error }),
        ),
        error.el,
      );
    }
    const links = [];
    if (mode !== 'recovery_code' && !opts.keyOnly) links.push(linkButton(t('mfa.useRecoveryCode'), () => ((mode = 'recovery_code'), draw())));
    if (mode !== 'totp' && hasCode) links.push(linkButton(t('mfa.useCode'), () => ((mode = 'totp'), draw())));
    for (const id of others) if (id !== mode) links.push(linkButton(t('mfa.useMethod', { method: methodLabel(id) }), () => ((mode = id), draw())));
    parts.push(h('p', { class: 'links' }, links));
    setChildren(body, ...parts);
  };
  draw();
  return dlg.done.then((v) => v === true);
}

/** Runs `fn`; when the server asks for a fresh second factor, asks for it and runs `fn` once more. */
async function withStepUp(fn) {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'step_up_required')) throw err;
    if (!(await stepUp())) throw new Cancelled();
    return fn();
  }
}

// ---------------------------------------------------------------------------------------------
// Recovery codes: shown once, with copy, download and "I have saved these"

function showRecoveryCodes(dlg, codes) {
  dlg.setTitle(t('recovery.saveTitle'));
  dlg.lock(true);
  const status = h('p', { class: 'muted', role: 'status' });
  const copy = h('button', { type: 'button', class: 'btn' }, t('recovery.copy'));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      status.textContent = t('recovery.copied');
    } catch {
      status.textContent = t('recovery.copyFailed');
    }
  });
  const download = h('button', { type: 'button', class: 'btn' }, t('recovery.download'));
  download.addEventListener('click', () => {
    const text = [t('recovery.fileHeading'), state.session?.user.email ?? '', new Date().toISOString(), '', ...codes, ''].join('\n');
    saveFile('mamori-recovery-codes.txt', text, 'text/plain;charset=utf-8');
    status.textContent = t('recovery.downloaded');
  });
  const checkId = uid('saved');
  const check = h('input', { type: 'checkbox', id: checkId });
  const finish = h('button', { type: 'button', class: 'btn btn-primary', disabled: true }, t('common.done'));
  check.addEventListener('change', () => {
    finish.disabled = !check.checked;
  });
  finish.addEventListener('click', () => {
    dlg.lock(false);
    dlg.close(true);
  });
  setChildren(dlg.body,
    h('div', { class: 'alert alert-warning' }, h('p', null, t('recovery.onceWarning'))),
    h('p', null, t('recovery.explain')),
    h('ol', { class: 'codes', 'aria-label': t('recovery.title') }, codes.map((c) => h('li', null, h('code', null, c)))),
    h('div', { class: 'form-actions' }, copy, download),
    status,
    h('div', { class: 'check' }, check, h('label', { for: checkId }, t('recovery.saved'))),
    h('div', { class: 'form-actions' }, finish),
  );
  dlg.focusTitle();
}

function saveFile(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Routing

const routes = {
  '/setup': { title: 'setup.title', view: viewSetup },
  '/sign-in': { title: 'signIn.title', view: viewSignIn },
  '/security': { title: 'security.title', view: viewSecurity },
  '/admin': { title: 'admin.title', view: viewAdmin },
  '/invite': { title: 'invite.title', view: viewInvite },
  '/lost-devices': { title: 'lost.title', view: viewLostDevices },
  '/recover': { title: 'recover.title', view: viewRecover },
  '/recover-cancel': { title: 'recoverCancel.title', view: viewRecoverCancel },
  '/consent': { title: 'consent.title', view: viewConsent },
};

function currentRoute() {
  // An invitation link (`#/invite/<token>`, mailed by the server): keep the token in memory only
  // and drop it from the address bar and the history entry.
  const invite = /^#\/invite\/([A-Za-z0-9_-]{10,200})$/.exec(location.hash);
  if (invite) {
    state.inviteToken = invite[1];
    history.replaceState(null, '', '#/invite');
  }
  // A recovery link or its cancel link (mailed by the server): the token, likewise, in memory only.
  const recover = /^#\/recover(\/cancel)?\?token=([A-Za-z0-9_-]{20,200})$/.exec(location.hash);
  if (recover) {
    if (recover[1]) state.cancelToken = recover[2];
    else state.recoverToken = recover[2];
    history.replaceState(null, '', recover[1] ? '#/recover-cancel' : '#/recover');
  }
  const m = /^#(\/[a-z-]*)/.exec(location.hash);
  return m ? m[1] : '';
}

function go(route) {
  if (currentRoute() === route) render();
  else location.hash = `#${route}`;
}

/** Where a route may not be shown in the current state, where to go instead. */
function redirectFor(route) {
  if (state.setupNeeded) return route === '/setup' ? null : '/setup';
  if (route === '/invite') return null;
  // The lost-device pages work signed in or not (the cancel link must work wherever it is opened).
  if (route === '/lost-devices' || route === '/recover' || route === '/recover-cancel') return null;
  if (route === '/setup') return state.session ? '/security' : '/sign-in';
  if (!state.session) return route === '/sign-in' ? null : '/sign-in';
  if (route === '/sign-in') {
    // An application asked for a new sign-in (OpenID Connect prompt=login or max_age): show the form.
    if (state.reauth) return null;
    // Signed in already, on the way back to an application: let it decide again.
    if (state.returnTo && !state.session.mfaSetupRequired && !state.session.passwordChangeRequired) {
      const to = state.returnTo;
      state.returnTo = null;
      location.assign(to);
      return null;
    }
    return '/security';
  }
  if (route === '/admin' && (state.session.user.role !== 'admin' || state.session.mfaSetupRequired)) return '/security';
  if (!Object.hasOwn(routes, route)) return '/security';
  return null;
}

function render() {
  const route = currentRoute();
  const target = redirectFor(Object.hasOwn(routes, route) ? route : '');
  if (target !== null && target !== route) {
    history.replaceState(null, '', `#${target}`);
    return render();
  }
  const r = routes[route];
  document.documentElement.lang = state.lang;
  document.title = `${t(r.title)} – ${t('app.name')}`;
  renderHeader(route);
  const main = $('#main');
  const view = r.view();
  setChildren(main, view);
  // Move focus to the new page's heading so screen readers and keyboards start there.
  const title = main.querySelector('h1');
  if (title && document.activeElement?.closest?.('dialog') == null) title.focus({ preventScroll: false });
}

function renderHeader(route) {
  const select = h('select', { id: 'lang-select', class: 'lang-select' }, LANGS.map((l) => h('option', { value: l, selected: l === state.lang }, t(`lang.${l}`))));
  select.addEventListener('change', () => setLang(select.value));
  const nav = [];
  if (state.session && !state.setupNeeded) {
    const link = (to, key) => h('a', { href: `#${to}`, class: 'nav-link', 'aria-current': route === to ? 'page' : undefined }, t(key));
    nav.push(link('/security', 'nav.security'));
    if (state.session.user.role === 'admin' && !state.session.mfaSetupRequired) nav.push(link('/admin', 'nav.admin'));
  }
  const user = state.session
    ? [h('span', { class: 'user' }, state.session.user.name || state.session.user.email), actionButton(t('nav.signOut'), signOut, { cls: 'btn btn-small' })]
    : [];
  $('#skip-link').textContent = t('app.skip');
  setChildren($('#header'),
    h('a', { class: 'brand', href: state.session ? '#/security' : '#/sign-in' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), t('app.name')),
    h('nav', { class: 'nav', 'aria-label': t('nav.label') }, nav),
    h('div', { class: 'header-tools' }, h('label', { for: 'lang-select', class: 'visually-hidden' }, t('lang.label')), select, user),
  );
}

function setLang(lang) {
  if (!Object.hasOwn(dict, lang)) return;
  state.lang = lang;
  try {
    localStorage.setItem(LANG_KEY, lang); // only the language choice: never anything secret
  } catch {
    // Storage may be off; the choice then lasts for this page.
  }
  // Signed in, the choice also becomes the language of the security emails.
  if (state.session && !state.session.mfaSetupRequired) api('PATCH', '/api/v1/me', { locale: lang }).catch(() => {});
  render();
  $('#lang-select')?.focus();
}

/** Signs out (the server revokes the session) and shows the sign-in page with `noticeKey`. */
async function signOut(noticeKey = 'signOut.done') {
  try {
    await api('POST', '/api/v1/sign-out');
  } finally {
    closeDialogs();
    state.session = null;
    state.signIn = { step: 'password', email: '', methods: [], mode: 'totp' };
    state.notice = { kind: 'info', text: t(typeof noticeKey === 'string' ? noticeKey : 'signOut.done') };
    go('/sign-in');
  }
}

function pageHead(titleKey, lead) {
  return [h('h1', { tabindex: '-1' }, t(titleKey)), lead ? h('p', { class: 'lead' }, lead) : null];
}

function takeNotice() {
  const n = state.notice;
  state.notice = null;
  if (!n) return null;
  return h('div', { class: `alert alert-${n.kind}`, role: 'status' }, h('p', null, n.text));
}

// ---------------------------------------------------------------------------------------------
// #/setup

function viewSetup() {
  const email = field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username', maxlength: 254 });
  const name = field({ label: t('field.name'), name: 'name', autocomplete: 'name', required: false, maxlength: 100 });
  const password = field({ label: t('field.password'), name: 'password', type: 'password', autocomplete: 'new-password', minlength: 15, hint: t('field.newPasswordHint') });
  const token = field({ label: t('setup.token'), name: 'setupToken', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', cls: 'mono', hint: t('setup.tokenHint'), maxlength: 200 });
  const f = form({
    submitLabel: t('setup.submit'),
    children: [email.el, name.el, password.el, token.el],
    onSubmit: async (data) => {
      const body = { email: str(data, 'email'), password: String(data.get('password') ?? ''), setupToken: str(data, 'setupToken') };
      const n = str(data, 'name');
      if (n) body.name = n;
      await api('POST', '/api/v1/setup', body);
      state.setupNeeded = false;
      state.signIn = { step: 'password', email: body.email, methods: [], mode: 'totp' };
      state.notice = { kind: 'success', text: t('setup.done') };
      go('/sign-in');
    },
  });
  return h('section', { class: 'card card-narrow' }, pageHead('setup.title', t('setup.lead')), f.el);
}

// ---------------------------------------------------------------------------------------------
// #/invite/<token>: an invited user chooses a password

function viewInvite() {
  const card = h('section', { class: 'card card-narrow' }, pageHead('invite.title', t('invite.lead')));
  if (!state.inviteToken) {
    append(card, h('div', { class: 'alert alert-error' }, h('p', null, t('invite.missing'))), h('p', { class: 'links' }, h('a', { href: '#/sign-in' }, t('signIn.title'))));
    return card;
  }
  const password = field({ label: t('password.new'), name: 'password', type: 'password', autocomplete: 'new-password', minlength: 15, hint: t('field.newPasswordHint') });
  const again = field({ label: t('password.confirm'), name: 'confirm', type: 'password', autocomplete: 'new-password' });
  const f = form({
    submitLabel: t('invite.submit'),
    children: [password.el, again.el],
    onSubmit: async (data) => {
      const pw = String(data.get('password') ?? '');
      if (pw !== String(data.get('confirm') ?? '')) throw new LocalError(t('password.mismatch'));
      await api('POST', '/api/v1/invitations/accept', { token: state.inviteToken, password: pw });
      state.inviteToken = null;
      state.notice = { kind: 'success', text: t('invite.done') };
      go(state.session ? '/security' : '/sign-in');
    },
  });
  card.append(f.el);
  return card;
}

// ---------------------------------------------------------------------------------------------
// Lost MFA devices: #/lost-devices asks for the link, #/recover (the mailed link) starts the
// 24-hour waiting period, #/recover-cancel (the cancel link) ends it.

function viewLostDevices() {
  const card = h('section', { class: 'card card-narrow' }, pageHead('lost.title', t('lost.lead')), h('p', null, t('lost.how')));
  const email = field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username', value: state.signIn.email, maxlength: 254 });
  const f = form({
    submitLabel: t('lost.submit'),
    children: [email.el],
    onSubmit: async (data) => {
      const address = str(data, 'email');
      // The same answer whether or not the address has an account: say only what happens if it does.
      await api('POST', '/api/v1/sign-in/lost-devices', { email: address });
      state.signIn = { step: 'password', email: address, methods: [], mode: 'totp' };
      state.notice = { kind: 'success', text: t('lost.sent', { email: address }) };
      go('/sign-in');
    },
    secondary: h('a', { class: 'btn', href: '#/sign-in' }, t('common.back')),
  });
  card.append(f.el);
  return card;
}

function viewRecover() {
  const card = h('section', { class: 'card card-narrow' }, pageHead('recover.title', t('recover.lead')));
  if (!state.recoverToken) {
    append(card, h('div', { class: 'alert alert-error' }, h('p', null, t('recover.missing'))), h('p', { class: 'links' }, h('a', { href: '#/lost-devices' }, t('lost.link'))));
    return card;
  }
  const error = errorBox();
  // A click, not the page load, starts it: a mail scanner that opens links must not.
  const start = actionButton(
    t('recover.submit'),
    async () => {
      const r = await api('POST', '/api/v1/recovery/confirm', { token: state.recoverToken });
      state.recoverToken = null;
      setChildren(card, pageHead('recover.title'), h('div', { class: 'alert alert-success', role: 'status' }, h('p', null, t('recover.started', { time: fmtDate(r.coolingUntil) }))), h('p', { class: 'links' }, h('a', { href: '#/sign-in' }, t('signIn.title'))));
    },
    { cls: 'btn btn-primary', error },
  );
  append(card, error.el, h('div', { class: 'form-actions' }, start, h('a', { class: 'btn', href: '#/sign-in' }, t('common.cancel'))));
  return card;
}

function viewRecoverCancel() {
  const card = h('section', { class: 'card card-narrow' }, pageHead('recoverCancel.title', t('recoverCancel.lead')));
  if (!state.cancelToken) {
    append(card, h('div', { class: 'alert alert-error' }, h('p', null, t('recover.missing'))));
    return card;
  }
  const error = errorBox();
  const cancel = actionButton(
    t('recoverCancel.submit'),
    async () => {
      await api('POST', '/api/v1/recovery/cancel', { token: state.cancelToken });
      state.cancelToken = null;
      setChildren(card, pageHead('recoverCancel.title'), h('div', { class: 'alert alert-success', role: 'status' }, h('p', null, t('recoverCancel.done'))), h('p', { class: 'links' }, h('a', { href: state.session ? '#/security' : '#/sign-in' }, t(state.session ? 'nav.security' : 'signIn.title'))));
    },
    { cls: 'btn btn-danger', error },
  );
  append(card, error.el, h('div', { class: 'form-actions' }, cancel));
  return card;
}

/** Security credentials: an account recovery under way (perhaps not the user's own) and a way to stop it. */
function recoveryBanner() {
  const slot = h('div', { class: 'banner-slot' });
  const draw = async () => {
    const r = await api('GET', '/api/v1/me/recovery').catch(() => null);
    const rec = r?.recovery;
    if (!rec) return setChildren(slot);
    const text = rec.status === 'link_sent' ? t('recovery.linkSent', { time: fmtDate(rec.requestedAt) }) : rec.status === 'cooling_off' ? t('recovery.coolingOff', { time: fmtDate(rec.coolingUntil) }) : t('recovery.ready');
    const error = errorBox();
    const cancel = actionButton(
      t('recovery.cancel'),
      async () => {
        await api('DELETE', '/api/v1/me/recovery');
        announce(t('recovery.cancelled'));
        await draw();
      },
      { cls: 'btn btn-danger', error },
    );
    setChildren(slot, h('div', { class: 'alert alert-error banner', role: 'alert' }, h('p', { class: 'alert-title' }, t('recovery.bannerTitle')), h('p', null, text), h('p', null, t('recovery.notYou')), error.el, h('div', { class: 'form-actions' }, cancel)));
  };
  void draw();
  return slot;
}

// ---------------------------------------------------------------------------------------------
// #/sign-in

function resetSignIn() {
  state.signIn = { step: 'password', email: state.signIn.email, methods: [], mode: 'totp' };
  render();
}

/** Acts on the `status` of a sign-in step's answer. */
async function afterStep(r) {
  switch (r.status) {
    case 'signed_in':
    case 'mfa_setup_required': {
      state.session = r.session ?? (await api('GET', '/api/v1/session'));
      if (r.status === 'mfa_setup_required') state.session = { ...state.session, mfaSetupRequired: true };
      state.signIn = { step: 'password', email: '', methods: [], mode: 'totp' };
      state.reauth = false;
      // Below the level an application asked for: step up first (followForwardReturn), not straight back.
      if (state.forwardReturn?.aal && !meetsLevel(state.session, state.forwardReturn.aal)) state.returnTo = null;
      if (state.returnTo && !state.session.mfaSetupRequired) {
        const to = state.returnTo;
        state.returnTo = null;
        location.assign(to);
        return;
      }
      if (state.forwardReturn && (await followForwardReturn())) return;
      go('/security');
      return;
    }
    case 'email_code_sent':
      state.signIn = { ...state.signIn, step: 'email_code', recovery: r.recovery === true };
      render();
      return;
    case 'mfa_required': {
      const methods = Array.isArray(r.methods) ? r.methods : [];
      await loadFactors(); // the labels and fields of methods without a screen of their own
      const mode = firstMethod(methods);
      // "Remember this browser" only when the server offers it (MAMORI_REMEMBER_BROWSER_DAYS), unticked.
      const rememberDays = Number.isInteger(r.rememberBrowserDays) && r.rememberBrowserDays > 0 ? r.rememberBrowserDays : null;
      state.signIn = { ...state.signIn, step: 'mfa', methods, mode, rememberDays, remember: false };
      render();
      return;
    }
    default:
      throw new LocalError(t('problem.unexpected'));
  }
}

/**
 * "Remember this browser for N days" on the MFA step: its state lives in `state.signIn`, so
 * switching to another method keeps the tick. Off until the user ticks it.
 */
function rememberBrowserCheck(days) {
  const id = uid('remember');
  const hintId = uid('remember-hint');
  const box = h('input', { type: 'checkbox', id, 'aria-describedby': hintId, checked: state.signIn.remember === true });
  box.addEventListener('change', () => {
    state.signIn.remember = box.checked;
  });
  return h('div', { class: 'field field-check' }, box, h('label', { for: id }, tn('mfa.rememberBrowser', days)), h('p', { class: 'hint', id: hintId }, t('mfa.rememberBrowserHint')));
}

async function passkeySignIn() {
  const credential = await getAssertion('/api/v1/sign-in/passkey-options');
  await afterStep(await api('POST', '/api/v1/sign-in/passkey', { credential }));
}

function viewSignIn() {
  const s = state.signIn;
  const card = h('section', { class: 'card card-narrow' });
  const notice = takeNotice();
  if (s.step === 'email_code') {
    const code = codeField(t('signIn.emailCode'), { hint: t('signIn.emailCodeHint', { email: s.email }) });
    const f = form({
      submitLabel: t('common.verify'),
      children: [code.el],
      onSubmit: async (data) => afterStep(await api('POST', '/api/v1/sign-in/email-code', { code: str(data, 'code') })),
      secondary: h('button', { type: 'button', class: 'btn', onclick: resetSignIn }, t('signIn.startOver')),
    });
    append(
      card,
      pageHead('signIn.emailCodeTitle'),
      notice,
      // After a recovery's waiting period this code replaces the MFA devices: say so before it is typed.
      s.recovery ? h('div', { class: 'alert alert-error' }, h('p', { class: 'alert-title' }, t('signIn.recoveryTitle')), h('p', null, t('signIn.recoveryWarning'))) : null,
      h(
        'div',
        { class: 'alert alert-warning' },
        h('p', { class: 'alert-title' }, t('signIn.emailCodeWeakTitle')),
        h('p', null, t('signIn.emailCodeWeak')),
        h('p', null, t('signIn.emailCodeNudge')),
      ),
      f.el,
    );
    return card;
  }
  if (s.step === 'mfa') {
    const error = errorBox();
    const parts = [];
    // The tick travels with whichever proof is sent; read at sending time, so it may come last.
    const withRemember = (body) => (state.signIn.remember && state.signIn.rememberDays ? { ...body, rememberBrowser: true } : body);
    const remember = s.rememberDays ? rememberBrowserCheck(s.rememberDays) : null;
    if (s.mode === 'totp' || s.mode === 'recovery_code') {
      const input = s.mode === 'totp' ? codeField(t('mfa.code'), { min: 6, max: 8, hint: t('mfa.codeHint') }) : recoveryCodeField();
      const f = form({
        submitLabel: t('common.verify'),
        // Inside the form, above its button: ticked before Enter sends the code.
        children: [input.el, remember],
        onSubmit: async (data) => afterStep(await api('POST', '/api/v1/sign-in/mfa', withRemember({ method: s.mode, code: str(data, 'code') }))),
      });
      parts.push(f.el);
    } else {
      if (s.mode !== 'webauthn') {
        const f = describedProofForm(s.mode, `/api/v1/sign-in/mfa/${encodeURIComponent(s.mode)}-options`, async (body) => afterStep(await api('POST', '/api/v1/sign-in/mfa', withRemember(body))));
        parts.push(f.el);
      }
      if (remember) parts.push(remember);
    }
    if (s.methods.includes('webauthn')) {
      const useKey = actionButton(
        t('mfa.usePasskey'),
        async () => {
          const credential = await getAssertion('/api/v1/sign-in/mfa/webauthn-options');
          await afterStep(await api('POST', '/api/v1/sign-in/mfa', withRemember({ method: 'webauthn', credential })));
        },
        { cls: s.mode === 'webauthn' ? 'btn btn-primary' : 'btn', error },
      );
      parts.push(h('div', { class: 'alt-method' }, s.mode !== 'webauthn' ? h('p', { class: 'or' }, t('common.or')) : null, useKey), error.el);
    }
    const links = [];
    const switchTo = (mode) => () => {
      state.signIn = { ...s, mode };
      render();
    };
    if (s.mode !== 'recovery_code' && s.methods.includes('recovery_code')) links.push(linkButton(t('mfa.useRecoveryCode'), switchTo('recovery_code')));
    if (s.mode !== 'totp' && s.methods.includes('totp')) links.push(linkButton(t('mfa.useCode'), switchTo('totp')));
    for (const m of s.methods) if (!CUSTOM_METHODS.includes(m) && m !== s.mode) links.push(linkButton(t('mfa.useMethod', { method: methodLabel(m) }), switchTo(m)));
    links.push(h('a', { href: '#/lost-devices' }, t('lost.link')));
    links.push(linkButton(t('signIn.startOver'), resetSignIn));
    append(card, pageHead('signIn.mfaTitle', t('signIn.mfaLead')), notice, parts, h('p', { class: 'links' }, links));
    return card;
  }

  const email = field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'username', value: s.email, maxlength: 254 });
  const password = field({ label: t('field.password'), name: 'password', type: 'password', autocomplete: 'current-password' });
  const f = form({
    submitLabel: t('signIn.submit'),
    children: [email.el, password.el],
    onSubmit: async (data) => {
      state.signIn = { ...state.signIn, email: str(data, 'email') };
      // An application asked for a new sign-in (prompt=login, max_age): a remembered browser must not skip the second factor.
      const fresh = state.reauth ? { fresh: true } : {};
      await afterStep(await api('POST', '/api/v1/sign-in', { email: str(data, 'email'), password: String(data.get('password') ?? ''), ...fresh }));
    },
  });
  const error = errorBox();
  const passkey = webauthnAvailable() ? h('div', { class: 'alt-method' }, h('p', { class: 'or' }, t('common.or')), actionButton(t('signIn.passkey'), passkeySignIn, { error }), error.el) : null;
  append(card, pageHead('signIn.title'), notice, f.el, passkey);
  return card;
}

// ---------------------------------------------------------------------------------------------
// #/security

/** A titled panel; `body` is where its content goes. */
function panel(title, { description, actions } = {}) {
  const id = uid('panel');
  const body = h('div', { class: 'panel-body' });
  const el = h(
    'section',
    { class: 'panel', 'aria-labelledby': id },
    h('div', { class: 'panel-head' }, h('div', null, h('h2', { id }, title), description ? h('p', { class: 'muted' }, description) : null), actions ? h('div', { class: 'panel-actions' }, actions) : null),
    body,
  );
  return { el, body };
}

const loading = () => h('p', { class: 'muted', role: 'status' }, t('common.loading'));

/**
 * A data table. `columns` are `[headerText, (row) => cell content]`; `caption` is read by
 * screen readers and kept off screen.
 */
function table(caption, columns, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, columns.map(([head]) => h('th', { scope: 'col' }, head)))),
      h('tbody', null, rows.map((row) => h('tr', null, columns.map(([, cell], i) => (i === 0 ? h('th', { scope: 'row' }, cell(row)) : h('td', null, cell(row))))))),
    ),
  );
}

/** A device type's name: the console's own words, else the label its factor describes, else the type itself. */
function deviceTypeLabel(type) {
  if (has(`mfa.type.${type}`)) return t(`mfa.type.${type}`);
  const factor = state.factors?.find((f) => Object.hasOwn(f.deviceLabels ?? {}, type));
  return (factor && labelText(factor.deviceLabels[type])) || type;
}

function shortAgent(ua) {
  if (!ua) return t('common.unknown');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /Windows/.test(ua) ? 'Windows' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return t('ua.on', { browser, os });
  return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
}

function viewSecurity() {
  const session = state.session;
  const setupOnly = session.mfaSetupRequired;
  const page = h('div', { class: 'page' });
  const banner = h('div', { class: 'banner-slot' });
  const ctx = { devices: undefined, reloadDevices: () => {}, reloadRecovery: () => {}, drawRecovery: () => {}, reloadSessions: () => {}, reloadActivity: () => {} };
  append(page, pageHead('security.title', t('security.lead', { email: session.user.email })), takeNotice(), banner);
  if (!setupOnly) page.append(recoveryBanner());
  page.append(mfaPanel(ctx, banner));
  if (setupOnly) {
    page.append(h('p', { class: 'muted' }, t('security.setupOnlyRest')));
  } else {
    page.append(recoveryPanel(ctx), passwordPanel(ctx), sessionsPanel(ctx), rememberedBrowsersPanel(ctx), activityPanel(ctx));
  }
  return page;
}

function noDeviceBanner(ctx) {
  const setup = state.session.mfaSetupRequired;
  // MFA is required but the grace still runs: remind the user of the date (MAMORI_MFA_GRACE_DAYS).
  const deadline = !setup && state.session.mfaSetupDeadline ? { date: fmtDate(state.session.mfaSetupDeadline) } : null;
  return h(
    'div',
    { class: setup ? 'alert alert-error banner' : 'alert alert-warning banner' },
    h('p', { class: 'alert-title' }, deadline ? t('security.mfaDeadlineTitle', deadline) : t(setup ? 'security.mfaRequiredTitle' : 'security.noMfaTitle')),
    h('p', null, deadline ? t('security.mfaDeadline', deadline) : t(setup ? 'security.mfaRequired' : 'security.noMfa')),
    h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'btn btn-primary', onclick: () => assignWizard(ctx) }, t('mfa.assign'))),
  );
}

function mfaPanel(ctx, bannerSlot) {
  const assignBtn = h('button', { type: 'button', class: 'btn btn-primary' }, t('mfa.assign'));
  assignBtn.addEventListener('click', () => assignWizard(ctx));
  const p = panel(t('mfa.title'), { description: t('mfa.description'), actions: assignBtn });
  const error = errorBox();
  ctx.reloadDevices = async () => {
    setChildren(p.body, loading());
    let data;
    try {
      [data] = await Promise.all([api('GET', '/api/v1/me/mfa-devices'), loadFactors()]);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'mfa_setup_required') data = { devices: [], limit: 8 };
      else {
        error.show(err);
        setChildren(p.body, error.el);
        return;
      }
    }
    const devices = data.devices ?? [];
    const limit = data.limit ?? 8;
    ctx.devices = devices;
    ctx.drawRecovery();
    setChildren(bannerSlot, devices.length === 0 ? noDeviceBanner(ctx) : '');
    assignBtn.disabled = devices.length >= limit;
    const count = h('p', { class: 'muted' }, tn('mfa.count', devices.length, { limit }));
    if (devices.length === 0) {
      setChildren(p.body, count, h('p', { class: 'empty' }, t('mfa.none')));
      return;
    }
    const rows = table(
      t('mfa.title'),
      [
        [t('mfa.col.name'), (d) => d.name],
        [t('mfa.col.type'), (d) => [deviceTypeLabel(d.type), d.serial ? h('span', { class: 'sub' }, t('mfa.serialValue', { serial: d.serial })) : null]],
        [t('mfa.col.created'), (d) => dateEl(d.createdAt)],
        [t('mfa.col.lastUsed'), (d) => dateEl(d.lastUsedAt)],
        [
          t('common.actions'),
          (d) =>
            h(
              'div',
              { class: 'row-actions' },
              h('button', { type: 'button', class: 'btn btn-small', 'aria-label': t('mfa.renameNamed', { name: d.name }), onclick: () => renameDevice(ctx, d) }, t('mfa.rename')),
              d.type === 'totp' || d.type === 'hardware_totp'
                ? h('button', { type: 'button', class: 'btn btn-small', 'aria-label': t('mfa.resyncNamed', { name: d.name }), onclick: () => resyncDevice(d) }, t('mfa.resync'))
                : null,
              h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': t('mfa.removeNamed', { name: d.name }), onclick: () => removeDevice(ctx, d, devices.length) }, t('mfa.remove')),
            ),
        ],
      ],
      devices,
    );
    setChildren(p.body, count, rows, devices.length >= limit ? h('p', { class: 'muted' }, t('mfa.limitReached', { limit })) : '');
  };
  ctx.reloadDevices();
  return p.el;
}

function renameDevice(ctx, device) {
  const dlg = openDialog(t('mfa.renameTitle'));
  const name = field({ label: t('mfa.deviceName'), name: 'name', value: device.name, maxlength: 100, autocomplete: 'off' });
  const f = form({
    submitLabel: t('common.save'),
    children: [name.el],
    onSubmit: async (data) => {
      await api('PATCH', `/api/v1/me/mfa-devices/${encodeURIComponent(device.id)}`, { name: str(data, 'name') });
      dlg.close(true);
      announce(t('mfa.renamed'));
      ctx.reloadDevices();
    },
    secondary: h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
  });
  dlg.body.append(f.el);
  name.input.select();
  name.input.focus();
}

function twoCodes(min, max) {
  const hint = t('mfa.twoCodesHint');
  const c1 = codeField(t('mfa.code1'), { name: 'code1', min, max });
  const c2 = codeField(t('mfa.code2'), { name: 'code2', min, max });
  const read = (data) => {
    const code1 = str(data, 'code1');
    const code2 = str(data, 'code2');
    if (code1 === code2) throw new LocalError(t('mfa.codesEqual'));
    return { code1, code2 };
  };
  return { els: [h('p', { class: 'hint' }, hint), c1.el, c2.el], first: c1.input, read };
}

function resyncDevice(device) {
  const dlg = openDialog(t('mfa.resyncTitle'));
  const codes = twoCodes(6, 8);
  const f = form({
    submitLabel: t('mfa.resync'),
    children: [h('p', null, t('mfa.resyncIntro', { name: device.name })), ...codes.els],
    onSubmit: async (data) => {
      await api('POST', `/api/v1/me/mfa-devices/${encodeURIComponent(device.id)}/resync`, codes.read(data));
      dlg.close(true);
      announce(t('mfa.resynced'));
    },
    secondary: h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
  });
  dlg.body.append(f.el);
  codes.first.focus();
}

async function removeDevice(ctx, device, count) {
  const text = [t('mfa.removeConfirm', { name: device.name })];
  if (count === 1) text.push(t('mfa.removeLast'));
  const ok = await confirmDialog({
    title: t('mfa.removeTitle'),
    text,
    confirmLabel: t('mfa.remove'),
    danger: true,
    action: () => withStepUp(() => api('DELETE', `/api/v1/me/mfa-devices/${encodeURIComponent(device.id)}`)),
  });
  if (ok) {
    announce(t('mfa.removed', { name: device.name }));
    ctx.reloadDevices();
    ctx.reloadRecovery();
  }
}

/**
 * "Assign MFA device": choose a name and a kind, then set the device up. The kinds are the
 * server's assignments; the built-in ones have screens of their own, any other is drawn from its
 * fields. One that confirms a pending device is not offered unless the console knows it: the
 * description does not say what its confirmation asks for.
 */
function assignWizard(ctx) {
  const dlg = openDialog(t('assign.title'), { wide: true });
  let chosen = { name: '', kind: null };
  let assignments = BUILT_IN_ASSIGNMENTS;

  const afterAssigned = async (result) => {
    const name = result?.device?.name ?? chosen.name;
    ctx.reloadDevices();
    ctx.reloadRecovery();
    if (Array.isArray(result?.recoveryCodes) && result.recoveryCodes.length) {
      showRecoveryCodes(dlg, result.recoveryCodes);
      await dlg.done;
    } else {
      dlg.close(true);
    }
    announce(t('assign.done', { name }));
    if (state.session?.mfaSetupRequired) {
      // The enrollment-only session may now be a full one; otherwise sign in again with the device.
      try {
        state.session = await api('GET', '/api/v1/session');
      } catch {
        // keep what we have
      }
      if (state.session && !state.session.mfaSetupRequired) render();
      else if (state.session) await signOut('assign.signInAgain').catch(() => {});
    }
  };

  const stepLabel = (n) => h('p', { class: 'step-label' }, t('assign.step', { n, total: 2 }));

  const step1 = () => {
    dlg.setTitle(t('assign.title'));
    const name = field({ label: t('mfa.deviceName'), name: 'name', value: chosen.name, maxlength: 100, autocomplete: 'off', hint: t('assign.nameHint') });
    const options = assignments.map((a, i) => {
      const custom = Object.hasOwn(CUSTOM_ASSIGNMENTS, a.path) ? CUSTOM_ASSIGNMENTS[a.path] : null;
      const label = custom ? t(custom[0]) : labelText(a.label) || a.path;
      const text = custom ? t(custom[1]) : labelText(a.description);
      const id = uid('kind');
      const hintId = `${id}-text`;
      const checked = chosen.kind === null ? i === 0 : chosen.kind === a.path;
      return h(
        'div',
        { class: 'choice' },
        h('input', { type: 'radio', name: 'kind', id, value: a.path, checked, required: true, 'aria-describedby': text ? hintId : undefined }),
        h('label', { for: id }, h('span', { class: 'choice-title' }, label), text ? h('span', { class: 'choice-text', id: hintId }, text) : null),
      );
    });
    const f = form({
      submitLabel: t('common.next'),
      children: [stepLabel(1), name.el, h('fieldset', { class: 'choices' }, h('legend', null, t('assign.kindLegend')), options)],
      onSubmit: async (data) => {
        chosen = { name: str(data, 'name'), kind: String(data.get('kind') ?? assignments[0]?.path ?? '') };
        const described = assignments.find((a) => a.path === chosen.kind);
        if (chosen.kind === 'totp') await stepApp();
        else if (chosen.kind === 'hardware') stepHardware();
        else if (chosen.kind === 'webauthn') stepPasskey();
        else if (described) stepDescribed(described);
      },
      secondary: h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
    });
    setChildren(dlg.body, f.el);
    name.input.focus();
  };

  const back = () => h('button', { type: 'button', class: 'btn', onclick: step1 }, t('common.back'));

  const stepApp = async () => {
    const created = await api('POST', '/api/v1/me/mfa-devices/totp', { name: chosen.name });
    dlg.setTitle(t('assign.appTitle'));
    const secretId = uid('secret');
    const secret = h('p', { class: 'secret', id: secretId, hidden: true }, h('code', null, String(created.secret ?? '').replace(/(.{4})/g, '$1 ').trim()));
    const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', 'aria-controls': secretId }, t('assign.showSecret'));
    toggle.addEventListener('click', () => {
      secret.hidden = !secret.hidden;
      toggle.setAttribute('aria-expanded', String(!secret.hidden));
      toggle.textContent = t(secret.hidden ? 'assign.showSecret' : 'assign.hideSecret');
    });
    const qr = created.qrCodeSvg ? h('img', { class: 'qr', src: svgDataUrl(created.qrCodeSvg), alt: t('assign.qrAlt'), width: 200, height: 200 }) : null;
    const codes = twoCodes(6, 6);
    const f = form({
      submitLabel: t('assign.add'),
      children: [
        stepLabel(2),
        h(
          'ol',
          { class: 'setup-steps' },
          h('li', null, t('assign.appStep1')),
          h('li', null, t('assign.appStep2'), h('div', { class: 'qr-box' }, qr, h('div', null, toggle, secret))),
          h('li', null, t('assign.appStep3'), ...codes.els),
        ),
      ],
      onSubmit: async (data) => afterAssigned(await api('POST', `/api/v1/me/mfa-devices/${encodeURIComponent(created.id)}/activate`, codes.read(data))),
      secondary: h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
    });
    setChildren(dlg.body, f.el);
    dlg.focusTitle();
  };

  const stepHardware = () => {
    dlg.setTitle(t('assign.hardwareTitle'));
    const serial = field({ label: t('assign.serial'), name: 'serial', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', maxlength: 64, hint: t('assign.serialHint'), cls: 'mono' });
    const codes = twoCodes(6, 8);
    const f = form({
      submitLabel: t('assign.add'),
      children: [stepLabel(2), serial.el, ...codes.els],
      onSubmit: async (data) =>
        afterAssigned(await api('POST', '/api/v1/me/mfa-devices/hardware', { name: chosen.name, serial: str(data, 'serial'), ...codes.read(data) })),
      secondary: back(),
    });
    setChildren(dlg.body, f.el);
    serial.input.focus();
  };

  const stepPasskey = () => {
    dlg.setTitle(t('assign.passkeyTitle'));
    const error = errorBox();
    const supported = webauthnAvailable();
    const create = actionButton(
      t('assign.createPasskey'),
      async () => {
        const json = await api('POST', '/api/v1/me/mfa-devices/webauthn-options', {});
        const cred = await navigator.credentials.create({ publicKey: creationOptionsFromJSON(json) });
        if (!cred) throw new Cancelled();
        await afterAssigned(await api('POST', '/api/v1/me/mfa-devices/webauthn', { name: chosen.name, credential: credentialToJSON(cred) }));
      },
      { cls: 'btn btn-primary', error },
    );
    create.disabled = !supported;
    setChildren(dlg.body,
      stepLabel(2),
      h('p', null, t('assign.passkeyIntro')),
      supported ? null : h('div', { class: 'alert alert-error' }, h('p', null, t('webauthn.unsupported'))),
      error.el,
      h('div', { class: 'form-actions' }, create, back()),
    );
    dlg.focusTitle();
  };

  /** An assignment the console has no screen for: an input per described field, posted with the name. */
  const stepDescribed = (a) => {
    const method = labelText(a.label) || a.path;
    dlg.setTitle(t('assign.genericTitle', { method }));
    const fields = describedFields(a.fields ?? []);
    const path = `/api/v1/me/mfa-devices/${encodeURIComponent(a.path)}`;
    const ceremony = async () => {
      if (!webauthnAvailable()) throw new LocalError(t('webauthn.unsupported'));
      const json = await api('POST', `${path}-options`, {});
      const cred = await navigator.credentials.create({ publicKey: creationOptionsFromJSON(json) });
      if (!cred) throw new Cancelled();
      return credentialToJSON(cred);
    };
    const description = labelText(a.description);
    const f = form({
      submitLabel: t('assign.add'),
      children: [stepLabel(2), description ? h('p', null, description) : null, fields.els],
      onSubmit: async (data) => afterAssigned(await api('POST', path, { name: chosen.name, ...(await fields.read(data, ceremony)) })),
      secondary: back(),
    });
    setChildren(dlg.body, f.el);
    if (fields.first) fields.first.focus();
    else dlg.focusTitle();
  };

  setChildren(dlg.body, loading());
  loadFactors().then(() => {
    if (!dlg.body.isConnected) return; // closed while loading
    if (state.factors) assignments = state.factors.flatMap((f) => f.assignments ?? []).filter((a) => Object.hasOwn(CUSTOM_ASSIGNMENTS, a.path) || !a.confirms);
    step1();
  });
}

/** The QR code as an image (not inline SVG, whose style attributes the CSP would refuse). */
function svgDataUrl(svg) {
  return `data:image/svg+xml;base64,${bytesToBase64(new TextEncoder().encode(String(svg)))}`;
}

function recoveryPanel(ctx) {
  const regen = h('button', { type: 'button', class: 'btn' }, t('recovery.regenerate'));
  const p = panel(t('recovery.title'), { description: t('recovery.description'), actions: regen });
  const error = errorBox();
  regen.addEventListener('click', async () => {
    const dlg = openDialog(t('recovery.regenerateTitle'));
    const err = errorBox();
    const ok = actionButton(
      t('recovery.regenerate'),
      async () => {
        const r = await withStepUp(() => api('POST', '/api/v1/me/recovery-codes'));
        showRecoveryCodes(dlg, r.codes ?? []);
        ctx.reloadRecovery();
      },
      { cls: 'btn btn-primary', error: err },
    );
    dlg.body.append(h('p', null, t('recovery.regenerateConfirm')), err.el, h('div', { class: 'form-actions' }, ok, h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel'))));
    ok.focus();
  });
  let remaining = null;
  /** Drawn again when the device list arrives: without a device, "0 left" is no warning. */
  ctx.drawRecovery = () => {
    if (remaining === null) return;
    const devices = ctx.devices;
    regen.hidden = devices !== undefined && devices.length === 0 && remaining === 0;
    if (remaining === 0 && devices !== undefined && devices.length === 0) {
      setChildren(p.body, h('p', { class: 'muted' }, t('recovery.noneYet')));
      return;
    }
    const low = remaining <= 3;
    setChildren(p.body, h('p', { class: low ? 'stat stat-low' : 'stat' }, tn('recovery.remaining', remaining)), low ? h('p', { class: 'muted' }, t('recovery.low')) : null);
  };
  ctx.reloadRecovery = async () => {
    setChildren(p.body, loading());
    try {
      const r = await api('GET', '/api/v1/me/recovery-codes');
      remaining = Number(r.remaining ?? 0);
      ctx.drawRecovery();
    } catch (err) {
      error.show(err);
      setChildren(p.body, error.el);
    }
  };
  ctx.reloadRecovery();
  return p.el;
}

function passwordPanel(ctx) {
  const p = panel(t('password.title'), { description: t('password.description') });
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', hidden: true, tabindex: '-1', 'aria-hidden': 'true' });
  username.value = state.session.user.email;
  const current = field({ label: t('password.current'), name: 'currentPassword', type: 'password', autocomplete: 'current-password' });
  const next = field({ label: t('password.new'), name: 'newPassword', type: 'password', autocomplete: 'new-password', minlength: 15, hint: t('field.newPasswordHint') });
  const again = field({ label: t('password.confirm'), name: 'confirm', type: 'password', autocomplete: 'new-password' });
  const f = form({
    submitLabel: t('password.submit'),
    cls: 'form-narrow',
    children: [username, current.el, next.el, again.el],
    onSubmit: async (data) => {
      const body = { currentPassword: String(data.get('currentPassword') ?? ''), newPassword: String(data.get('newPassword') ?? '') };
      if (body.newPassword !== String(data.get('confirm') ?? '')) throw new LocalError(t('password.mismatch'));
      await withStepUp(() => api('PUT', '/api/v1/me/password', body));
      f.el.reset();
      username.value = state.session?.user.email ?? '';
      announce(t('password.changed'));
      ctx.reloadSessions();
    },
  });
  p.body.append(f.el);
  return p.el;
}

function sessionsPanel(ctx) {
  const p = panel(t('sessions.title'), { description: t('sessions.description') });
  const error = errorBox();
  ctx.reloadSessions = async () => {
    setChildren(p.body, loading());
    try {
      const { sessions = [] } = await api('GET', '/api/v1/me/sessions');
      const rowError = errorBox();
      setChildren(p.body,
        table(
          t('sessions.title'),
          [
            [t('sessions.col.device'), (x) => [h('span', { title: x.userAgent ?? '' }, shortAgent(x.userAgent)), x.current ? h('span', { class: 'badge badge-ok' }, t('sessions.current')) : null]],
            [t('sessions.col.started'), (x) => dateEl(x.createdAt)],
            [t('sessions.col.lastSeen'), (x) => dateEl(x.lastSeenAt)],
            [t('sessions.col.ip'), (x) => x.ip ?? t('common.unknown')],
            [t('sessions.col.level'), (x) => (x.aal >= 2 ? t('sessions.aal2') : t('sessions.aal1'))],
            [
              t('common.actions'),
              (x) =>
                x.current
                  ? actionButton(t('nav.signOut'), signOut, { cls: 'btn btn-small' })
                  : actionButton(
                      t('sessions.revoke'),
                      async () => {
                        await api('DELETE', `/api/v1/me/sessions/${encodeURIComponent(x.id)}`);
                        announce(t('sessions.revoked'));
                        ctx.reloadSessions();
                      },
                      { cls: 'btn btn-small', error: rowError, ariaLabel: t('sessions.revokeNamed', { device: shortAgent(x.userAgent), ip: x.ip ?? '' }) },
                    ),
            ],
          ],
          sessions,
        ),
        rowError.el,
      );
    } catch (err) {
      error.show(err);
      setChildren(p.body, error.el);
    }
  };
  ctx.reloadSessions();
  return p.el;
}

/**
 * Browsers that skip the second factor ("Remember this browser"), each with Forget. Hidden while
 * the service does not offer it and none is left. Drawn again with the sessions and the devices,
 * since a new password or a removed device ends every one of them.
 */
function rememberedBrowsersPanel(ctx) {
  const forgetAll = h('button', { type: 'button', class: 'btn btn-small', hidden: true }, t('remembered.forgetAll'));
  const p = panel(t('remembered.title'), { description: t('remembered.description'), actions: forgetAll });
  const error = errorBox();
  p.el.hidden = true;
  const reload = async () => {
    try {
      const { rememberBrowserDays = null, browsers = [] } = await api('GET', '/api/v1/me/remembered-browsers');
      p.el.hidden = rememberBrowserDays === null && browsers.length === 0;
      forgetAll.hidden = browsers.length < 2;
      if (browsers.length === 0) return setChildren(p.body, h('p', { class: 'muted' }, t('remembered.none')));
      const rowError = errorBox();
      setChildren(p.body,
        table(
          t('remembered.title'),
          [
            [t('sessions.col.device'), (x) => h('span', { title: x.userAgent ?? '' }, shortAgent(x.userAgent))],
            [t('remembered.col.since'), (x) => dateEl(x.createdAt)],
            [t('remembered.col.until'), (x) => dateEl(x.expiresAt)],
            [t('remembered.col.lastUsed'), (x) => (x.lastUsedAt ? dateEl(x.lastUsedAt) : t('remembered.notUsed'))],
            [t('sessions.col.ip'), (x) => x.ip ?? t('common.unknown')],
            [t('remembered.col.device'), (x) => x.device?.name ?? t('remembered.recoveryCode')],
            [
              t('common.actions'),
              (x) =>
                actionButton(
                  t('remembered.forget'),
                  async () => {
                    await api('DELETE', `/api/v1/me/remembered-browsers/${encodeURIComponent(x.id)}`);
                    announce(t('remembered.forgotten'));
                    await reload();
                  },
                  { cls: 'btn btn-small', error: rowError, ariaLabel: t('remembered.forgetNamed', { device: shortAgent(x.userAgent), ip: x.ip ?? '' }) },
                ),
            ],
          ],
          browsers,
        ),
        rowError.el,
      );
    } catch (err) {
      p.el.hidden = false;
      error.show(err);
      setChildren(p.body, error.el);
    }
  };
  forgetAll.addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/me/remembered-browsers');
      announce(t('remembered.allForgotten'));
      await reload();
    } catch (err) {
      error.show(err);
      setChildren(p.body, error.el);
    }
  });
  for (const name of ['reloadSessions', 'reloadDevices']) {
    const before = ctx[name];
    ctx[name] = (...args) => {
      const r = before(...args);
      void reload();
      return r;
    };
  }
  void reload();
  return p.el;
}

function eventLabel(type) {
  return has(`event.${type}`) ? t(`event.${type}`) : type;
}

function activityPanel(ctx) {
  const p = panel(t('activity.title'), { description: t('activity.description') });
  const error = errorBox();
  const PAGE = 15;
  ctx.reloadActivity = async () => {
    setChildren(p.body, loading());
    try {
      const { events = [] } = await api('GET', '/api/v1/me/activity');
      if (events.length === 0) {
        setChildren(p.body, h('p', { class: 'empty' }, t('activity.none')));
        return;
      }
      let shown = PAGE;
      const draw = () => {
        const more = events.length > shown ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => ((shown += PAGE * 2), draw()) }, t('common.showMore')) : null;
        setChildren(p.body,
          table(
            t('activity.title'),
            [
              [t('activity.col.at'), (e) => dateEl(e.at)],
              [t('activity.col.event'), (e) => eventLabel(e.type)],
              [t('activity.col.ip'), (e) => e.ip ?? t('common.unknown')],
              [t('activity.col.device'), (e) => h('span', { title: e.userAgent ?? '' }, shortAgent(e.userAgent))],
            ],
            events.slice(0, shown),
          ),
          more,
        );
      };
      draw();
    } catch (err) {
      error.show(err);
      setChildren(p.body, error.el);
    }
  };
  ctx.reloadActivity();
  return p.el;
}

// ---------------------------------------------------------------------------------------------
// #/admin

function viewAdmin() {
  const page = h('div', { class: 'page' });
  const content = h('div', null, loading());
  append(page, pageHead('admin.title', t('admin.lead')), takeNotice(), content);
  loadAdmin(content);
  return page;
}

async function loadAdmin(content) {
  const admin = { users: [], byId: new Map() };
  try {
    admin.users = (await api('GET', '/api/v1/admin/users')).users ?? [];
  } catch (err) {
    if (err instanceof ApiError && err.code === 'step_up_required') {
      setChildren(content,
        h(
          'div',
          { class: 'alert alert-warning' },
          h('p', { class: 'alert-title' }, t('admin.stepUpTitle')),
          h('p', null, t('admin.stepUpText')),
          h('div', { class: 'form-actions' }, actionButton(t('admin.stepUpButton'), async () => (await stepUp()) && loadAdmin(content), { cls: 'btn btn-primary' })),
        ),
      );
      return;
    }
    const error = errorBox();
    error.show(err);
    setChildren(content, error.el);
    return;
  }
  admin.byId = new Map(admin.users.map((u) => [u.id, u]));
  const ctx = { admin, reloadUsers: () => {}, reloadTokens: () => {}, reloadApprovals: () => {} };
  setChildren(content, approvalsPanel(ctx), usersPanel(ctx), clientsPanel(ctx), reportPanel(), tokensPanel(ctx), auditPanel(ctx));
}

/** Under "Not assigned": by when MAMORI_REQUIRE_MFA wants the user to assign a device, or since when it is overdue. */
function mfaDeadlineNote(iso) {
  if (!iso) return null;
  const overdue = Date.parse(iso) <= Date.now();
  return h('span', { class: 'sub' }, t(overdue ? 'admin.mfaOverdue' : 'admin.mfaDeadline', { date: fmtDate(iso) }));
}

const who = (ctx, id) => (id ? ctx.admin.byId.get(id)?.email ?? id : '—');

function usersPanel(ctx) {
  const add = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => addUser(ctx) }, t('admin.addUser'));
  const p = panel(t('admin.users'), { description: t('admin.usersText'), actions: add });
  const error = errorBox();
  const draw = () => {
    const me = state.session?.user.id;
    setChildren(p.body,
      table(
        t('admin.users'),
        [
          [t('admin.col.user'), (u) => [u.email, u.name ? h('span', { class: 'sub' }, u.name) : null]],
          [t('admin.col.role'), (u) => (u.role === 'admin' ? t('admin.role.admin') : t('admin.role.user'))],
          [t('admin.col.groups'), (u) => (u.groups?.length ? u.groups.map((g) => h('span', { class: 'badge' }, g)) : h('span', { class: 'muted' }, t('admin.groupsNone')))],
          [t('admin.col.mfa'), (u) => (u.mfaDevices > 0 ? tn('admin.mfaCount', u.mfaDevices) : [h('span', { class: 'badge badge-warn' }, t('admin.mfaNone')), mfaDeadlineNote(u.mfaSetupDeadline)])],
          [t('admin.col.lastSignIn'), (u) => dateEl(u.lastSignInAt)],
          [
            t('admin.col.status'),
            (u) => [
              u.disabled ? h('span', { class: 'badge badge-off' }, t('admin.status.disabled')) : h('span', { class: 'badge badge-ok' }, t('admin.status.active')),
              u.locked ? h('span', { class: 'badge badge-warn' }, t('admin.status.locked')) : null,
            ],
          ],
          [
            t('common.actions'),
            (u) =>
              h(
                'div',
                { class: 'row-actions' },
                u.id === me ? null : h('button', { type: 'button', class: 'btn btn-small', 'aria-label': t(u.disabled ? 'admin.enableNamed' : 'admin.disableNamed', { email: u.email }), onclick: () => setDisabled(ctx, u, !u.disabled) }, t(u.disabled ? 'admin.enable' : 'admin.disable')),
                u.locked ? h('button', { type: 'button', class: 'btn btn-small', 'aria-label': t('admin.unlockNamed', { email: u.email }), onclick: () => unlock(ctx, u) }, t('admin.unlock')) : null,
                h('button', { type: 'button', class: 'btn btn-small', 'aria-label': t('admin.editGroupsNamed', { email: u.email }), onclick: () => editGroups(ctx, u) }, t('admin.editGroups')),
                u.mfaDevices > 0 ? h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': t('admin.deactivateNamed', { email: u.email }), onclick: () => deactivateDevice(ctx, u) }, t('admin.deactivate')) : null,
              ),
          ],
        ],
        ctx.admin.users,
      ),
    );
  };
  ctx.reloadUsers = async () => {
    try {
      ctx.admin.users = (await api('GET', '/api/v1/admin/users')).users ?? [];
      ctx.admin.byId = new Map(ctx.admin.users.map((u) => [u.id, u]));
      draw();
    } catch (err) {
      error.show(err);
      setChildren(p.body, error.el);
    }
  };
  draw();
  return p.el;
}

/** Admin calls that meet `step_up_required` (the session's second factor is too old) ask again. */
const adminCall = (fn) => withStepUp(fn);

/**
 * After an admin act: under the two-person rule the server may answer 202 with a request that a
 * second administrator approves, and nothing has changed yet; say so instead of `done`.
 */
function afterAdminAct(ctx, answer, done) {
  if (answer?.approval) {
    announce(t('admin.approvalWaiting'));
    ctx.reloadApprovals();
  } else announce(done);
}

/** A request under the two-person rule in words: what would be done, to whom. */
function approvalText(a) {
  const email = a.target?.email ?? a.target?.id ?? '—';
  if (a.action === 'remove_mfa_device') return t('admin.approval.remove_mfa_device', { email, name: a.change?.deviceName ?? a.change?.deviceId ?? '' });
  if (a.action === 'remove_all_mfa_devices') return t('admin.approval.remove_all_mfa_devices', { email });
  const c = a.change?.changes ?? {};
  const parts = [];
  if (c.role === 'admin') parts.push(t('admin.approval.grant_admin', { email }));
  if (c.disabled === true) parts.push(t('admin.approval.disable', { email }));
  return parts.length ? parts.join(' · ') : t('admin.approval.update_user', { email });
}

/**
 * Administration → Approvals (MAMORI_ADMIN_APPROVALS=2): requests waiting for a second
 * administrator, with Approve (the step-up dialog asks for a fresh second factor when the server
 * wants one) and Cancel, and the last week's finished ones. Hidden while the rule is off and
 * nothing is listed.
 */
function approvalsPanel(ctx) {
  const p = panel(t('admin.approvals'), { description: t('admin.approvalsText') });
  p.el.hidden = true;
  const error = errorBox();
  const badge = { pending: 'badge-warn', executed: 'badge-ok' };
  const draw = (list) => {
    const me = state.session?.user.id;
    const rows = list.approvals ?? [];
    p.el.hidden = (list.administratorsRequired ?? 1) < 2 && rows.length === 0;
    if (rows.length === 0) return setChildren(p.body, h('p', { class: 'muted' }, t('admin.approvalsNone')));
    setChildren(p.body,
      error.el,
      table(
        t('admin.approvals'),
        [
          [t('admin.col.request'), (a) => [approvalText(a), a.status === 'pending' && a.requestedBy?.id === me ? h('span', { class: 'sub' }, t('admin.approval.yours')) : null]],
          [t('admin.col.requestedBy'), (a) => a.requestedBy?.email ?? a.requestedBy?.id ?? '—'],
          [t('admin.col.expires'), (a) => dateEl(a.expiresAt)],
          [t('admin.col.status'), (a) => h('span', { class: `badge ${badge[a.status] ?? 'badge-off'}` }, has(`admin.approval.status.${a.status}`) ? t(`admin.approval.status.${a.status}`) : a.status)],
          [
            t('common.actions'),
            (a) =>
              a.status !== 'pending'
                ? null
                : h(
                    'div',
                    { class: 'row-actions' },
                    a.requestedBy?.id === me ? null : h('button', { type: 'button', class: 'btn btn-small btn-primary', 'aria-label': t('admin.approveNamed', { request: approvalText(a) }), onclick: () => approveRequest(ctx, a) }, t('admin.approve')),
                    h('button', { type: 'button', class: 'btn btn-small', 'aria-label': t('admin.cancelRequestNamed', { request: approvalText(a) }), onclick: () => cancelRequest(ctx, a) }, t('admin.cancelRequest')),
                  ),
          ],
        ],
        rows,
      ),
    );
  };
  ctx.reloadApprovals = async () => {
    try {
      draw(await api('GET', '/api/v1/admin/approvals'));
    } catch (err) {
      p.el.hidden = false;
      error.show(err);
      setChildren(p.body, error.el);
    }
  };
  ctx.reloadApprovals();
  return p.el;
}

async function approveRequest(ctx, a) {
  const ok = await confirmDialog({
    title: t('admin.approveTitle'),
    text: t('admin.approveConfirm', { request: approvalText(a), email: a.requestedBy?.email ?? a.requestedBy?.id ?? '—' }),
    confirmLabel: t('admin.approve'),
    danger: true,
    action: () => adminCall(() => api('POST', `/api/v1/admin/approvals/${encodeURIComponent(a.id)}/approve`)),
  });
  if (ok) announce(t('admin.approved', { request: approvalText(a) }));
  // Whatever came of it (done, failed, someone else first), the list says what the request is now.
  ctx.reloadApprovals();
  if (ok) ctx.reloadUsers();
}

async function cancelRequest(ctx, a) {
  const ok = await confirmDialog({
    title: t('admin.cancelRequestTitle'),
    text: t('admin.cancelRequestConfirm', { request: approvalText(a) }),
    confirmLabel: t('admin.cancelRequest'),
    action: () => adminCall(() => api('POST', `/api/v1/admin/approvals/${encodeURIComponent(a.id)}/cancel`)),
  });
  if (ok) announce(t('admin.requestCancelled'));
  ctx.reloadApprovals();
}

async function setDisabled(ctx, user, disabled) {
  let answer;
  const ok = await confirmDialog({
    title: t(disabled ? 'admin.disableTitle' : 'admin.enableTitle'),
    text: t(disabled ? 'admin.disableConfirm' : 'admin.enableConfirm', { email: user.email }),
    confirmLabel: t(disabled ? 'admin.disable' : 'admin.enable'),
    danger: disabled,
    action: async () => {
      answer = await adminCall(() => api('PATCH', `/api/v1/admin/users/${encodeURIComponent(user.id)}`, { disabled }));
    },
  });
  if (ok) {
    afterAdminAct(ctx, answer, t(disabled ? 'admin.disabled' : 'admin.enabled', { email: user.email }));
    ctx.reloadUsers();
  }
}

/** The group names the server takes (src/store/groups.ts GROUP_NAME), checked here so the message is in the user's language. */
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function editGroups(ctx, user) {
  const dlg = openDialog(t('admin.groupsTitle', { email: user.email }));
  const groups = field({ label: t('admin.col.groups'), name: 'groups', autocomplete: 'off', required: false, spellcheck: 'false', autocapitalize: 'none', value: (user.groups ?? []).join(', '), hint: t('admin.groupsHint') });
  const f = form({
    submitLabel: t('common.save'),
    children: [groups.el],
    onSubmit: async (data) => {
      const names = str(data, 'groups').split(',').map((g) => g.trim()).filter((g) => g !== '');
      if (!names.every((g) => GROUP_NAME.test(g))) throw new LocalError(t('admin.groupsInvalid'));
      await adminCall(() => api('PATCH', `/api/v1/admin/users/${encodeURIComponent(user.id)}`, { groups: names }));
      dlg.close(true);
      announce(t('admin.groupsSaved', { email: user.email }));
      ctx.reloadUsers();
    },
    secondary: h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
  });
  dlg.body.append(f.el);
  groups.input.focus();
}

async function unlock(ctx, user) {
  const ok = await confirmDialog({
    title: t('admin.unlockTitle'),
    text: t('admin.unlockConfirm', { email: user.email }),
    confirmLabel: t('admin.unlock'),
    action: () => adminCall(() => api('POST', `/api/v1/admin/users/${encodeURIComponent(user.id)}/unlock`)),
  });
  if (ok) {
    announce(t('admin.unlocked', { email: user.email }));
    ctx.reloadUsers();
  }
}

/**
 * Deactivates one of a user's MFA devices (lost-device recovery). The contract has no admin
 * listing of a user's devices, so the console asks for the device ID (shown by
 * `mamori mfa list --email …`), and offers a choice when the server does list them.
 */
async function deactivateDevice(ctx, user) {
  const dlg = openDialog(t('admin.deactivateTitle'));
  dlg.body.append(loading());
  let devices = null;
  try {
    const [r] = await Promise.all([api('GET', `/api/v1/admin/users/${encodeURIComponent(user.id)}/mfa-devices`), loadFactors()]);
    if (Array.isArray(r?.devices)) devices = r.devices;
  } catch {
    // Not offered by this server: fall back to typing the ID.
  }
  let chooser;
  if (devices && devices.length) {
    chooser = h(
      'fieldset',
      { class: 'choices' },
      h('legend', null, t('admin.deactivateWhich')),
      devices.map((d, i) => {
        const id = uid('dev');
        return h(
          'div',
          { class: 'choice' },
          h('input', { type: 'radio', name: 'deviceId', id, value: d.id, checked: i === 0, required: true }),
          h('label', { for: id }, h('span', { class: 'choice-title' }, d.name), h('span', { class: 'choice-text' }, `${deviceTypeLabel(d.type)} · ${t('mfa.col.lastUsed')}: ${fmtDate(d.lastUsedAt)}`)),
        );
      }),
    );
  } else {
    chooser = field({ label: t('admin.deviceId'), name: 'deviceId', autocomplete: 'off', spellcheck: 'false', cls: 'mono', maxlength: 64, hint: t('admin.deviceIdHint', { email: user.email }) }).el;
  }
  const f = form({
    submitLabel: t('admin.deactivate'),
    children: [h('p', null, t('admin.deactivateText', { email: user.email })), chooser],
    onSubmit: async (data) => {
      const deviceId = str(data, 'deviceId');
      const answer = await adminCall(() => api('DELETE', `/api/v1/admin/users/${encodeURIComponent(user.id)}/mfa-devices/${encodeURIComponent(deviceId)}`));
      dlg.close(true);
      afterAdminAct(ctx, answer, t('admin.deactivated', { email: user.email }));
      ctx.reloadUsers();
    },
    secondary: [
      // Lost every device: one act deactivates them all (audited once, the user mailed once).
      devices && devices.length > 1
        ? actionButton(
            t('admin.deactivateAll'),
            async () => {
              if (!confirm(t('admin.deactivateAllConfirm', { email: user.email, n: devices.length }))) return;
              const answer = await adminCall(() => api('DELETE', `/api/v1/admin/users/${encodeURIComponent(user.id)}/mfa-devices`));
              dlg.close(true);
              afterAdminAct(ctx, answer, t('admin.deactivatedAll', { email: user.email }));
              ctx.reloadUsers();
            },
            { cls: 'btn btn-danger' },
          )
        : null,
      h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
    ],
  });
  f.submit.classList.add('btn-danger');
  setChildren(dlg.body, f.el);
  dlg.body.querySelector('input')?.focus();
}

function addUser(ctx) {
  const dlg = openDialog(t('admin.addUser'));
  const email = field({ label: t('field.email'), name: 'email', type: 'email', autocomplete: 'off', maxlength: 254 });
  const name = field({ label: t('field.name'), name: 'name', autocomplete: 'off', required: false, maxlength: 100 });
  const roleId = uid('role');
  const role = h(
    'div',
    { class: 'field' },
    h('label', { for: roleId }, t('admin.col.role')),
    h('select', { id: roleId, name: 'role' }, h('option', { value: 'user' }, t('admin.role.user')), h('option', { value: 'admin' }, t('admin.role.admin'))),
  );
  const password = field({ label: t('field.password'), name: 'password', type: 'password', autocomplete: 'new-password', required: false, minlength: 15, hint: t('admin.passwordHint') });
  const f = form({
    submitLabel: t('admin.addUser'),
    children: [email.el, name.el, role, password.el],
    onSubmit: async (data) => {
      const body = { email: str(data, 'email'), role: str(data, 'role') || 'user' };
      const n = str(data, 'name');
      if (n) body.name = n;
      const pw = String(data.get('password') ?? '');
      if (pw) body.password = pw;
      const answer = await adminCall(() => api('POST', '/api/v1/admin/users', body));
      dlg.close(true);
      // A new administrator under the two-person rule: added as a user, the role waiting for approval.
      const added = t(pw ? 'admin.userAdded' : 'admin.userInvited', { email: body.email });
      afterAdminAct(ctx, answer, added);
      if (answer?.approval) announce(`${added} ${t('admin.approvalWaiting')}`);
      ctx.reloadUsers();
    },
    secondary: h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')),
  });
  dlg.body.append(f.el);
  email.input.focus();
}

function reportPanel() {
  const error = errorBox();
  const btn = actionButton(
    t('admin.reportDownload'),
    async () => {
      const csv = await adminCall(() => api('GET', '/api/v1/admin/credential-report', undefined, { text: true }));
      saveFile(`credential-report-${new Date().toISOString().slice(0, 10)}.csv`, csv, 'text/csv;charset=utf-8');
      announce(t('admin.reportSaved'));
    },
    { error },
  );
  const p = panel(t('admin.report'), { description: t('admin.reportText'), actions: btn });
  p.body.append(error.el);
  return p.el;
}

function tokensPanel(ctx) {
  const p = panel(t('admin.tokens'), { description: t('admin.tokensText') });
  const fileId = uid('pskc');
  const fileInput = h('input', { type: 'file', id: fileId, name: 'file', accept: '.pskc,.xml,application/pskc+xml,application/xml,text/xml', required: true });
  const result = h('div', { role: 'status' });
  const f = form({
    submitLabel: t('admin.tokensImport'),
    children: [h('div', { class: 'field' }, h('label', { for: fileId }, t('admin.tokensFile')), fileInput)],
    onSubmit: async () => {
      const file = fileInput.files?.[0];
      if (!file) throw new LocalError(t('validation.required'));
      const text = await file.text();
      const r = await adminCall(() => api('POST', '/api/v1/admin/hardware-tokens', undefined, { raw: text, contentType: 'application/pskc+xml' }));
      const skipped = Array.isArray(r.skipped) ? r.skipped : [];
      setChildren(result,
        h('div', { class: 'alert alert-success' }, h('p', null, tn('admin.tokensImported', r.imported ?? 0, { skipped: skipped.length }))),
        skipped.length
          ? table(t('admin.tokensSkipped'), [[t('admin.col.serial'), (x) => x.serial], [t('admin.col.reason'), (x) => (has(`admin.skip.${x.reason}`) ? t(`admin.skip.${x.reason}`) : x.reason)]], skipped)
          : null,
      );
      f.el.reset();
      ctx.reloadTokens();
    },
  });
  const list = h('div', null, loading());
  p.body.append(f.el, result, h('h3', null, t('admin.tokensInventory')), list);
  ctx.reloadTokens = async () => {
    try {
      const { tokens = [] } = await api('GET', '/api/v1/admin/hardware-tokens');
      setChildren(list,
        tokens.length === 0
          ? h('p', { class: 'empty' }, t('admin.tokensNone'))
          : table(
              t('admin.tokensInventory'),
              [
                [t('admin.col.serial'), (x) => h('code', null, x.serial)],
                [t('admin.col.algorithm'), (x) => x.algorithm],
                [t('admin.col.digits'), (x) => String(x.digits)],
                [t('admin.col.period'), (x) => t('time.seconds', { n: x.period })],
                [t('admin.col.assignedTo'), (x) => (x.assignedTo ? who(ctx, x.assignedTo) : h('span', { class: 'muted' }, t('admin.tokensUnassigned')))],
              ],
              tokens,
            ),
      );
    } catch (err) {
      const e = errorBox();
      e.show(err);
      setChildren(list, e.el);
    }
  };
  ctx.reloadTokens();
  return p.el;
}

/** Administration → Applications: the OpenID Connect clients, their policy, and a secret shown once. */
function clientsPanel(ctx) {
  const p = panel(t('admin.clients'), { description: t('admin.clientsText') });
  const name = field({ label: t('admin.clientName'), name: 'name', maxlength: 100 });
  const uris = h('textarea', { id: uid('redirect'), name: 'redirectUris', rows: 2, required: true, spellcheck: 'false', class: 'mono' });
  const urisField = h('div', { class: 'field' }, h('label', { for: uris.id }, t('admin.clientRedirectUris')), h('p', { class: 'hint' }, t('admin.clientRedirectHint')), uris);
  const levelId = uid('level');
  const level = h(
    'select',
    { id: levelId, name: 'minAcr' },
    h('option', { value: '' }, t('admin.clientLevel.any')),
    h('option', { value: 'urn:mamori:aal2' }, t('admin.clientLevel.aal2')),
    h('option', { value: 'urn:mamori:phr' }, t('admin.clientLevel.phr')),
  );
  const groups = field({ label: t('admin.clientGroups'), name: 'groups', required: false, hint: t('admin.clientGroupsHint') });
  const check = (key, fieldName) => {
    const id = uid(fieldName);
    return h('div', { class: 'field field-check' }, h('input', { type: 'checkbox', id, name: fieldName }), h('label', { for: id }, t(key)));
  };
  const created = h('div', { role: 'status' });
  const f = form({
    submitLabel: t('admin.clientCreate'),
    children: [name.el, urisField, h('div', { class: 'field' }, h('label', { for: levelId }, t('admin.clientLevel')), level), groups.el, check('admin.clientPublic', 'public'), check('admin.clientThirdParty', 'thirdParty')],
    onSubmit: async (data) => {
      const body = {
        name: str(data, 'name'),
        redirectUris: String(data.get('redirectUris') ?? '').split(/\s+/).filter(Boolean),
        public: data.get('public') === 'on',
        thirdParty: data.get('thirdParty') === 'on',
        allowedGroups: String(data.get('groups') ?? '').split(/[\s,]+/).filter(Boolean),
      };
      const minAcr = String(data.get('minAcr') ?? '');
      if (minAcr) body.minAcr = minAcr;
      const r = await adminCall(() => api('POST', '/api/v1/admin/oidc-clients', body));
      setChildren(
        created,
        h(
          'div',
          { class: 'alert alert-success' },
          h('p', { class: 'alert-title' }, t('admin.clientCreated')),
          h('p', null, t('admin.clientId'), ' ', h('code', null, r.clientId)),
          r.clientSecret ? [h('p', null, t('admin.clientSecret'), ' ', h('code', { class: 'secret' }, r.clientSecret)), h('p', null, t('admin.clientSecretOnce'))] : null,
        ),
      );
      f.el.reset();
      ctx.reloadClients();
    },
  });
  const list = h('div', null, loading());
  p.body.append(f.el, created, h('h3', null, t('admin.clientsList')), list);
  const levelName = (acr) => (acr === 'urn:mamori:phr' ? t('admin.clientLevel.phr') : acr === 'urn:mamori:aal2' ? t('admin.clientLevel.aal2') : t('admin.clientLevel.any'));
  ctx.reloadClients = async () => {
    try {
      const { clients = [] } = await adminCall(() => api('GET', '/api/v1/admin/oidc-clients'));
      const error = errorBox();
      setChildren(
        list,
        error.el,
        clients.length === 0
          ? h('p', { class: 'empty' }, t('admin.clientsNone'))
          : table(
              t('admin.clientsList'),
              [
                [t('admin.clientName'), (c) => [c.name, h('span', { class: 'sub' }, h('code', null, c.clientId))]],
                [t('admin.clientLevel'), (c) => levelName(c.minAcr)],
                [t('admin.clientGroups'), (c) => (c.allowedGroups.length ? c.allowedGroups.join(', ') : t('admin.clientEveryone'))],
                [t('admin.clientRedirectUris'), (c) => c.redirectUris.map((u) => h('code', { class: 'sub' }, u))],
                [
                  t('admin.col.actions'),
                  (c) =>
                    actionButton(
                      t('admin.clientDelete'),
                      async () => {
                        if (!confirm(t('admin.clientDeleteConfirm', { name: c.name }))) return;
                        await adminCall(() => api('DELETE', `/api/v1/admin/oidc-clients/${encodeURIComponent(c.clientId)}`));
                        ctx.reloadClients();
                      },
                      { cls: 'btn btn-small btn-danger', error, ariaLabel: t('admin.clientDeleteNamed', { name: c.name }) },
                    ),
                ],
              ],
              clients,
            ),
      );
    } catch (err) {
      const e = errorBox();
      e.show(err);
      setChildren(list, e.el);
    }
  };
  ctx.reloadClients();
  return p.el;
}

function auditPanel(ctx) {
  const verifyResult = h('div', { role: 'status' });
  const error = errorBox();
  const verify = actionButton(
    t('admin.auditVerify'),
    async () => {
      verifyResult.replaceChildren();
      const r = await adminCall(() => api('GET', '/api/v1/admin/audit/verify'));
      setChildren(verifyResult,
        r.valid
          ? h('div', { class: 'alert alert-success' }, h('p', null, tn('admin.auditValid', r.events ?? 0)))
          : h('div', { class: 'alert alert-error' }, h('p', null, t('admin.auditBroken', { id: r.firstBrokenId ?? '?', n: r.events ?? 0 }))),
      );
    },
    { error },
  );
  const p = panel(t('admin.audit'), { description: t('admin.auditText'), actions: verify });
  const events = [];
  const rows = h('div');
  const more = h('div', { class: 'form-actions' });
  p.body.append(verifyResult, error.el, rows, more);
  const draw = () => {
    setChildren(rows,
      events.length === 0
        ? h('p', { class: 'empty' }, t('admin.auditNone'))
        : table(
            t('admin.audit'),
            [
              [t('admin.col.id'), (e) => String(e.id)],
              [t('activity.col.at'), (e) => dateEl(e.at)],
              [t('activity.col.event'), (e) => eventLabel(e.type)],
              [t('admin.col.user'), (e) => who(ctx, e.userId)],
              [t('admin.col.actor'), (e) => actorLabel(ctx, e.actor)],
              [t('activity.col.ip'), (e) => e.ip ?? '—'],
              [t('admin.col.detail'), (e) => detailCell(e.detail)],
            ],
            events,
          ),
    );
  };
  const load = async (after) => {
    setChildren(more, loading());
    try {
      const q = new URLSearchParams({ limit: '50' });
      if (after !== null && after !== undefined) q.set('after', String(after));
      const r = await adminCall(() => api('GET', `/api/v1/admin/audit?${q}`));
      events.push(...(r.events ?? []));
      draw();
      setChildren(more, r.next !== null && r.next !== undefined ? actionButton(t('common.loadMore'), () => load(r.next), { cls: 'btn btn-small', error }) : '');
    } catch (err) {
      more.replaceChildren();
      error.show(err);
    }
  };
  load(null);
  return p.el;
}

function actorLabel(ctx, actor) {
  if (!actor) return '—';
  const m = /^admin:(.+)$/.exec(actor);
  return m ? t('admin.actorAdmin', { who: who(ctx, m[1]) }) : actor;
}

function detailCell(detail) {
  if (!detail || typeof detail !== 'object' || Object.keys(detail).length === 0) return '';
  const text = JSON.stringify(detail);
  return h('code', { class: 'detail', title: text }, text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

// ---------------------------------------------------------------------------------------------
// #/consent?uid=…: a third-party application asks for the user's consent (OpenID Connect)

function viewConsent() {
  const card = h('section', { class: 'card card-narrow' }, pageHead('consent.title'));
  const uid = routeParams().get('uid') ?? '';
  const error = errorBox();
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(uid)) {
    append(card, h('div', { class: 'alert alert-error' }, h('p', null, t('consent.expired'))));
    return card;
  }
  const base = `/oidc/interaction/${uid}`;
  const body = h('div', null, loading());
  append(card, body, error.el);
  const answer = async (approve) => {
    const r = await api('POST', `${base}/consent`, { approve });
    location.assign(r.redirectTo);
  };
  api('GET', `${base}/details`)
    .then((d) => {
      const scopes = (d.scopes ?? []).filter((sc) => sc !== 'openid');
      setChildren(
        body,
        h('p', { class: 'lead' }, t('consent.lead', { client: d.client?.name ?? '' })),
        scopes.length ? h('ul', { class: 'consent-scopes' }, scopes.map((sc) => h('li', null, has(`consent.scope.${sc}`) ? t(`consent.scope.${sc}`) : sc))) : null,
        h('p', null, t('consent.note')),
        h(
          'div',
          { class: 'form-actions' },
          actionButton(t('consent.allow'), () => answer(true), { cls: 'btn btn-primary', error }),
          actionButton(t('consent.deny'), () => answer(false), { cls: 'btn', error }),
        ),
      );
    })
    .catch(() => setChildren(body, h('div', { class: 'alert alert-error' }, h('p', null, t('consent.expired')))));
  return card;
}

// ---------------------------------------------------------------------------------------------
// Start

/** The query of the address, or of its hash route (`#/sign-in?rd=…`, as forward-auth and OpenID Connect send). */
function routeParams() {
  const hash = location.hash.indexOf('?');
  return new URLSearchParams(hash >= 0 ? location.hash.slice(hash + 1) : location.search);
}

/** `?rd=` return address: only same-origin paths are honoured (no open redirect). */
function readReturnTo() {
  const rd = routeParams().get('rd');
  if (!rd) return null;
  try {
    const u = new URL(rd, location.origin);
    return u.origin === location.origin && !u.pathname.startsWith('/api/') ? u.href : null;
  } catch {
    return null;
  }
}

/** A return address from forward-auth (`#/sign-in?rd=…&aal=…`), for any host: the server decides whether it is followed. */
function readForwardReturn() {
  const q = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const rd = q.get('rd');
  const aal = q.get('aal');
  return rd ? { rd, aal: aal === '2' || aal === 'phr' ? aal : null } : null;
}

/** Whether a session is at the level forward-auth asked for (`aal=2` or `aal=phr`). */
function meetsLevel(session, aal) {
  if (aal === 'phr') return session.acr === 'urn:mamori:phr';
  return aal === '2' ? session.aal >= 2 : true;
}

/**
 * Goes to the forward-auth return address once GET /api/v1/return-to approves it, after a
 * step-up when its level is missing. Resolves true when it navigates; used once.
 */
async function followForwardReturn() {
  const fwd = state.forwardReturn;
  state.forwardReturn = null;
  if (!fwd || !state.session || state.session.mfaSetupRequired || state.session.passwordChangeRequired) return false;
  let url;
  try {
    url = (await api('GET', `/api/v1/return-to?rd=${encodeURIComponent(fwd.rd)}`)).url;
  } catch {
    return false; // not an address the server lets the console follow: stay here
  }
  if (!meetsLevel(state.session, fwd.aal)) {
    if (!(await stepUp({ keyOnly: fwd.aal === 'phr', intro: t(fwd.aal === 'phr' ? 'stepUp.forAppKey' : 'stepUp.forApp', { host: new URL(url).host }) }))) return false;
    if (!meetsLevel(state.session, fwd.aal)) return false;
  }
  location.assign(url);
  return true;
}

async function boot() {
  state.lang = pickLang();
  document.documentElement.lang = state.lang;
  state.returnTo = readReturnTo();
  state.forwardReturn = readForwardReturn();
  state.reauth = routeParams().get('reauth') === '1';
  // /console/sign-in and friends (links in mails and logs) map onto the hash routes.
  const page = /^\/console\/(setup|sign-in|security|admin)$/.exec(location.pathname);
  if (page && !location.hash) history.replaceState(null, '', `/console/${location.search}#/${page[1]}`);
  $('#main').replaceChildren(loading());
  try {
    state.setupNeeded = (await api('GET', '/api/v1/setup')).needed === true;
  } catch {
    state.setupNeeded = false;
  }
  if (!state.setupNeeded) {
    try {
      state.session = await api('GET', '/api/v1/session');
    } catch {
      state.session = null;
    }
  }
  loadFactors(); // in the background: the wizard, the second step and device lists use it
  // The skip link must not change the hash (that is the router's); it moves focus instead.
  $('#skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    ($('#main h1') ?? $('#main')).focus();
  });
  window.addEventListener('hashchange', render);
  // Signed in, but below the level an application asked for: step up here, then go back, instead
  // of going straight back (which would only be sent here again). At the level already, a foreign
  // return is not followed from here: that would loop if the cookie never reached the application.
  const stepUpFirst = state.session && state.forwardReturn?.aal && !meetsLevel(state.session, state.forwardReturn.aal);
  if (stepUpFirst) state.returnTo = null;
  render();
  if (stepUpFirst) followForwardReturn();
}

boot();
