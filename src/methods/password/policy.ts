import { dictionary } from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 256;

export type WeakReason = 'too_short' | 'too_long' | 'common' | 'repetitive' | 'contains_email';

export const weakReasonText: Record<WeakReason, string> = {
  too_short: `Use at least ${PASSWORD_MIN} characters; a few unrelated words make a good password.`,
  too_long: `Use at most ${PASSWORD_MAX} characters.`,
  common: 'This password is on the list of commonly used passwords.',
  repetitive: 'This password is a repetition or a simple sequence.',
  contains_email: 'This password is built on your email address.',
};

let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  // ~49 000 passwords from real breaches, maintained by the zxcvbn-ts project.
  common ??= new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
  return common;
}

/** NFKC, so the same password typed on another keyboard or OS hashes the same. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

function isSequence(s: string): boolean {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  if (cps.length < 3) return true;
  const digits = /^\d+$/.test(s);
  for (const dir of [1, -1]) {
    let ok = true;
    for (let i = 1; i < cps.length && ok; i++) {
      const step = cps[i]! - cps[i - 1]!;
      // 1234567890 wraps 9 → 0.
      ok = step === dir || (digits && step === -9 * dir);
    }
    if (ok) return true;
  }
  return false;
}

function isRepetition(s: string): boolean {
  const cps = [...s];
  for (let unit = 1; unit <= cps.length / 2; unit++) {
    if (cps.length % unit !== 0) continue;
    const head = cps.slice(0, unit).join('');
    if (head.repeat(cps.length / unit) === s) return true;
  }
  return false;
}

/** Trivial: empty, one common password, a repetition, or a sequence — possibly repeated. */
function isTrivial(s: string): boolean {
  if (s.length === 0) return true;
  if (commonPasswords().has(s)) return true;
  if (isSequence(s)) return true;
  return isRepetition(s);
}

/** Returns why a password is refused, or null. `email` supplies the context words. */
export function checkPassword(password: string, email: string): WeakReason | null {
  const pw = normalizePassword(password);
  const length = [...pw].length;
  if (length < PASSWORD_MIN) return 'too_short';
  if (length > PASSWORD_MAX) return 'too_long';
  const lower = pw.toLowerCase();
  if (commonPasswords().has(lower)) return 'common';
  if (isRepetition(lower) || isSequence(lower)) return 'repetitive';
  // A common password padded with a sequence or repeated ("password12345678", "passwordpassword").
  for (let cut = 4; cut < lower.length; cut++) {
    const head = lower.slice(0, cut);
    const tail = lower.slice(cut);
    if ((commonPasswords().has(head) && isTrivial(tail)) || (commonPasswords().has(tail) && isTrivial(head))) {
      return 'common';
    }
  }
  // The local part and its pieces ("mamori-owner" → "mamori", "owner"), longest first, so the
  // words are found in any order: "owner-mamori123" is still built on the address.
  const local = (email.split('@')[0] ?? '').toLowerCase();
  const words = [...new Set([local, ...local.split(/[._+-]/)])].filter((w) => w.length >= 3).sort((a, b) => b.length - a.length);
  let rest = lower;
  for (const word of words) rest = rest.split(word).join('');
  if (rest !== lower) {
    const bare = rest.replace(/[\s._+\-]/g, '');
    if (bare.length < 8 || isTrivial(bare)) return 'contains_email';
  }
  return null;
}
