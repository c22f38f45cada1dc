import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { authenticatorName } from '../../src/methods/webauthn/index.js';

describe('authenticator names from the AAGUID', () => {
  const known = createRequire(import.meta.url)('aaguids') as Record<string, string>;
  it('names a known model, else says passkey (synced) or security key (device-bound)', () => {
    const [aaguid, model] = Object.entries(known).find(([, name]) => /YubiKey/.test(name))!;
    expect(authenticatorName({ aaguid, backupEligible: false })).toBe(model);
    expect(authenticatorName({ aaguid: '00000000-0000-0000-0000-000000000000', backupEligible: true })).toBe('Passkey');
    expect(authenticatorName({ aaguid: '00000000-0000-0000-0000-000000000000', backupEligible: false })).toBe('Security key');
    expect(authenticatorName({ aaguid: null, backupEligible: false })).toBe('Security key');
  });
});
