import jsQRModule from 'jsqr';
import { expect } from 'vitest';
import type { Client } from './client.js';
import { createTestUser, signIn, type TestServer } from './server.js';
import { base32Decode } from '../../src/methods/totp/otpauth.js';
import { hotp, timeStep } from '../../src/methods/totp/otp.js';

/** What an authenticator app would show at `unixMs`, `stepOffset` steps away. */
export function appCode(secretBase32: string, unixMs: number, stepOffset = 0): string {
  return hotp(base32Decode(secretBase32), timeStep(unixMs, 30) + BigInt(stepOffset), { algorithm: 'SHA1', digits: 6 });
}

/** Rasterises the `qrcode` package's SVG path (M/m/h commands) and reads it back with jsQR. */
export function decodeQrSvg(svg: string): string | null {
  const size = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)?.[1]);
  const d = /<path[^>]*stroke="#000000"[^>]*d="([^"]+)"/.exec(svg)?.[1] ?? /<path[^>]*d="([^"]+)"[^>]*stroke="#000000"/.exec(svg)?.[1];
  if (!size || !d) return null;
  const scale = 8;
  const w = size * scale;
  const pixels = new Uint8ClampedArray(w * w * 4).fill(255);
  let x = 0;
  let y = 0;
  for (const [, cmd, a, b] of d.matchAll(/([Mmh])([\d.]+)(?: ([\d.]+))?/g)) {
    if (cmd === 'M') [x, y] = [Number(a), Number(b)];
    else if (cmd === 'm') [x, y] = [x + Number(a), y + Number(b ?? 0)];
    else {
      const row = Math.floor(y);
      for (let col = x; col < x + Number(a); col++) {
        for (let py = row * scale; py < (row + 1) * scale; py++) {
          for (let px = col * scale; px < (col + 1) * scale; px++) {
            const i = (py * w + px) * 4;
            pixels[i] = pixels[i + 1] = pixels[i + 2] = 0;
          }
        }
      }
      x += Number(a);
    }
  }
  // jsqr is CommonJS with an `exports.default`; loaders disagree on which one a default import gets.
  const mod = jsQRModule as unknown as { default?: typeof jsQRModule.default };
  const jsQR = mod.default ?? (jsQRModule as unknown as typeof jsQRModule.default);
  return jsQR(pixels, w, w)?.data ?? null;
}

export interface AssignedApp {
  id: string;
  secret: string;
  recoveryCodes?: string[];
}

/** Security credentials → Assign MFA device → authenticator app, as a person does it: two consecutive codes. */
export async function assignApp(clock: { now(): number }, c: Client, name = 'Phone'): Promise<AssignedApp> {
  const r = await c.post<{ id: string; secret: string }>('/api/v1/me/mfa-devices/totp', { name });
  expect(r.status, r.text).toBe(201);
  const now = clock.now();
  const a = await c.post<{ recoveryCodes?: string[] }>(`/api/v1/me/mfa-devices/${r.body.id}/activate`, {
    code1: appCode(r.body.secret, now),
    code2: appCode(r.body.secret, now, 1),
  });
  expect(a.status, a.text).toBe(200);
  return { id: r.body.id, secret: r.body.secret, ...(a.body.recoveryCodes ? { recoveryCodes: a.body.recoveryCodes } : {}) };
}

/** An administrator signed in with a freshly assigned authenticator app: a session at aal 2, as the admin API needs. */
export async function adminAtAal2(server: TestServer, email: string): Promise<{ client: Client; app: AssignedApp }> {
  await createTestUser(server, email, { role: 'admin' });
  const client = await signIn(server, email);
  const app = await assignApp(server.clock, client);
  return { client, app };
}
