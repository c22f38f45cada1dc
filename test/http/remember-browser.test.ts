/**
 * Issue 10, item 5: "Remember this browser" (MAMORI_REMEMBER_BROWSER_DAYS), over HTTP on SQLite
 * and PostgreSQL. Off by default; on, a tick at the MFA step lets that browser's password step
 * stand in for the second factor for that user for the period, at aal 2 but never as a fresh
 * second factor; and every grant of the user ends when a device is removed, the password changes
 * or an administrator resets MFA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { purgeExpired } from '../../src/flows/housekeeping.js';
import { Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';

const DAY_MS = 24 * 3_600_000;
const NEW_PASSWORD = 'a completely different passphrase';

interface StepBody {
  status: string;
  methods?: string[];
  rememberBrowserDays?: number;
  rememberedUntil?: string | null;
  session?: { aal: number; amr: string[]; acr: string; mfaVerifiedAt: string | null; user: { id: string } };
}

interface Listed {
  rememberBrowserDays: number | null;
  browsers: Array<{ id: string; createdAt: string; expiresAt: string; lastUsedAt: string | null; ip: string | null; userAgent: string | null; device: { id: string; name: string } | null; amr: string[] }>;
}

/** One person's account and authenticator app, and the code it shows next (never one already used). */
interface Person {
  id: string;
  email: string;
  secret: string;
  deviceId: string;
  password: string;
}

for (const { name, skip } of databases) {
  describe.skipIf(skip)(`remember this browser (${name})`, () => {
    let server: TestServer;
    let off: TestServer;

    beforeAll(async () => {
      // Many sign-ins from 127.0.0.1 here; the per-address limit has its own test.
      server = await startServer({ database: name, env: { MAMORI_REMEMBER_BROWSER_DAYS: '7', MAMORI_IP_FAILURE_LIMIT: '0' } });
      off = await startServer({ database: name, env: { MAMORI_IP_FAILURE_LIMIT: '0' } });
    });
    afterAll(async () => {
      await server?.close();
      await off?.close();
    });

    /** A TOTP code two steps past anything used so far: each step is accepted once per device. */
    function nextCode(srv: TestServer, secret: string): string {
      srv.clock.advance(60_000);
      return appCode(secret, srv.clock.now());
    }

    /** A user with an authenticator app, and the signed-in client that assigned it. */
    async function enrolled(srv: TestServer, email: string, role: 'admin' | 'user' = 'user'): Promise<Person & { c: Client }> {
      const user = await createTestUser(srv, email, { role });
      const c = srv.client();
      expect((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'email_code_sent' });
      expect((await c.post('/api/v1/sign-in/email-code', { code: await srv.lastCode(email) })).status).toBe(200);
      const app = await assignApp(srv.clock, c);
      return { id: user.id, email, secret: app.secret, deviceId: app.id, password: STRONG_PASSWORD, c };
    }

    /** Password then second factor in `c` (a browser), ticking "Remember this browser" when asked to. */
    async function fullSignIn(srv: TestServer, c: Client, p: Person, remember?: boolean) {
      const r1 = await c.post<StepBody>('/api/v1/sign-in', { email: p.email, password: p.password });
      expect(r1.status, r1.text).toBe(200);
      expect(r1.body.status).toBe('mfa_required');
      const r2 = await c.post<StepBody>('/api/v1/sign-in/mfa', { method: 'totp', code: nextCode(srv, p.secret), ...(remember === undefined ? {} : { rememberBrowser: remember }) });
      expect(r2.status, r2.text).toBe(200);
      return { password: r1, mfa: r2 };
    }

    /** The password step alone, in `c`. */
    async function passwordStep(c: Client, p: Person, extra: Record<string, unknown> = {}) {
      const r = await c.post<StepBody>('/api/v1/sign-in', { email: p.email, password: p.password, ...extra });
      expect(r.status, r.text).toBe(200);
      return r;
    }

    /** The same browser later: its long-lived cookies, without the session. */
    function sameBrowser(srv: TestServer, c: Client): Client {
      const b = srv.client();
      for (const k of ['mamori_remember', 'mamori_browser']) {
        const v = c.cookies.get(k);
        if (v !== undefined) b.cookies.set(k, v);
      }
      return b;
    }

    /** A signed-in user's browser that ticked the box: its cookies carry the grant. */
    async function rememberedBrowser(p: Person): Promise<Client> {
      const c = server.client();
      const before = server.clock.now();
      const { mfa } = await fullSignIn(server, c, p, true);
      // The clock is wall time plus the tests' offset: the grant was made between these two readings.
      const until = Date.parse(mfa.body.rememberedUntil!);
      expect(until).toBeGreaterThanOrEqual(before + 7 * DAY_MS);
      expect(until).toBeLessThanOrEqual(server.clock.now() + 7 * DAY_MS);
      expect(c.cookies.get('mamori_remember')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      return c;
    }

    const auditOf = (srv: TestServer, userId: string) => srv.services.store.db.selectFrom('audit_events').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    const grantsOf = (userId: string) => server.services.store.db.selectFrom('remembered_browsers').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();

    /** A fresh second factor in `c`'s session (POST /me/step-up). */
    async function stepUp(srv: TestServer, c: Client, p: Person) {
      const r = await c.post('/api/v1/me/step-up', { method: 'totp', code: nextCode(srv, p.secret) });
      expect(r.status, r.text).toBe(200);
    }

    it('is off by default: nothing offered, the tick ignored and said so, no cookie, the code asked again', async () => {
      const p = await enrolled(off, 'off@example.com');
      const c = off.client();
      const { password, mfa } = await fullSignIn(off, c, p, true);
      expect(password.body).not.toHaveProperty('rememberBrowserDays');
      expect(mfa.body.status).toBe('signed_in');
      expect(mfa.body.rememberedUntil).toBeNull();
      expect(mfa.headers.getSetCookie().some((x) => x.startsWith('mamori_remember='))).toBe(false);
      expect(c.cookies.has('mamori_remember')).toBe(false);
      expect((await c.get<Listed>('/api/v1/me/remembered-browsers')).body).toEqual({ rememberBrowserDays: null, browsers: [] });
      expect((await passwordStep(sameBrowser(off, c), p)).body.status).toBe('mfa_required');
      expect(await off.services.store.db.selectFrom('remembered_browsers').selectAll().execute()).toEqual([]);
      // Not asking leaves the answer as it always was.
      const plain = await fullSignIn(off, off.client(), p);
      expect(plain.mfa.body).not.toHaveProperty('rememberedUntil');
    });

    it('refuses a tick that is not a boolean, and unknown fields, with 400', async () => {
      const p = await enrolled(server, 'typed@example.com');
      const c = server.client();
      await passwordStep(c, p);
      for (const body of [
        { method: 'totp', code: nextCode(server, p.secret), rememberBrowser: 'yes' },
        { method: 'totp', code: nextCode(server, p.secret), rememberBrowser: 1 },
        { method: 'totp', code: nextCode(server, p.secret), rememberBrowserDays: 30 },
      ]) {
        const r = await c.post('/api/v1/sign-in/mfa', body);
        expect(r.status, r.text).toBe(400);
      }
      const r = await c.post('/api/v1/sign-in', { email: p.email, password: p.password, fresh: 'now' });
      expect(r.status).toBe(400);
    });

    it('on: a ticked browser skips the code (aal 2, not a fresh second factor); another browser is still asked', async () => {
      const p = await enrolled(server, 'alice@example.com');
      const c = server.client();
      const { password, mfa } = await fullSignIn(server, c, p, true);
      expect(password.body.rememberBrowserDays).toBe(7);
      const cookie = mfa.headers.getSetCookie().find((x) => x.startsWith('mamori_remember='))!;
      expect(cookie).toMatch(/; Max-Age=604800/);
      expect(cookie).toMatch(/; Path=\/api\/v1\/sign-in/);
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; SameSite=Lax/);
      expect(cookie).not.toMatch(/; Secure/); // http public URL here
      const token = c.cookies.get('mamori_remember')!;
      // Only its hash is stored.
      const [grant] = await grantsOf(p.id);
      expect(grant).toMatchObject({ device_id: p.deviceId, revoked_at: null, amr: JSON.stringify(['otp']) });
      expect(JSON.stringify(grant)).not.toContain(token);

      server.clock.advance(3 * DAY_MS);
      const later = sameBrowser(server, c);
      const r = await passwordStep(later, p);
      expect(r.body.status).toBe('signed_in');
      expect(r.body.session).toMatchObject({ aal: 2, acr: 'urn:mamori:aal2', mfaVerifiedAt: null });
      expect(r.body.session!.amr).toEqual(['pwd', 'mfa', 'remembered']);
      expect(later.cookies.get('mamori_session')).toBeDefined();
      expect((await later.get<StepBody['session']>('/api/v1/session')).body).toMatchObject({ aal: 2, acr: 'urn:mamori:aal2', mfaVerifiedAt: null });
      // The grant still holds and says when it was last used.
      expect(later.cookies.get('mamori_remember')).toBe(token);
      const used = (await grantsOf(p.id))[0]!.last_used_at!;
      expect(used).toBeGreaterThan(grant!.created_at + 3 * DAY_MS);
      expect(used).toBeLessThanOrEqual(server.clock.now());

      const events = (await auditOf(server, p.id)).slice(-4).map((e) => ({ type: e.type, detail: JSON.parse(e.detail) as Record<string, unknown> }));
      const succeeded = events.findLast((e) => e.type === 'sign_in_succeeded')!;
      expect(succeeded.detail).toMatchObject({ aal: 2, amr: 'pwd mfa remembered' });
      expect(events.find((e) => e.type === 'remembered_browser_used')!.detail).toEqual({ rememberedBrowser: grant!.id, sessionId: succeeded.detail.sessionId });
      expect(events.some((e) => e.type === 'mfa_verified')).toBe(false);

      // Another browser: the code, as always.
      expect((await passwordStep(server.client(), p)).body.status).toBe('mfa_required');
      // A sign-in that must be fresh (OpenID Connect prompt=login, max_age) asks even here, and keeps the cookie.
      const fresh = sameBrowser(server, c);
      expect((await passwordStep(fresh, p, { fresh: true })).body.status).toBe('mfa_required');
      expect(fresh.cookies.get('mamori_remember')).toBe(token);
      // A wrong password is a wrong password, remembered browser or not.
      const wrong = await sameBrowser(server, c).post('/api/v1/sign-in', { email: p.email, password: 'not the password at all, no' });
      expect(wrong.status).toBe(401);
    });

    it('a different user in the same browser is still asked, and one user\'s cookie never stands in for another', async () => {
      const a = await enrolled(server, 'ann@example.com');
      const b = await enrolled(server, 'ben@example.com');
      const browser = await rememberedBrowser(a);
      const token = browser.cookies.get('mamori_remember')!;

      const asB = sameBrowser(server, browser);
      const r = await passwordStep(asB, b);
      expect(r.body.status).toBe('mfa_required');
      // Ann's grant lives on: the shared browser keeps its cookie.
      expect(asB.cookies.get('mamori_remember')).toBe(token);
      // The cookie replayed from elsewhere for Ben: the same.
      const replay = server.client();
      replay.cookies.set('mamori_remember', token);
      expect((await passwordStep(replay, b)).body.status).toBe('mfa_required');
      expect((await auditOf(server, b.id)).some((e) => e.type === 'remembered_browser_used')).toBe(false);
      // Garbage in the cookie is no grant either.
      const junk = server.client();
      junk.cookies.set('mamori_remember', 'x'.repeat(43));
      expect((await passwordStep(junk, a)).body.status).toBe('mfa_required');
      // And Ann in her browser still skips the code.
      expect((await passwordStep(sameBrowser(server, browser), a)).body.status).toBe('signed_in');
    });

    it('ends after the configured days (the server clock), and the dead cookie is cleared', async () => {
      const p = await enrolled(server, 'expiry@example.com');
      const browser = await rememberedBrowser(p);
      server.clock.advance(7 * DAY_MS - 60_000);
      expect((await passwordStep(sameBrowser(server, browser), p)).body.status).toBe('signed_in');
      server.clock.advance(60_000);
      const late = sameBrowser(server, browser);
      const r = await passwordStep(late, p);
      expect(r.body.status).toBe('mfa_required');
      expect(r.headers.getSetCookie().some((x) => x.startsWith('mamori_remember=;'))).toBe(true);
      expect(late.cookies.has('mamori_remember')).toBe(false);
      // Housekeeping deletes it a week after it ended.
      server.clock.advance(7 * DAY_MS + 1000);
      expect((await purgeExpired(server.services)).rememberedBrowsers).toBeGreaterThanOrEqual(1);
      expect(await grantsOf(p.id)).toEqual([]);
    });

    it('a remembered session still needs a step-up to remove a device or make recovery codes; removing a device ends the grant', async () => {
      const p = await enrolled(server, 'stepup@example.com');
      const tablet = await assignApp(server.clock, p.c, 'Tablet');
      const browser = await rememberedBrowser(p);
      const c = sameBrowser(server, browser);
      expect((await passwordStep(c, p)).body.status).toBe('signed_in');

      const removal = await c.delete(`/api/v1/me/mfa-devices/${tablet.id}`);
      expect(removal.status).toBe(403);
      expect(removal.body).toMatchObject({ code: 'step_up_required' });
      const codes = await c.post('/api/v1/me/recovery-codes');
      expect(codes.status).toBe(403);
      expect(codes.body).toMatchObject({ code: 'step_up_required' });
      const pw = await c.put('/api/v1/me/password', { currentPassword: p.password, newPassword: NEW_PASSWORD });
      expect(pw.status).toBe(403);
      expect(pw.body).toMatchObject({ code: 'step_up_required' });

      await stepUp(server, c, p);
      expect((await c.delete(`/api/v1/me/mfa-devices/${tablet.id}`)).status).toBe(204);
      const removed = (await auditOf(server, p.id)).filter((e) => e.type === 'mfa_device_removed').at(-1)!;
      expect(JSON.parse(removed.detail)).toMatchObject({ deviceId: tablet.id, rememberedBrowsersEnded: 1 });
      // The remembered browser is asked for the code again, and its dead cookie goes.
      const after = sameBrowser(server, browser);
      expect((await passwordStep(after, p)).body.status).toBe('mfa_required');
      expect(after.cookies.has('mamori_remember')).toBe(false);
      expect((await grantsOf(p.id)).every((g) => g.revoked_at !== null)).toBe(true);
    });

    it('ends when the password changes', async () => {
      const p = await enrolled(server, 'password@example.com');
      const browser = await rememberedBrowser(p);
      await stepUp(server, browser, p);
      expect((await browser.put('/api/v1/me/password', { currentPassword: p.password, newPassword: NEW_PASSWORD })).status).toBe(204);
      const changed = (await auditOf(server, p.id)).filter((e) => e.type === 'password_changed').at(-1)!;
      expect(JSON.parse(changed.detail)).toMatchObject({ rememberedBrowsersEnded: 1 });
      const r = await passwordStep(sameBrowser(server, browser), { ...p, password: NEW_PASSWORD });
      expect(r.body.status).toBe('mfa_required');
    });

    it('ends when an administrator removes a device, removes all of them, or forces a password change', async () => {
      const admin = await enrolled(server, 'root@example.com', 'admin');
      const p = await enrolled(server, 'helpdesk-case@example.com');
      const spare = await assignApp(server.clock, p.c, 'Spare');

      // One device, by an administrator.
      let browser = await rememberedBrowser(p);
      expect((await admin.c.delete(`/api/v1/admin/users/${p.id}/mfa-devices/${spare.id}`)).status).toBe(204);
      expect((await passwordStep(sameBrowser(server, browser), p)).body.status).toBe('mfa_required');

      // A forced password change.
      browser = await rememberedBrowser(p);
      expect((await admin.c.post(`/api/v1/admin/users/${p.id}/force-password-change`)).status).toBe(204);
      const forced = (await auditOf(server, p.id)).filter((e) => e.type === 'password_change_forced').at(-1)!;
      expect(JSON.parse(forced.detail)).toMatchObject({ rememberedBrowsersEnded: 1 });
      const afterForce = await passwordStep(sameBrowser(server, browser), p);
      expect(afterForce.body.status).toBe('mfa_required');
      // Set the new password the administrator asked for (the second factor first, then the change).
      const forcedIn = server.client();
      const mfa = await fullSignIn(server, forcedIn, p);
      expect(mfa.mfa.body.status).toBe('password_change_required');
      expect((await forcedIn.put('/api/v1/me/password', { currentPassword: p.password, newPassword: NEW_PASSWORD })).status).toBe(204);
      p.password = NEW_PASSWORD;

      // MFA reset: every device.
      browser = await rememberedBrowser(p);
      expect((await grantsOf(p.id)).filter((g) => g.revoked_at === null)).toHaveLength(1);
      expect((await admin.c.delete(`/api/v1/admin/users/${p.id}/mfa-devices`)).status).toBe(204);
      const reset = (await auditOf(server, p.id)).filter((e) => e.type === 'mfa_devices_deactivated_all').at(-1)!;
      expect(JSON.parse(reset.detail)).toMatchObject({ rememberedBrowsersEnded: 1 });
      expect((await grantsOf(p.id)).filter((g) => g.revoked_at === null)).toEqual([]);
      // With a new device, the old browser is asked for its code.
      const c = sameBrowser(server, browser);
      expect((await passwordStep(c, p)).body.status).toBe('email_code_sent');
      expect((await c.post('/api/v1/sign-in/email-code', { code: await server.lastCode(p.email) })).status).toBe(200);
      const fresh = await assignApp(server.clock, c, 'New phone');
      expect((await passwordStep(sameBrowser(server, browser), { ...p, secret: fresh.secret })).body.status).toBe('mfa_required');
    });

    it('ends when an administrator disables the account: enabling it again does not revive it', async () => {
      const admin = await enrolled(server, 'chief@example.com', 'admin');
      const p = await enrolled(server, 'leaver@example.com');
      const browser = await rememberedBrowser(p);
      expect((await admin.c.patch(`/api/v1/admin/users/${p.id}`, { disabled: true })).status).toBe(200);
      const updated = (await auditOf(server, p.id)).filter((e) => e.type === 'user_updated').at(-1)!;
      expect(JSON.parse(updated.detail)).toMatchObject({ rememberedBrowsersEnded: 1 });
      expect((await admin.c.patch(`/api/v1/admin/users/${p.id}`, { disabled: false })).status).toBe(200);
      expect((await passwordStep(sameBrowser(server, browser), p)).body.status).toBe('mfa_required');
    });

    it('ends when a lost-device recovery deactivates the old devices', async () => {
      const p = await enrolled(server, 'lost@example.com');
      const browser = await rememberedBrowser(p);
      expect((await server.client().post('/api/v1/sign-in/lost-devices', { email: p.email })).status).toBe(202);
      // The mail goes after the answer: wait for it in the development outbox.
      let link: string | undefined;
      for (let i = 0; i < 100 && link === undefined; i++) {
        link = (await server.outbox()).filter((m) => m.to === p.email).map((m) => /#\/recover\?token=([A-Za-z0-9_-]+)/.exec(m.text)?.[1]).findLast((t) => t !== undefined);
        if (link === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(link).toBeDefined();
      expect((await server.client().post('/api/v1/recovery/confirm', { token: link })).status).toBe(200);
      server.clock.advance(DAY_MS + 1000);
      // The recovery comes first: the user said the devices are gone, so the browser does not stand in for them.
      const c = sameBrowser(server, browser);
      expect((await passwordStep(c, p)).body).toMatchObject({ status: 'email_code_sent', recovery: true });
      expect((await c.post<StepBody>('/api/v1/sign-in/email-code', { code: await server.lastCode(p.email) })).body.status).toBe('mfa_setup_required');
      expect((await grantsOf(p.id)).filter((g) => g.revoked_at === null)).toEqual([]);
      const ended = (await auditOf(server, p.id)).find((e) => e.type === 'remembered_browsers_ended')!;
      expect(JSON.parse(ended.detail)).toMatchObject({ reason: 'recovery_completed', ended: 1 });
    });

    it('lists the user\'s remembered browsers, each revocable, and all at once', async () => {
      const p = await enrolled(server, 'lister@example.com');
      const first = await rememberedBrowser(p);
      server.clock.advance(60_000);
      const second = await rememberedBrowser(p);
      const list = await second.get<Listed>('/api/v1/me/remembered-browsers');
      expect(list.status).toBe(200);
      expect(list.body.rememberBrowserDays).toBe(7);
      expect(list.body.browsers).toHaveLength(2);
      expect(list.body.browsers[0]).toMatchObject({ device: { id: p.deviceId, name: 'Phone' }, amr: ['otp'], ip: '127.0.0.1', lastUsedAt: null });
      expect(JSON.stringify(list.body)).not.toContain(first.cookies.get('mamori_remember')!);
      // Newest first: the second browser's grant, then the first's.
      const [newest, oldest] = list.body.browsers;
      expect(Date.parse(newest!.createdAt)).toBeGreaterThan(Date.parse(oldest!.createdAt));

      expect((await second.delete(`/api/v1/me/remembered-browsers/${oldest!.id}`)).status).toBe(204);
      expect((await second.delete(`/api/v1/me/remembered-browsers/${oldest!.id}`)).status).toBe(404);
      expect((await second.delete('/api/v1/me/remembered-browsers/no-such-grant')).status).toBe(404);
      expect((await passwordStep(sameBrowser(server, first), p)).body.status).toBe('mfa_required');
      expect((await passwordStep(sameBrowser(server, second), p)).body.status).toBe('signed_in');
      expect((await second.get<Listed>('/api/v1/me/remembered-browsers')).body.browsers.map((b) => b.id)).toEqual([newest!.id]);

      // Another user cannot end this user's grant.
      const other = await enrolled(server, 'nosy@example.com');
      expect((await other.c.delete(`/api/v1/me/remembered-browsers/${newest!.id}`)).status).toBe(404);
      expect((await passwordStep(sameBrowser(server, second), p)).body.status).toBe('signed_in');

      expect((await second.delete('/api/v1/me/remembered-browsers')).status).toBe(204);
      expect((await second.get<Listed>('/api/v1/me/remembered-browsers')).body.browsers).toEqual([]);
      expect((await passwordStep(sameBrowser(server, second), p)).body.status).toBe('mfa_required');
      const revoked = (await auditOf(server, p.id)).filter((e) => e.type === 'remembered_browser_revoked').map((e) => JSON.parse(e.detail) as Record<string, unknown>);
      expect(revoked).toEqual([
        { rememberedBrowser: oldest!.id, ended: 1 },
        { rememberedBrowser: null, ended: 1 },
      ]);
      // Signed out, nothing is listed or revoked.
      expect((await server.client().get('/api/v1/me/remembered-browsers')).status).toBe(401);
    });

    it('is never offered to an administrator: administration takes any aal-2 session', async () => {
      const admin = await enrolled(server, 'boss@example.com', 'admin');
      const c = server.client();
      const { password, mfa } = await fullSignIn(server, c, admin, true);
      expect(password.body).not.toHaveProperty('rememberBrowserDays');
      expect(mfa.body.rememberedUntil).toBeNull();
      expect(c.cookies.has('mamori_remember')).toBe(false);
      expect(await grantsOf(admin.id)).toEqual([]);
    });

    it('20 concurrent sign-ins with one grant all succeed, with one grant row and one browser row', async () => {
      const p = await enrolled(server, 'crowd@example.com');
      const browser = await rememberedBrowser(p);
      const before = await server.services.store.db.selectFrom('sessions').select('id').where('user_id', '=', p.id).execute();
      // At most five password attempts of one account are tried at once (the rest: 429, Retry-After:
      // 1); each browser tries again as it is told, so all twenty go through, side by side.
      const once = async () => {
        for (;;) {
          const c = sameBrowser(server, browser);
          const r = await c.post<StepBody>('/api/v1/sign-in', { email: p.email, password: p.password });
          if (r.status !== 429) return r;
          expect(r.body).toMatchObject({ code: 'too_many_attempts' });
          await new Promise((done) => setTimeout(done, Number(r.headers.get('retry-after')) * 1000));
        }
      };
      const answers = await Promise.all(Array.from({ length: 20 }, once));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(answers.map((a) => a.body.status)).toEqual(Array(20).fill('signed_in'));
      const sessions = new Set(answers.map((a) => a.headers.getSetCookie().find((x) => x.startsWith('mamori_session='))));
      expect(sessions.size).toBe(20);
      expect(await grantsOf(p.id)).toHaveLength(1);
      const browsers = await server.services.store.db.selectFrom('known_browsers').selectAll().where('user_id', '=', p.id).execute();
      // The browser that assigned the app, and the remembered one.
      expect(browsers).toHaveLength(2);
      const after = await server.services.store.db.selectFrom('sessions').select('id').where('user_id', '=', p.id).execute();
      expect(after.length - before.length).toBe(20);
      expect((await auditOf(server, p.id)).filter((e) => e.type === 'remembered_browser_used')).toHaveLength(20);
    });
  });
}

describe('MAMORI_REMEMBER_BROWSER_DAYS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mamori-remember-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is 0 (off) by default and takes 1 to 30', () => {
    expect(loadConfig({ MAMORI_DATA_DIR: dir }).rememberBrowserDays).toBe(0);
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_REMEMBER_BROWSER_DAYS: '1' }).rememberBrowserDays).toBe(1);
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_REMEMBER_BROWSER_DAYS: '30' }).rememberBrowserDays).toBe(30);
  });

  it('refuses more than 30 days, or anything but a whole number, at start (environment and settings file)', () => {
    for (const bad of ['31', '365', '-1', '7.5', 'week']) {
      expect(() => loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_REMEMBER_BROWSER_DAYS: bad })).toThrow(/MAMORI_REMEMBER_BROWSER_DAYS/);
    }
    const file = path.join(dir, 'mamori.yaml');
    writeFileSync(file, 'rememberBrowserDays: 31\n');
    expect(() => loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_CONFIG: file })).toThrow(/MAMORI_REMEMBER_BROWSER_DAYS: must be between 0 and 30/);
    writeFileSync(file, 'rememberBrowserDays: 14\n');
    expect(loadConfig({ MAMORI_DATA_DIR: dir, MAMORI_CONFIG: file }).rememberBrowserDays).toBe(14);
  });
});
