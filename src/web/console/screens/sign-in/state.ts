// Where the sign-in stands. Kept outside the page so that "Lost your MFA devices?" and back
// finds the second step still waiting (its pending sign-in lives on the server for minutes).
// Nothing secret: the codes and the password stay in their forms.
import { signal } from '@preact/signals';

export type Step =
  | { kind: 'password' }
  /** `methods`: with `recovery`, the second factors the account still holds, usable instead of the code (cancelling the recovery). */
  | { kind: 'email_code'; recovery: boolean; methods: readonly string[]; expiresAt: number | null }
  | { kind: 'mfa'; methods: readonly string[]; preferred: string | null; rememberDays: number | null }
  /** Signed in, on the way back to an application (or to Security credentials). */
  | { kind: 'leaving' };

export const step = signal<Step>({ kind: 'password' });

/** The address typed at the first step: the later steps and "Lost your MFA devices?" show it again. */
export const signInEmail = signal('');

/** Back to the first step, keeping the address. */
export function startOver(): void {
  step.value = { kind: 'password' };
}
