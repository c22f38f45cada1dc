import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { ensureSecretFile, type Config } from './config.js';
import { SecretBox } from './crypto/secret-box.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import { createMethods, type Methods } from './methods/index.js';
import type { FactorModule } from './methods/types.js';
import { RecoveryCodeRepository } from './store/recovery-codes.js';
import { PasswordHasher } from './methods/password/hasher.js';
import { AuditLog } from './store/audit.js';
import { migrate, openStore, type Store } from './store/db.js';
import { SessionRepository } from './store/sessions.js';
import { EmailCodeRepository, SignInRepository } from './store/sign-in.js';
import { AttemptRepository } from './store/attempts.js';
import { HardwareTokenRepository } from './store/hardware-tokens.js';
import { Regulator } from './regulation/index.js';
import { UserRepository } from './store/users.js';
import { DeviceRepository } from './store/devices.js';
import { InvitationRepository } from './store/invitations.js';
import { ChallengeRepository } from './store/challenges.js';
import { DeviceReportRepository } from './store/device-reports.js';
import { SealedSecretRepository } from './store/sealed-secrets.js';
import { RecoveryRequestRepository } from './store/recovery-requests.js';
import { KnownBrowserRepository } from './store/known-browsers.js';
import { RememberedBrowserRepository } from './store/remembered-browsers.js';
import type { Transaction } from 'kysely';
import type { Database, MfaDevice } from './store/schema.js';
import { Metrics } from './metrics.js';
import { GroupRepository } from './store/groups.js';
import { OidcClientRepository } from './store/oidc-clients.js';
import { OidcPayloadRepository } from './store/oidc-payloads.js';
import { SharedSecrets } from './store/sealed-settings.js';
import { SigningKeyRepository } from './store/signing-keys.js';
import { SigningKeyRing } from './flows/signing-keys.js';
import { AdminApprovalRepository } from './store/approvals.js';

/** Everything a flow may use, built once per process and closed in reverse order. */
export interface Services {
  config: Config;
  clock: Clock;
  log: Logger;
  store: Store;
  box: SecretBox;
  mailer: Mailer;
  audit: AuditLog;
  hasher: PasswordHasher;
  users: UserRepository;
  sessions: SessionRepository;
  signIns: SignInRepository;
  emailCodes: EmailCodeRepository;
  /** All attempt accounting (src/regulation). */
  regulator: Regulator;
  hardwareTokens: HardwareTokenRepository;
  methods: Methods;
  devices: DeviceRepository;
  invitations: InvitationRepository;
  /** WebAuthn challenges, for housekeeping (the WebAuthn factor holds its own). */
  challenges: ChallengeRepository;
  /** Everyone's devices at once, for the administrators' views. */
  deviceReports: DeviceReportRepository;
  sealedSecrets: SealedSecretRepository;
  /** "I lost my MFA devices" requests and their cooling-off (src/flows/lost-devices.ts). */
  recoveryRequests: RecoveryRequestRepository;
  /** Browsers each user signed in from (src/flows/known-browsers.ts). */
  knownBrowsers: KnownBrowserRepository;
  /** "Remember this browser" grants that stand in for the second factor (src/flows/remembered-browsers.ts). */
  rememberedBrowsers: RememberedBrowserRepository;
  metrics: Metrics;
  groups: GroupRepository;
  /** The keys that sign ID tokens and forward-auth identity tokens (shared by every instance through the store). */
  signingKeys: SigningKeyRing;
  oidcClients: OidcClientRepository;
  /** What the OpenID Connect library stores (src/oidc/adapter.ts). */
  oidcPayloads: OidcPayloadRepository;
  /** Random secrets every instance shares, sealed in the store. */
  sharedSecrets: SharedSecrets;
  /** Administrators' acts waiting for a second administrator (MAMORI_ADMIN_APPROVALS=2, src/flows/approvals.ts). */
  approvals: AdminApprovalRepository;
  close(): Promise<void>;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    // Defence in depth: none of these should ever reach a log line, and if one does it is masked.
    redact: {
      paths: [
        'password',
        '*.password',
        'newPassword',
        'currentPassword',
        'code',
        '*.code',
        'secret',
        '*.secret',
        'setupToken',
        'req.headers.cookie',
        'req.headers.authorization',
        'res.headers["set-cookie"]',
      ],
      censor: '[redacted]',
    },
  });
}

export async function createServices(
  config: Config,
  opts: { clock?: Clock; log?: Logger; migrate?: boolean; mailer?: Mailer; factors?: readonly FactorModule[]; hasher?: PasswordHasher } = {},
): Promise<Services> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config);
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (opts.migrate !== false) await migrate(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  const box = new SecretBox(config.masterKeys);
  const mailer =
    opts.mailer ??
    createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir, publicUrl: config.publicUrl, productName: config.issuer, logger: log });
  const audit = await AuditLog.open(store, box, () => clock.now(), `${hostname()}:${process.pid}`);
  const users = new UserRepository(store);
  const emailCodes = new EmailCodeRepository(store);
  const hasher = opts.hasher ?? new PasswordHasher();
  const metrics = new Metrics();
  const devices = new DeviceRepository(store);
  const challenges = new ChallengeRepository(store);
  const hardwareTokens = new HardwareTokenRepository(store);
  const signingKeys = new SigningKeyRing(new SigningKeyRepository(store), box, clock);
  await signingKeys.open();
  const relyingParty = () => ({ id: new URL(config.publicUrl).hostname, origin: config.publicUrl, name: config.issuer });
  // A signature counter that went backwards means a copied key: refuse, record, tell the owner.
  const onCloneSuspected = async (device: MfaDevice, stored: number, presented: number, trx?: Transaction<Database>) => {
    await audit.append({ type: 'webauthn_counter_regression', userId: device.user_id, detail: { deviceId: device.id, name: device.name, stored, presented } }, trx);
    const owner = await (trx ? users.within(trx) : users).findById(device.user_id);
    if (!owner) return;
    const mailed = mailer.send(owner.email, { kind: 'security_key_clone_suspected', deviceName: device.name, at: clock.now() }, owner.locale).catch((err: unknown) => {
      log.error({ err: { code: (err as { code?: string }).code }, userId: owner.id }, 'notification not delivered');
    });
    // Inside a step's transaction the mail is not waited for: a mail server's round trip would
    // hold the transaction (and on SQLite every other request) open. It is best effort either way.
    if (!trx) await mailed;
  };
  return {
    config,
    clock,
    log,
    store,
    box,
    mailer,
    audit,
    hasher,
    users,
    sessions: new SessionRepository(store, {
      idleMs: config.sessionIdleMinutes * 60_000,
      absoluteMs: config.sessionAbsoluteHours * 3_600_000,
    }),
    signIns: new SignInRepository(store),
    emailCodes,
    regulator: new Regulator(new AttemptRepository(store.db, store.unflushedTransaction), clock, config),
    hardwareTokens,
    methods: createMethods({
      clock,
      box,
      hasher,
      devices,
      users,
      challenges,
      hardwareTokens,
      recoveryCodes: new RecoveryCodeRepository(store),
      mailer,
      emailCodes,
      issuer: () => config.issuer,
      resyncWindowMinutes: () => config.resyncWindowMinutes,
      relyingParty,
      onCloneSuspected,
      ...(opts.factors ? { factors: opts.factors } : {}),
    }),
    devices,
    invitations: new InvitationRepository(store),
    challenges,
    deviceReports: new DeviceReportRepository(store),
    sealedSecrets: new SealedSecretRepository(store),
    recoveryRequests: new RecoveryRequestRepository(store),
    knownBrowsers: new KnownBrowserRepository(store),
    rememberedBrowsers: new RememberedBrowserRepository(store),
    metrics,
    groups: new GroupRepository(store),
    signingKeys,
    oidcClients: new OidcClientRepository(store),
    oidcPayloads: new OidcPayloadRepository(store),
    sharedSecrets: new SharedSecrets(store),
    approvals: new AdminApprovalRepository(store),
    async close() {
      await mailer.close();
      await store.close();
    },
  };
}

export function setupTokenFile(dataDir: string): string {
  return path.join(dataDir, 'setup-token');
}

/** While no user exists, a one-time setup token guards POST /api/v1/setup. */
export async function ensureSetupToken(s: Services): Promise<string | undefined> {
  const file = setupTokenFile(s.config.dataDir);
  if (await s.users.any()) {
    rmSync(file, { force: true });
    return undefined;
  }
  return ensureSecretFile(file, () => randomBytes(24).toString('base64url'));
}

export function readSetupToken(dataDir: string): string | undefined {
  const file = setupTokenFile(dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
