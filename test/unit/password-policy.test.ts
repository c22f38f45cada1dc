import { describe, expect, it } from 'vitest';
import { PASSWORD_MAX, PASSWORD_MIN, checkPassword, normalizePassword, weakReasonText, type WeakReason } from '../../src/methods/password/policy.js';

const EMAIL = 'mamori-owner@example.com';

describe('password policy', () => {
  it('is 15 to 256 code points, counted as code points, not UTF-16 units or bytes', () => {
    expect(PASSWORD_MIN).toBe(15);
    expect(PASSWORD_MAX).toBeGreaterThanOrEqual(64);
    expect(checkPassword('fourteen chars', EMAIL)).toBe('too_short');
    expect(checkPassword('fifteen chars!!', EMAIL)).toBeNull();
    // 14 emoji are 28 UTF-16 units and 56 bytes, but 14 characters.
    expect(checkPassword('🔐🦊🌸🍙🚲🎈🧭🪁🐙🍣🎏🗻🌊🦉', EMAIL)).toBe('too_short');
    expect(checkPassword('🔐🦊🌸🍙🚲🎈🧭🪁🐙🍣🎏🗻🌊🦉🍵', EMAIL)).toBeNull();
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ').slice(0, PASSWORD_MAX);
    expect([...long].length).toBe(PASSWORD_MAX);
    expect(checkPassword(long, EMAIL)).toBeNull();
    expect(checkPassword('x'.repeat(PASSWORD_MAX + 1), EMAIL)).toBe('too_long');
  });

  it('has no composition rules: a lowercase passphrase with spaces is fine', () => {
    for (const ok of ['correct horse battery staple', 'the cat sat on a warm mat', 'ümlaut und ß sind erlaubt', 'パスワードではない長い文章です', '7 swans a-swimming today']) {
      expect(checkPassword(ok, EMAIL), ok).toBeNull();
    }
  });

  it.each<[string, WeakReason[]]>([
    ['passwordpassword', ['common', 'repetitive']],
    ['123456789012345', ['repetitive']],
    ['1234567890123456789', ['repetitive']],
    ['abcdefghijklmnop', ['repetitive']],
    ['zyxwvutsrqponmlk', ['repetitive']],
    ['aaaaaaaaaaaaaaaa', ['repetitive']],
    ['abcabcabcabcabcabc', ['repetitive']],
    ['password12345678', ['common']],
    ['PASSWORD12345678', ['common']],
    ['12345678password', ['common']],
    ['qwertyqwertyqwerty', ['common', 'repetitive']],
    ['iloveyou11111111', ['common']],
    ['mamori-owner123', ['contains_email']],
    ['mamori-owner!!!', ['contains_email']],
    ['MAMORI-OWNERxyz', ['contains_email']],
    ['mamorimamori2024', ['contains_email']],
    ['owner.owner.owner', ['common', 'contains_email', 'repetitive']],
  ])('refuses %j (%j)', (password, reasons) => {
    expect(reasons).toContain(checkPassword(password, EMAIL));
  });

  it('refuses every common password padded to length', () => {
    for (const word of ['password', 'letmein', 'dragon', 'football', 'monkey', 'sunshine']) {
      expect(checkPassword(word.padEnd(16, '1'), EMAIL), word).not.toBeNull();
      expect(checkPassword(word.repeat(3), EMAIL), word).not.toBeNull();
    }
  });

  it('uses the email local part and its pieces as context words', () => {
    expect(checkPassword('alexander.smith!', 'alexander.smith@example.com')).toBe('contains_email');
    expect(checkPassword('alexander2024!!!', 'alexander.smith@example.com')).toBe('contains_email');
    // Unrelated to the address: fine.
    expect(checkPassword('granite orchard lamp', 'alexander.smith@example.com')).toBeNull();
    // Context words need at least three letters, so a short local part does not block everything.
    expect(checkPassword('bo and the long river', 'bo@example.com')).toBeNull();
  });

  it('normalises with NFKC, so composed and decomposed forms are the same password', () => {
    const nfc = 'café au lait, s’il vous plaît'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(normalizePassword(nfd)).toBe(normalizePassword(nfc));
    // Full-width letters are the same password as their ASCII forms.
    expect(normalizePassword('ｐａｓｓｗｏｒｄ')).toBe('password');
    expect(checkPassword('ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ', EMAIL)).toBe(checkPassword('passwordpassword', EMAIL));
    // Never truncated or case-folded.
    const long = 'x'.repeat(100) + 'Y';
    expect(normalizePassword(long)).toBe(long);
  });

  it('explains every reason in words', () => {
    for (const reason of ['too_short', 'too_long', 'common', 'repetitive', 'contains_email'] as const) {
      expect(weakReasonText[reason].length).toBeGreaterThan(10);
    }
  });
});

describe('passwords built on the email in any order', () => {
  it('refuses the local part’s words rearranged and padded', async () => {
    const { checkPassword } = await import('../../src/methods/password/policy.js');
    expect(checkPassword('owner-mamori123', 'mamori-owner@example.com')).toBe('contains_email');
    expect(checkPassword('mamoriowner12345', 'mamori-owner@example.com')).toBe('contains_email');
    expect(checkPassword('owner mamori owner mamori', 'mamori-owner@example.com')).toBe('contains_email');
    expect(checkPassword('owner of a lonely heart tonight', 'mamori-owner@example.com')).toBeNull();
  });
});
