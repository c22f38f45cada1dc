/**
 * Issue 10, item 2: "I lost my MFA devices" without a helpdesk, over HTTP, with every mail
 * captured by a real SMTP server and the server's clock moved over HTTP (MAMORI_TEST_CLOCK).
 * A mailed link (single use, 1 h) starts a 24-hour cooling-off; only after it do password and an
 * emailed code lead to assigning a new device, with every old one deactivated. Never an instant
 * bypass; cancellable from the mail and from any session; the "ended" mail goes exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpired } from '../../src/flows/housekeeping.js';
import type { Client } from '../helpers/client.js';
import { databases } from '../helpers/db.js';
import { appCode, assignApp } from '../helpers/otp.js';
import { STRONG_PASSWORD, createTestUser, startServer, type TestServer } from '../helpers/server.js';
import { startMailCatcher, type CapturedMail, type MailCatcher } from '../helpers/smtp.js';
import { LOST_DEVICE_LINKS_PER_DAY, LOST_DEVICE_REQUESTS_PER_ADDRESS_PER_HOUR, MFA_TRIES_PER_SIGN_IN } from '../../src/regulation/rules.js';

const HOUR = 3600;
const LINK = /#\/recover\?token=([A-Za-z0-9_-]+)/;
const CANCEL = /#\/recover\/cancel\?token=([A-Za-z0-9_-]+)/;
const isLink = (m: CapturedMail) => m.subject === 'Recover access to your Mamori account';
const isStarted = (m: CapturedMail) => m.subject === 'Account recovery was started for your Mamori account';
const isEnded = (m: CapturedMail) => m.subject === 'The waiting period to recover your Mamori account is over';
const isCancelled = (m: CapturedMail) => m.subject === 'Account recovery for your Mamori account was cancelled';
const isCompleted = (m: CapturedMail) => m.subject === 'The MFA devices of your Mamori account were deactivated';

for (const { name, skip } of databases) {
  describe.skipIf(skip)(`lost MFA devices, the mailed link and its cooling-off (${name})`, () => {
    let server: TestServer;
    let smtp: MailCatcher;
    let env: Record<string, string>;

    beforeAll(async () => {
      smtp = await startMailCatcher();
      env = { MAMORI_SMTP_URL: smtp.url, MAMORI_TEST_CLOCK: 'true' };
      server = await startServer({ database: name, env });
    });
    afterAll(async () => {
      await server?.close();
      await smtp?.close();
    });

    /** Moves the server's clock over HTTP, as a black-box test would. */
    async function advance(seconds: number): Promise<void> {
      const r = await server.client().post('/api/v1/test/clock', { advanceSeconds: seconds });
      expect(r.status).toBe(200);
    }

    /** A user with an authenticator app, signed in (password, emailed code, then the app assigned). */
    async function enrolled(email: string): Promise<{ c: Client; secret: string }> {
      await createTestUser(server, email);
      const c = server.client();
      expect((await c.post('/api/v1/sign-in', { email, password: STRONG_PASSWORD })).body).toMatchObject({ status: 'email_code_sent' });
      expect((await c.post('/api/v1/sign-in/email-code', { code: await smtp.lastCode(email) })).status).toBe(200);
      const app = await assignApp(server.clock, c);
      return { c, secret: app.secret };
    }

    async function requestLink(email: string, count = 1): Promise<string> {
      const r = await server.client().post('/api/v1/sign-in/lost-devices', { email });
      expect(r.status, r.text).toBe(202);
      const mail = await smtp.waitFor(email, isLink, { count });
      return LINK.exec(mail.text)![1]!;
    }

    async function passwordStep(email: string) {
      const c = server.client();
      const r = await c.post<{ status: string; recovery?: boolean }>('/api/v1/sign-in', { email, password: STRONG_PASSWORD });
      expect(r.status, r.text).toBe(200);
      return { c, body: r.body };
    }

    const auditOf = (userId: string) => server.services.store.db.selectFrom('audit_events').selectAll().where('user_id', '=', userId).orderBy('id').execute();

    it('answers every address alike and mails the link only to an account with MFA devices', async () => {
      await enrolled('lost@example.com');
      await createTestUser(server, 'nodevice@example.com');
      const answers = [];
      for (const email of ['lost@example.com', 'nobody@example.com', 'nodevice@example.com']) {
        const r = await server.client().post('/api/v1/sign-in/lost-devices', { email });
        answers.push({ status: r.status, body: r.text, cookies: r.headers.getSetCookie().length });
      }
      expect(answers[0]).toEqual({ status: 202, body: JSON.stringify({ status: 'accepted' }), cookies: 0 });
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
      const mail = await smtp.waitFor('lost@example.com', isLink);
      expect(mail.text).toMatch(LINK);
      expect(mail.text).toContain(`${server.config.publicUrl}/console/#/recover?token=`);
      expect(mail.text).toContain('expires in 60 minutes');
      expect(mail.text).toContain('waiting period of 24 hours');
      await new Promise((r) => setTimeout(r, 300));
      expect(smtp.to('nobody@example.com')).toEqual([]);
      expect(smtp.to('nodevice@example.com')).toEqual([]);

      // The per-account cap (3 a day) holds for unknown addresses too, with the same answer.
      for (const email of ['lost@example.com', 'nobody@example.com']) {
        for (let i = 0; i < 2; i++) expect((await server.client().post('/api/v1/sign-in/lost-devices', { email })).status).toBe(202);
      }
      const capped = await server.client().post('/api/v1/sign-in/lost-devices', { email: 'lost@example.com' });
      const ghost = await server.client().post('/api/v1/sign-in/lost-devices', { email: 'nobody@example.com' });
      expect(capped.status).toBe(429);
      expect(ghost.status).toBe(429);
      // Each address's day began at its own first request, a few milliseconds apart on the wall
      // clock, so the waits may straddle a second boundary; everything else is the same answer.
      const { retryAfter: ghostWait, ...ghostRest } = ghost.body as { retryAfter: number };
      const { retryAfter: cappedWait, ...cappedRest } = capped.body as { retryAfter: number };
      expect(ghostRest).toEqual(cappedRest);
      expect(Math.abs(ghostWait - cappedWait)).toBeLessThanOrEqual(1);
      expect(Number(ghost.headers.get('retry-after'))).toBe(ghostWait);
      expect(Number(capped.headers.get('retry-after'))).toBe(cappedWait);
      // Bad input is a 400, never a 5xx.
      expect((await server.client().post('/api/v1/sign-in/lost-devices', { email: 'x'.repeat(300) })).status).toBe(400);
      expect((await server.client().post('/api/v1/sign-in/lost-devices', { email: 'a@example.com', extra: 1 })).status).toBe(400);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: '<script>' })).status).toBe(400);
      expect((await server.client().post('/api/v1/recovery/cancel', {})).status).toBe(400);
    });

    it('uses a link once, and not after an hour', async () => {
      await enrolled('once@example.com');
      const stale = await requestLink('once@example.com');
      await advance(HOUR + 1);
      const late = await server.client().post('/api/v1/recovery/confirm', { token: stale });
      expect(late.status).toBe(401);
      expect(late.body).toMatchObject({ code: 'invalid_code' });

      const fresh = await requestLink('once@example.com', 2);
      await advance(HOUR - 5);
      const ok = await server.client().post<{ status: string; coolingUntil: string }>('/api/v1/recovery/confirm', { token: fresh });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.status).toBe('cooling_off');
      expect(Date.parse(ok.body.coolingUntil) - server.clock.now()).toBeGreaterThan(24 * HOUR * 1000 - 5000);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: fresh })).status).toBe(401);
      // The first link, long expired, stays dead; and the store keeps only hashes.
      expect((await server.client().post('/api/v1/recovery/confirm', { token: stale })).status).toBe(401);
      const rows = JSON.stringify(await server.services.store.db.selectFrom('recovery_requests').selectAll().execute());
      expect(rows).not.toContain(fresh);
      expect(rows).not.toContain(stale);
    });

    it('cannot be completed before 24 hours; after them password + emailed code deactivate every old device, audited', async () => {
      const email = 'cool@example.com';
      const user = await enrolled(email);
      const token = await requestLink(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token })).status).toBe(200);
      const started = await smtp.waitFor(email, isStarted);
      expect(started.text).toMatch(CANCEL);
      expect(started.text).toContain('Waiting period ends');
      expect(started.text).toMatch(/IP address: 127\.0\.0\.1/);

      // 23:59 into the cooling-off the password still asks for the MFA device: no emailed code.
      await advance(24 * HOUR - 60);
      const early = await passwordStep(email);
      expect(early.body).toMatchObject({ status: 'mfa_required' });
      expect(early.body.recovery).toBeUndefined();
      expect(smtp.to(email).filter(isEnded)).toHaveLength(0);

      await advance(61);
      const late = await passwordStep(email);
      expect(late.body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number), recovery: true, methods: ['totp', 'recovery_code'] });
      // The next sign-in sends the "ended" mail when housekeeping has not yet.
      const ended = await smtp.waitFor(email, isEnded);
      expect(ended.text).toMatch(CANCEL);
      const done = await late.c.post<{ status: string; session: { aal: number; mfaSetupRequired: boolean } }>('/api/v1/sign-in/email-code', { code: await smtp.lastCode(email) });
      expect(done.status, done.text).toBe(200);
      expect(done.body.status).toBe('mfa_setup_required');
      expect(done.body.session).toMatchObject({ aal: 1, mfaSetupRequired: true });
      expect((await late.c.get<{ devices: unknown[] }>('/api/v1/me/mfa-devices')).body.devices).toEqual([]);
      expect((await late.c.get('/api/v1/me/sessions')).status).toBe(403);
      await smtp.waitFor(email, isCompleted);

      // The old session and the old app are gone: the app's code is refused as a device.
      expect((await user.c.get('/api/v1/session')).status).toBe(401);
      const events = await auditOf((await server.services.users.findByEmail(email))!.id);
      const types = events.map((e) => e.type);
      const at = types.lastIndexOf('recovery_completed');
      expect(types[at - 1]).toBe('recovery_device_deactivated');
      expect(types[at + 1]).toBe('sign_in_succeeded');
      expect(events[at - 1]!.actor).toBe('recovery');
      expect(JSON.parse(events[at]!.detail)).toMatchObject({ devicesDeactivated: 1, sessionsEnded: 1 });
      // One transaction appends them: nothing lies between (the chain's lock is held to commit).
      expect(events[at + 1]!.id - events[at - 1]!.id).toBe(2);
      expect((await server.services.audit.verify()).valid).toBe(true);

      // The recovery is spent: a new device is assigned, and the next sign-in asks for it.
      const app = await assignApp(server.clock, late.c, 'New phone');
      expect((await late.c.get('/api/v1/session')).body).toMatchObject({ aal: 2, mfaSetupRequired: false });
      const again = await passwordStep(email);
      expect(again.body).toMatchObject({ status: 'mfa_required' });
      await advance(61);
      expect((await again.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(user.secret, server.clock.now()) })).status).toBe(401);
      expect((await again.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(app.secret, server.clock.now()) })).status).toBe(200);
      expect(smtp.to(email).filter(isEnded)).toHaveLength(1);
    });

    it('after the cooling-off, an owner who still holds a device uses it in that sign-in: the recovery is void, the devices stay, the code is refused', async () => {
      // Whoever reads the mailbox can start and confirm a recovery; the owner signing in later must not lose the devices for it.
      const email = 'stillhas@example.com';
      const user = await enrolled(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email) })).status).toBe(200);
      await advance(24 * HOUR + 60);
      const owner = await passwordStep(email);
      expect(owner.body).toMatchObject({ status: 'email_code_sent', recovery: true, methods: ['totp', 'recovery_code'] });
      const code = await smtp.lastCode(email);
      const signedIn = await owner.c.post<{ status: string; session: { aal: number } }>('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(user.secret, server.clock.now()) });
      expect(signedIn.status, signedIn.text).toBe(200);
      expect(signedIn.body).toMatchObject({ status: 'signed_in', session: { aal: 2 } });
      expect((await owner.c.get('/api/v1/me/recovery')).body).toEqual({ recovery: null });
      expect((await owner.c.get<{ devices: unknown[] }>('/api/v1/me/mfa-devices')).body.devices).toHaveLength(1);
      expect((await smtp.waitFor(email, isCancelled)).text).toContain('signed in with one of your MFA devices');
      // The sign-in is complete: its emailed code no longer completes anything.
      expect((await owner.c.post('/api/v1/sign-in/email-code', { code })).status).toBe(401);
      expect(smtp.to(email).filter(isCompleted)).toHaveLength(0);
      // A sign-in with no recovery behind it still takes no second factor before the password.
      expect((await server.client().post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(user.secret, server.clock.now()) })).status).toBe(401);
    });

    it('100 concurrent wrong codes at a recovery sign-in meet the same budget as at any sign-in, and change nothing', async () => {
      const email = 'guessing@example.com';
      const user = await enrolled(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email) })).status).toBe(200);
      await advance(24 * HOUR + 60);
      const target = await passwordStep(email);
      expect(target.body).toMatchObject({ status: 'email_code_sent', recovery: true });
      const live = new Set([-2, -1, 0, 1, 2].map((k) => appCode(user.secret, server.clock.now(), k)));
      const wrong = Array.from({ length: 130 }, (_, n) => String((100_003 + n * 7_919) % 1_000_000).padStart(6, '0')).filter((c) => !live.has(c)).slice(0, 100);
      const answers = await Promise.all(wrong.map((code) => target.c.post('/api/v1/sign-in/mfa', { method: 'totp', code })));
      expect(answers.every((r) => r.status === 401 || r.status === 429), JSON.stringify(answers.map((r) => r.status))).toBe(true);
      const userId = (await server.services.users.findByEmail(email))!.id;
      const failed = (await auditOf(userId)).filter((e) => e.type === 'mfa_failed');
      expect(failed).toHaveLength(MFA_TRIES_PER_SIGN_IN);
      // The sign-in ran out of tries: neither the right code nor the emailed one completes it; the devices and the recovery stand.
      expect((await target.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(user.secret, server.clock.now()) })).status).toBe(401);
      expect((await target.c.post('/api/v1/sign-in/email-code', { code: await smtp.lastCode(email) })).status).toBe(401);
      expect(await server.services.devices.countActive(userId)).toBe(1);
      expect((await passwordStep(email)).body).toMatchObject({ status: 'email_code_sent', recovery: true });
    });

    it('is cancelled from the mail, once', async () => {
      const email = 'mailcancel@example.com';
      await enrolled(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email) })).status).toBe(200);
      const cancel = CANCEL.exec((await smtp.waitFor(email, isStarted)).text)![1]!;
      expect((await server.client().post('/api/v1/recovery/cancel', { token: cancel })).status).toBe(204);
      expect((await server.client().post('/api/v1/recovery/cancel', { token: cancel })).status).toBe(401);
      const notice = await smtp.waitFor(email, isCancelled);
      expect(notice.text).toContain('Your MFA devices stay as they were');
      await advance(24 * HOUR + 60);
      expect((await passwordStep(email)).body).toMatchObject({ status: 'mfa_required' });
      await purgeExpired(server.services);
      expect(smtp.to(email).filter(isEnded)).toHaveLength(0);
    });

    it('is cancelled from any signed-in session, and voided by a sign-in with the MFA device', async () => {
      const email = 'sessioncancel@example.com';
      const user = await enrolled(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email) })).status).toBe(200);
      const seen = await user.c.get<{ recovery: { status: string; coolingUntil: string } | null }>('/api/v1/me/recovery');
      expect(seen.body.recovery).toMatchObject({ status: 'cooling_off' });
      expect((await user.c.delete('/api/v1/me/recovery')).status).toBe(204);
      expect((await user.c.get('/api/v1/me/recovery')).body).toEqual({ recovery: null });
      await smtp.waitFor(email, isCancelled);
      expect((await server.client().get('/api/v1/me/recovery')).status).toBe(401);

      // Another request, then the owner signs in with the device: the recovery is void.
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email, 2) })).status).toBe(200);
      const owner = await passwordStep(email);
      expect(owner.body).toMatchObject({ status: 'mfa_required' });
      // Past the time steps the activation spent.
      await advance(61);
      expect((await owner.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(user.secret, server.clock.now()) })).status).toBe(200);
      expect((await owner.c.get('/api/v1/me/recovery')).body).toEqual({ recovery: null });
      const voided = await smtp.waitFor(email, isCancelled, { count: 2 });
      expect(voided.text).toContain('signed in with one of your MFA devices');
      await advance(24 * HOUR + 60);
      expect((await passwordStep(email)).body).toMatchObject({ status: 'mfa_required' });
    });

    // Two instances on PostgreSQL; SQLite is one process's database file, so there the runs overlap on one instance.
    it('mails "cooling-off ended" exactly once, with housekeeping runs (and instances) at the same time', async () => {
      const email = 'ended@example.com';
      await enrolled(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email) })).status).toBe(200);
      const second = name === 'postgres' ? await startServer({ shareWith: server, env }) : server;
      try {
        await advance(24 * HOUR + 1);
        const runs = await Promise.all([purgeExpired(server.services), purgeExpired(second.services), purgeExpired(server.services), purgeExpired(second.services)]);
        expect(runs.reduce((n, r) => n + r.recoveryEndedMails, 0)).toBe(1);
        await smtp.waitFor(email, isEnded);
        await purgeExpired(second.services);
        await new Promise((r) => setTimeout(r, 200));
        expect(smtp.to(email).filter(isEnded)).toHaveLength(1);
        // The sign-in that follows does not send it again.
        expect((await passwordStep(email)).body).toEqual({ status: 'email_code_sent', expiresAt: expect.any(String), expiresIn: expect.any(Number), recovery: true, methods: ['totp', 'recovery_code'] });
        expect(smtp.to(email).filter(isEnded)).toHaveLength(1);
      } finally {
        if (second !== server) await second.close();
      }
    });

    it('never deactivates a device assigned after the request: the recovery is stale', async () => {
      const email = 'stale@example.com';
      const user = await enrolled(email);
      expect((await server.client().post('/api/v1/recovery/confirm', { token: await requestLink(email) })).status).toBe(200);
      await advance(61);
      const second = await assignApp(server.clock, user.c, 'Second phone');
      await advance(24 * HOUR + 60);
      const step = await passwordStep(email);
      expect(step.body).toMatchObject({ status: 'mfa_required' });
      await advance(61);
      expect((await step.c.post('/api/v1/sign-in/mfa', { method: 'totp', code: appCode(second.secret, server.clock.now()) })).status).toBe(200);
      expect((await step.c.get<{ devices: unknown[] }>('/api/v1/me/mfa-devices')).body.devices).toHaveLength(2);
      const events = (await auditOf((await server.services.users.findByEmail(email))!.id)).filter((e) => e.type === 'recovery_cancelled');
      expect(events.map((e) => JSON.parse(e.detail).by)).toEqual(['device_assigned']);
    });

    it('lets one of many concurrent confirmations of a link through', async () => {
      const email = 'race@example.com';
      await enrolled(email);
      const token = await requestLink(email);
      const answers = await Promise.all(Array.from({ length: 6 }, () => server.client().post('/api/v1/recovery/confirm', { token })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
      await smtp.waitFor(email, isStarted);
      await new Promise((r) => setTimeout(r, 200));
      expect(smtp.to(email).filter(isStarted)).toHaveLength(1);
      const rows = await server.services.store.db.selectFrom('recovery_requests').selectAll().where('user_id', '=', (await server.services.users.findByEmail(email))!.id).execute();
      expect(rows.filter((r) => r.confirmed_at !== null)).toHaveLength(1);
    });

    it('100 concurrent link requests (from many addresses, and from one; on PostgreSQL over two instances) mail exactly the daily number of links', async () => {
      const email = 'burst-lost@example.com';
      await enrolled(email);
      const second = name === 'postgres' ? await startServer({ shareWith: server, env }) : undefined;
      try {
        const targets = second ? [server, second] : [server];
        // Many addresses (loopback is a trusted proxy by default): only the account's daily budget binds.
        const spread = await Promise.all(
          Array.from({ length: 100 }, (_, i) => targets[i % targets.length]!.client().post('/api/v1/sign-in/lost-devices', { email }, { 'x-forwarded-for': `198.51.100.${i + 1}` })),
        );
        const accepted = spread.filter((r) => r.status === 202).length;
        const refused = spread.filter((r) => r.status === 429).length;
        expect(accepted + refused, 'every answer 202 or 429').toBe(100);
        expect(spread.every((r) => r.status !== 429 || r.headers.get('retry-after') !== null)).toBe(true);
        await smtp.waitFor(email, isLink, { count: LOST_DEVICE_LINKS_PER_DAY });
        await new Promise((r) => setTimeout(r, 500));
        expect(smtp.to(email).filter(isLink)).toHaveLength(LOST_DEVICE_LINKS_PER_DAY);
        const rows = await server.services.store.db.selectFrom('recovery_requests').select('id').where('user_id', '=', (await server.services.users.findByEmail(email))!.id).execute();
        expect(rows).toHaveLength(LOST_DEVICE_LINKS_PER_DAY);

        // One address, other emails: the per-address hourly budget binds.
        const one = await Promise.all(
          Array.from({ length: 100 }, (_, i) => targets[i % targets.length]!.client().post('/api/v1/sign-in/lost-devices', { email: `nobody-${i}@example.com` }, { 'x-forwarded-for': '203.0.113.9' })),
        );
        expect(one.filter((r) => r.status === 202)).toHaveLength(LOST_DEVICE_REQUESTS_PER_ADDRESS_PER_HOUR);
        expect(one.filter((r) => r.status === 429)).toHaveLength(100 - LOST_DEVICE_REQUESTS_PER_ADDRESS_PER_HOUR);
        console.log(`[lost-devices ${name}] 100 concurrent requests for one account: ${accepted} × 202, ${refused} × 429, ${LOST_DEVICE_LINKS_PER_DAY} links mailed; from one address: ${LOST_DEVICE_REQUESTS_PER_ADDRESS_PER_HOUR} × 202`);
      } finally {
        await second?.close();
      }
    });
  });
}
