import { describe, expect, it } from 'vitest';
import { decideLogin, requiredAcr, type LoginSituation } from '../../src/oidc/policy.js';

const AAL1 = 'urn:mamori:aal1';
const AAL2 = 'urn:mamori:aal2';
const PHR = 'urn:mamori:phr';

describe('the level an authorization request needs', () => {
  const rows: Array<[string | undefined, typeof AAL2 | typeof PHR | undefined, string]> = [
    [undefined, undefined, AAL1],
    ['', undefined, AAL1],
    [AAL2, undefined, AAL2],
    [`${PHR} ${AAL2}`, undefined, AAL2], // any listed value would do: the lowest counts
    [`${AAL1} ${PHR}`, undefined, AAL1],
    ['urn:other:gold', undefined, AAL1], // unknown values are ignored
    [AAL1, AAL2, AAL2], // the client's floor holds (the Keycloak acr_values=1 bypass)
    [undefined, PHR, PHR],
    [AAL2, PHR, PHR],
    [PHR, AAL2, PHR],
  ];
  it.each(rows)('acr_values %j with minimum %j → %s', (asked, min, expected) => {
    expect(requiredAcr(asked, min)).toBe(expected);
  });
});

describe('the login interaction', () => {
  const T = 1_000_000;
  const base: LoginSituation = {
    signedIn: { acr: AAL2, signedInAt: T - 60_000, mfaVerifiedAt: T - 60_000, groups: ['user'] },
    needed: AAL1,
    reachable: 2,
    allowedGroups: [],
    promptLogin: false,
    maxAge: undefined,
    startedAt: T,
    now: T + 1_000,
  };
  const rows: Array<[string, Partial<LoginSituation>, ReturnType<typeof decideLogin>]> = [
    ['nobody signed in', { signedIn: undefined }, { kind: 'sign_in', fresh: false }],
    ['signed in at the level', { needed: AAL2 }, { kind: 'finish' }],
    ['below the level, reachable', { signedIn: { ...base.signedIn!, acr: AAL1, mfaVerifiedAt: null }, needed: AAL2 }, { kind: 'step_up', acr: AAL2 }],
    ['phr needed, a passkey held', { needed: PHR, reachable: 3 }, { kind: 'step_up', acr: PHR }],
    ['phr needed, no passkey', { needed: PHR, reachable: 2 }, { kind: 'refuse', error: 'unmet_authentication_requirements', description: 'This application needs a passkey or security key, and the account has none' }],
    ['aal2 needed, no device', { signedIn: { ...base.signedIn!, acr: AAL1, mfaVerifiedAt: null }, needed: AAL2, reachable: 1 }, { kind: 'refuse', error: 'unmet_authentication_requirements', description: 'This application needs an MFA device, and the account has none' }],
    ['not in the allowed groups', { allowedGroups: ['ops'] }, { kind: 'refuse', error: 'access_denied', description: 'This account may not use this application' }],
    ['in an allowed group', { allowedGroups: ['ops', 'user'] }, { kind: 'finish' }],
    ['prompt=login, signed in before the request', { promptLogin: true }, { kind: 'sign_in', fresh: true }],
    ['prompt=login, signed in after it', { promptLogin: true, signedIn: { ...base.signedIn!, signedInAt: T + 500, mfaVerifiedAt: T + 500 } }, { kind: 'finish' }],
    ['max_age=0, signed in before', { maxAge: 0 }, { kind: 'sign_in', fresh: true }],
    ['max_age=120, signed in a minute ago', { maxAge: 120 }, { kind: 'finish' }],
    ['max_age=30, signed in a minute ago', { maxAge: 30 }, { kind: 'sign_in', fresh: true }],
    // A remembered browser: aal 2 without a second factor in this session.
    ['remembered session, aal2 needed, no freshness asked', { needed: AAL2, signedIn: { ...base.signedIn!, mfaVerifiedAt: null } }, { kind: 'finish' }],
    ['remembered session, prompt=login at aal2', { needed: AAL2, promptLogin: true, signedIn: { ...base.signedIn!, signedInAt: T + 500, mfaVerifiedAt: null } }, { kind: 'sign_in', fresh: true }],
    ['remembered session, max_age=600 at aal2', { needed: AAL2, maxAge: 600, signedIn: { ...base.signedIn!, mfaVerifiedAt: null } }, { kind: 'sign_in', fresh: true }],
    ['remembered session, prompt=login at aal1', { promptLogin: true, signedIn: { ...base.signedIn!, signedInAt: T + 500, mfaVerifiedAt: null } }, { kind: 'finish' }],
    ['second factor older than max_age at aal2', { needed: AAL2, maxAge: 600, signedIn: { ...base.signedIn!, signedInAt: T - 60_000, mfaVerifiedAt: T - 3_600_000 } }, { kind: 'sign_in', fresh: true }],
  ];
  it.each(rows)('%s', (_label, change, expected) => {
    expect(decideLogin({ ...base, ...change })).toEqual(expected);
  });
});
