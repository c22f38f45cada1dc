/**
 * The forward-auth recipes of docs/forward-auth.md, run as written: real nginx (auth_request)
 * with Chromium signing in through the console, and Debian's Caddy (forward_auth) with plain
 * requests, both in front of a small upstream that records the headers it got. The test reads
 * the blocks out of the doc and fills in host names, ports and certificate paths only, so the
 * doc is what is tested.
 *
 * Host names: *.mamori.test, mapped to 127.0.0.1 in Chromium (--host-resolver-rules) and sent
 * as Host/SNI by the plain requests. The session cookie is set for mamori.test, so one sign-in at
 * id.mamori.test covers app.mamori.test. Over https the test uses a throwaway self-signed
 * certificate (Chromium ignores its errors); TOTP is the second factor (a virtual WebAuthn
 * authenticator is possible too, but TOTP shows the same return path).
 *
 * Skipped with a message when nginx, openssl, Chromium or Caddy is missing (`.ci/run` installs them).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, browserSkipReason, createCredential, launchChromium } from '../helpers/browser.js';
import type { Client } from '../helpers/client.js';
import { button, dict, heading, passwordStep, type Tab } from '../helpers/console.js';
import { assignApp, appCode } from '../helpers/otp.js';
import { createTestUser, signIn, startServer, type TestServer } from '../helpers/server.js';

const NGINX = '/usr/sbin/nginx';
const CADDY = '/usr/bin/caddy';
const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const nginxSkip = !existsSync(NGINX) ? `${NGINX} is not installed (apt-get install -y nginx-light)` : !has('openssl') ? 'openssl is not installed (apt-get install -y openssl)' : browserSkipReason;
const caddySkip = existsSync(CADDY) ? null : `${CADDY} is not installed (apt-get install -y caddy)`;
if (nginxSkip) process.stderr.write(`[nginx-forward-auth] nginx recipe skipped: ${nginxSkip}\n`);
if (caddySkip) process.stderr.write(`[nginx-forward-auth] Caddy recipe skipped: ${caddySkip}\n`);

const DOC = readFileSync(path.resolve(import.meta.dirname, '../../docs/forward-auth.md'), 'utf8');

/** The fenced block that follows `<!-- recipe: name -->` in the doc. */
function recipe(name: string): string {
  const m = new RegExp(`<!-- recipe: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(DOC);
  if (!m) throw new Error(`docs/forward-auth.md has no "${name}" recipe`);
  return m[1]!;
}

/** The doc's host names and upstream addresses, made this test's. */
function fill(text: string, ports: { mamori: number; upstream: number }): string {
  return text.replaceAll('example.com', 'mamori.test').replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.mamori}`).replaceAll('127.0.0.1:3000', `127.0.0.1:${ports.upstream}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened: ${log()}`);
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

/** What the application behind the proxy received. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The application: a page that says which request it got, and a log of every request. */
async function startUpstream(): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>app</title><h1>app ${req.method} ${(req.url ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;')}</h1>`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, received };
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request as a client would write it, to the proxy on 127.0.0.1 with the Host (and SNI) given. */
function raw(tls: boolean, port: number, host: string, p: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      method: opts.method ?? 'GET',
      path: p,
      headers: { host: `${host}:${port}`, ...opts.headers },
      ...(tls ? { servername: host, rejectUnauthorized: false } : {}),
    };
    const req = (tls ? httpsRequest : httpRequest)(options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end(opts.body);
  });
}

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const SPOOF = {
  'remote-user': 'spoofed-user',
  remote_user: 'spoofed-underscore',
  'remote-email': 'root@example.com',
  'remote-groups': 'admin',
  'remote-aal': '2',
  'mamori-identity': 'forged.token.value',
};

function rulesFile(dir: string): string {
  const file = path.join(dir, 'mamori.yaml');
  writeFileSync(file, fill(recipe('rules'), { mamori: 0, upstream: 0 }));
  return file;
}

/** The session cookie of a client signed in straight at Mamori: valid for every host under mamori.test. */
const cookieOf = (c: Client) => `mamori_session=${c.cookies.get('mamori_session')}`;

async function verifyIdentity(server: TestServer, token: string | string[] | undefined, audience: string) {
  expect(typeof token).toBe('string');
  // The keys as an application fetches them: the published OpenID Connect JWKS.
  const res = await fetch(`${server.url}/oidc/jwks`);
  expect(res.status).toBe(200);
  const jwks = createLocalJWKSet((await res.json()) as JSONWebKeySet);
  const { payload } = await jwtVerify(token as string, jwks, { issuer: server.config.publicUrl, audience, algorithms: ['ES256'], currentDate: new Date(server.clock.now()) });
  return payload;
}

describe.skipIf(nginxSkip !== null)('the nginx auth_request recipe, with Chromium', () => {
  let dir: string;
  let port: number;
  let nginx: ChildProcess | undefined;
  let nginxLog = '';
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let server: TestServer;
  let browser: Browser;
  let app: string;
  let id: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mamori-nginx-'));
    port = await freePort();
    app = `https://app.mamori.test:${port}`;
    id = `https://id.mamori.test:${port}`;
    upstream = await startUpstream();
    server = await startServer({ env: { MAMORI_PUBLIC_URL: id, MAMORI_COOKIE_DOMAIN: 'mamori.test', MAMORI_CONFIG: rulesFile(dir) } });
    const mamoriPort = Number(new URL(server.url).port);

    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=mamori.test', '-addext', 'subjectAltName=DNS:*.mamori.test,DNS:mamori.test', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, 'tmp', sub), { recursive: true });
    const site = fill(recipe('nginx'), { mamori: mamoriPort, upstream: upstream.port })
      .replaceAll('listen 443 ssl', `listen 127.0.0.1:${port} ssl`)
      .replaceAll('/etc/ssl/mamori.test/fullchain.pem', path.join(dir, 'cert.pem'))
      .replaceAll('/etc/ssl/mamori.test/privkey.pem', path.join(dir, 'key.pem'));
    const t = (sub: string) => path.join(dir, 'tmp', sub);
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'master_process on;',
        'worker_processes 1;',
        `pid ${path.join(dir, 'nginx.pid')};`,
        `error_log ${path.join(dir, 'error.log')} warn;`,
        'events { worker_connections 128; }',
        'http {',
        `  access_log ${path.join(dir, 'access.log')};`,
        `  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fastcgi')}; uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};`,
        site,
        '}',
      ].join('\n'),
    );
    const args = ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')];
    execFileSync(NGINX, [...args, '-t'], { stdio: 'pipe' });
    nginx = spawn(NGINX, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr?.setEncoding('utf8').on('data', (d: string) => (nginxLog += d));
    await waitForPort(port, nginx, () => nginxLog + (existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : ''));

    await createTestUser(server, 'alice@example.com');
    await createTestUser(server, 'bob@example.com');
    await createTestUser(server, 'carol@example.com');
    await createTestUser(server, 'dave@example.com');
    // Chromium trusts the throwaway certificate by its key (WebAuthn refuses pages with certificate errors).
    const spki = execFileSync('sh', ['-c', `openssl x509 -pubkey -noout -in '${path.join(dir, 'cert.pem')}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]).toString().trim();
    browser = await launchChromium(['--host-resolver-rules=MAP *.mamori.test 127.0.0.1', `--ignore-certificate-errors-spki-list=${spki}`]);
  });
  afterAll(async () => {
    await browser?.close();
    await stop(nginx);
    await new Promise((r) => upstream?.server.close(r));
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function tab(): Promise<Tab> {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    return { context, page, problems, t: dict.en };
  }

  async function emailCodeStep(tb: Tab, email: string) {
    await heading(tb, 'signIn.emailCodeTitle').waitFor();
    await tb.page.getByLabel(tb.t['signIn.emailCode']!).fill(await server.lastCode(email));
    await button(tb, 'common.verify').click();
  }

  const last = () => upstream.received.at(-1)!;

  it('no session: the browser is sent to sign in and, signed in, comes back to the page it asked for; the app gets Remote-User and a valid Mamori-Identity', async () => {
    const tb = await tab();
    try {
      const asked = `${app}/hello?x=1&y=a%2Fb`;
      await tb.page.goto(asked);
      await heading(tb, 'signIn.title').waitFor();
      expect(tb.page.url()).toBe(`${id}/console/#/sign-in?rd=${encodeURIComponent(asked)}`);
      expect(upstream.received).toHaveLength(0);
      await passwordStep(tb, 'alice@example.com');
      await emailCodeStep(tb, 'alice@example.com');
      await tb.page.waitForURL(asked);
      await tb.page.getByRole('heading', { name: 'app GET /hello?x=1&y=a%2Fb' }).waitFor();
      const alice = (await server.services.users.findByEmail('alice@example.com'))!;
      expect(last().headers).toMatchObject({ 'remote-user': alice.id, 'remote-email': 'alice@example.com', 'remote-groups': 'user', 'remote-aal': '1' });
      const claims = await verifyIdentity(server, last().headers['mamori-identity'], 'app.mamori.test');
      expect(claims).toMatchObject({ sub: alice.id, email: 'alice@example.com', aal: 1, acr: 'urn:mamori:aal1' });
      // Signed in, the two_factor path asks for more: the console offers a step-up (alice has no device).
      await tb.page.goto(`${app}/admin/`);
      await tb.page.getByRole('dialog').getByText(tb.t['stepUp.noDevice']!).waitFor();
      expect(tb.problems).toEqual([]);
    } finally {
      await tb.context.close();
    }
  });

  it('a two_factor path: password and TOTP at sign-in, then straight back with Remote-AAL 2', async () => {
    const direct = await signIn(server, 'bob@example.com');
    const { secret } = await assignApp(server.clock, direct);
    server.clock.advance(90_000); // past the codes the assignment used
    const tb = await tab();
    try {
      await tb.page.goto(`${app}/admin/panel`);
      await passwordStep(tb, 'bob@example.com');
      await heading(tb, 'signIn.mfaTitle').waitFor();
      const code = tb.page.getByLabel(tb.t['mfa.code']!, { exact: true });
      await code.fill(appCode(secret, server.clock.now()));
      await code.press('Enter');
      await tb.page.waitForURL(`${app}/admin/panel`);
      await tb.page.getByRole('heading', { name: 'app GET /admin/panel' }).waitFor();
      expect(last().headers).toMatchObject({ 'remote-email': 'bob@example.com', 'remote-aal': '2' });
      expect(await verifyIdentity(server, last().headers['mamori-identity'], 'app.mamori.test')).toMatchObject({ aal: 2, acr: 'urn:mamori:aal2', amr: expect.arrayContaining(['otp']) });
      expect(tb.problems).toEqual([]);
    } finally {
      await tb.context.close();
    }
  });

  it('phishing_resistant: signed in with TOTP, the console asks for the security key only (aal=phr) and returns', async () => {
    const erin = await createTestUser(server, 'erin@example.com');
    await server.services.groups.set(erin.id, ['ops'], server.clock.now());
    const tb = await tab();
    try {
      const cdp = await tb.context.newCDPSession(tb.page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: false, hasUserVerification: false, automaticPresenceSimulation: true },
      });
      // Signed in at the app (aal 1), then a security key and an authenticator app, in the console.
      await tb.page.goto(`${app}/notes`);
      await passwordStep(tb, 'erin@example.com');
      await emailCodeStep(tb, 'erin@example.com');
      await tb.page.waitForURL(`${app}/notes`);
      await tb.page.goto(`${id}/console/#/security`);
      await heading(tb, 'security.title').waitFor();
      const options = await api(tb.page, 'POST', '/api/v1/me/mfa-devices/webauthn-options', {});
      expect(options.status).toBe(200);
      expect((await api(tb.page, 'POST', '/api/v1/me/mfa-devices/webauthn', { name: 'Key', credential: await createCredential(tb.page, options.body) })).status).toBe(201);
      server.clock.advance(60_000);
      const totp = await api(tb.page, 'POST', '/api/v1/me/mfa-devices/totp', { name: 'Phone' });
      const secret = String(totp.body.secret);
      const now = server.clock.now();
      expect((await api(tb.page, 'POST', `/api/v1/me/mfa-devices/${String(totp.body.id)}/activate`, { code1: appCode(secret, now), code2: appCode(secret, now, 1) })).status).toBe(200);
      // A new sign-in with password and TOTP: aal 2, not phishing-resistant.
      await button(tb, 'nav.signOut').first().click();
      await heading(tb, 'signIn.title').waitFor();
      server.clock.advance(90_000);
      await passwordStep(tb, 'erin@example.com');
      await heading(tb, 'signIn.mfaTitle').waitFor();
      const code = tb.page.getByLabel(tb.t['mfa.code']!, { exact: true });
      await code.fill(appCode(secret, server.clock.now()));
      await code.press('Enter');
      await heading(tb, 'security.title').waitFor();
      // The deploy path wants a passkey or security key: the console asks for it, and only for it.
      await tb.page.goto(`${app}/deploy/now`);
      const dialog = tb.page.getByRole('dialog');
      await dialog.getByText(`app.mamori.test:${port} needs a passkey or security key`, { exact: false }).waitFor();
      expect(new URL(tb.page.url()).origin).toBe(id);
      expect(await dialog.getByLabel(tb.t['mfa.code']!, { exact: true }).count()).toBe(0);
      await dialog.getByRole('button', { name: tb.t['mfa.usePasskey']!, exact: true }).click();
      await tb.page.waitForURL(`${app}/deploy/now`);
      expect(last().headers).toMatchObject({ 'remote-email': 'erin@example.com', 'remote-aal': '2', 'remote-groups': 'user,ops' });
      expect(await verifyIdentity(server, last().headers['mamori-identity'], 'app.mamori.test')).toMatchObject({ acr: 'urn:mamori:phr', amr: expect.arrayContaining(['hwk']) });
      expect(tb.problems).toEqual([]);
    } finally {
      await tb.context.close();
    }
  });

  it('an rd to a foreign host is not followed: the console stays at home after sign-in', async () => {
    const tb = await tab();
    try {
      await tb.page.goto(`${id}/console/#/sign-in?rd=${encodeURIComponent('https://evil.example/steal')}`);
      await passwordStep(tb, 'dave@example.com');
      await emailCodeStep(tb, 'dave@example.com');
      await heading(tb, 'security.title').waitFor();
      expect(new URL(tb.page.url()).origin).toBe(id);
      expect(tb.problems).toEqual([]);
    } finally {
      await tb.context.close();
    }
  });

  it('a client-sent Remote-User (or any identity header) never reaches the application', async () => {
    upstream.received.length = 0;
    // A bypass path: Mamori answers with empty headers, nginx drops the client's.
    let r = await raw(true, port, 'app.mamori.test', '/public/x', { headers: SPOOF });
    expect(r.status).toBe(200);
    for (const name of ['remote-user', 'remote_user', 'remote-email', 'remote-groups', 'remote-aal', 'mamori-identity']) expect(last().headers[name], name).toBeUndefined();
    // Signed in: the application sees Mamori's values only.
    const alice = await signIn(server, 'alice@example.com');
    r = await raw(true, port, 'app.mamori.test', '/hello', { headers: { ...SPOOF, cookie: cookieOf(alice) } });
    expect(r.status).toBe(200);
    const aliceId = (await server.services.users.findByEmail('alice@example.com'))!.id;
    expect(last().headers).toMatchObject({ 'remote-user': aliceId, 'remote-email': 'alice@example.com', 'remote-groups': 'user', 'remote-aal': '1' });
    expect(last().headers.remote_user).toBeUndefined();
    expect(last().headers['mamori-identity']).not.toBe(SPOOF['mamori-identity']);
    // A POST passes with its body; the check itself went as GET without it.
    r = await raw(true, port, 'app.mamori.test', '/items', { method: 'POST', headers: { cookie: cookieOf(alice), 'content-type': 'text/plain' }, body: 'hello' });
    expect(r.status).toBe(200);
    expect(last()).toMatchObject({ method: 'POST', body: 'hello' });
  });

  it('malformed or misdirected requests get no 2xx, and client-sent X-Original-*/X-Forwarded-* change nothing', async () => {
    upstream.received.length = 0;
    for (const p of ['/public/..%2Fhello', '/public%2F..%2Fhello', '/public/%2e%2e%5chello', '/public/x%00', '/public/%0a']) {
      const r = await raw(true, port, 'app.mamori.test', p, { headers: HTML });
      expect(r.status, p).toBeGreaterThanOrEqual(300);
    }
    // A client's own description of "the request" is overwritten (X-Original-*) or dropped (X-Forwarded-*).
    const r = await raw(true, port, 'app.mamori.test', '/hello', {
      headers: { ...HTML, 'x-original-url': `https://app.mamori.test:${port}/public/`, 'x-original-method': 'GET', 'x-forwarded-uri': '/public/', 'x-forwarded-host': `app.mamori.test:${port}`, 'x-forwarded-proto': 'https', 'x-forwarded-method': 'GET' },
    });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`${id}/console/#/sign-in?rd=${encodeURIComponent(`${app}/hello`)}`);
    // A host nginx does not serve lands in the default server: refused, never checked against another host's rules.
    expect((await raw(true, port, 'app.mamori.test', '/public/', { headers: { host: 'public.mamori.test' } })).status).toBe(421);
    expect(upstream.received).toHaveLength(0);
  });
});

describe.skipIf(caddySkip !== null)('the Caddy forward_auth recipe (Debian’s Caddy)', () => {
  let dir: string;
  let port: number;
  let caddy: ChildProcess | undefined;
  let caddyLog = '';
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let server: TestServer;
  let app: string;
  let id: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mamori-caddy-'));
    port = await freePort();
    app = `http://app.mamori.test:${port}`;
    id = `http://id.mamori.test:${port}`;
    upstream = await startUpstream();
    server = await startServer({ env: { MAMORI_PUBLIC_URL: id, MAMORI_COOKIE_DOMAIN: 'mamori.test', MAMORI_CONFIG: rulesFile(dir) } });
    const site = fill(recipe('caddy'), { mamori: Number(new URL(server.url).port), upstream: upstream.port })
      .replace(/^id\.mamori\.test \{/m, `http://id.mamori.test:${port} {`)
      .replace(/^app\.mamori\.test \{/m, `http://app.mamori.test:${port} {`);
    // Plain http on a loopback port, no admin endpoint, nothing kept outside the test's folder.
    writeFileSync(path.join(dir, 'Caddyfile'), `{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n${site}\n`);
    caddy = spawn(CADDY, ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    caddy.stdout?.setEncoding('utf8').on('data', (d: string) => (caddyLog += d));
    caddy.stderr?.setEncoding('utf8').on('data', (d: string) => (caddyLog += d));
    await waitForPort(port, caddy, () => caddyLog);
    await createTestUser(server, 'alice@example.com');
    await createTestUser(server, 'bob@example.com');
  });
  afterAll(async () => {
    await stop(caddy);
    await new Promise((r) => upstream?.server.close(r));
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const last = () => upstream.received.at(-1)!;

  it('not signed in: 302 (303 for POST) to sign in for a browser, 401 for an API client; nothing reaches the app', async () => {
    let r = await raw(false, port, 'app.mamori.test', '/hello?x=1', { headers: HTML });
    expect(r.status, r.body).toBe(302);
    expect(r.headers.location).toBe(`${id}/console/#/sign-in?rd=${encodeURIComponent(`${app}/hello?x=1`)}`);
    r = await raw(false, port, 'app.mamori.test', '/hello', { method: 'POST', headers: HTML, body: 'x' });
    expect(r.status).toBe(303);
    r = await raw(false, port, 'app.mamori.test', '/hello', { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
    expect(upstream.received).toHaveLength(0);
  });

  it('signed in: the app gets Mamori’s identity headers and token, never the client’s', async () => {
    const alice = await signIn(server, 'alice@example.com');
    const aliceId = (await server.services.users.findByEmail('alice@example.com'))!.id;
    let r = await raw(false, port, 'app.mamori.test', '/hello', { headers: { ...SPOOF, cookie: cookieOf(alice) } });
    expect(r.status).toBe(200);
    expect(last().headers).toMatchObject({ 'remote-user': aliceId, 'remote-email': 'alice@example.com', 'remote-groups': 'user', 'remote-aal': '1' });
    expect(last().headers.remote_user).toBeUndefined();
    expect(await verifyIdentity(server, last().headers['mamori-identity'], 'app.mamori.test')).toMatchObject({ sub: aliceId });
    // A bypass path: Mamori's headers are empty, and the client's are gone all the same (GHSA-7r4p-vjf4-gxv4).
    r = await raw(false, port, 'app.mamori.test', '/public/', { headers: SPOOF });
    expect(r.status).toBe(200);
    // Caddy copies Mamori's empty values as empty headers: the client's are gone either way.
    for (const name of Object.keys(SPOOF)) expect(last().headers[name] ?? '', name).toBe('');
    expect(last().headers.remote_user).toBeUndefined();
    // The two_factor path at aal 1: to the console to step up.
    r = await raw(false, port, 'app.mamori.test', '/admin/', { headers: { ...HTML, cookie: cookieOf(alice) } });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe(`${id}/console/#/sign-in?rd=${encodeURIComponent(`${app}/admin/`)}&aal=2`);
  });

  it('a two_factor path passes at aal 2', async () => {
    const bob = await signIn(server, 'bob@example.com');
    await assignApp(server.clock, bob);
    const r = await raw(false, port, 'app.mamori.test', '/admin/', { headers: { cookie: cookieOf(bob) } });
    expect(r.status).toBe(200);
    expect(last().headers['remote-aal']).toBe('2');
  });

  it('malformed requests and client-sent X-Original-URL get no 2xx', async () => {
    upstream.received.length = 0;
    for (const p of ['/public/..%2Fhello', '/public%2F..%2Fadmin', '/public/x%00']) {
      const r = await raw(false, port, 'app.mamori.test', p, { headers: HTML });
      expect(r.status, p).toBeGreaterThanOrEqual(300);
    }
    const r = await raw(false, port, 'app.mamori.test', '/hello', { headers: { ...HTML, 'x-original-url': `${app}/public/`, 'x-original-method': 'GET' } });
    expect(r.status).toBe(403);
    expect(upstream.received).toHaveLength(0);
  });
});
