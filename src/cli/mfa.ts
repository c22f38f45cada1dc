import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { RefusedError, UsageError } from './errors.js';

// As in admin.ts: the actions import what they use when they run, so declaring these commands
// loads neither the flows nor the services.

export function registerMfaCommands(program: Command): void {
  const mfa = program.command('mfa').description("manage users' MFA devices");
  mfa
    .command('list')
    .description("list a user's MFA devices (never their secrets)")
    .requiredOption('--email <email>', 'email address')
    .option('--json', 'JSON lines')
    .action(async (opts: { email: string; json?: boolean }) => {
      const [{ findUser, withServices }, { listDevices }] = await Promise.all([import('./shared.js'), import('../flows/devices.js')]);
      await withServices(async (s) => {
        const user = await findUser(s, opts.email);
        for (const d of await listDevices(s, user)) {
          process.stdout.write(opts.json ? JSON.stringify(d) + '\n' : `${d.id}\t${d.type}\t${d.name}\t${d.createdAt}\t${d.lastUsedAt ?? 'never used'}\n`);
        }
      });
    });
  mfa
    .command('deactivate')
    .description('deactivate a lost MFA device (the user is notified by email)')
    .requiredOption('--email <email>', 'email address')
    .option('--device <id>', 'device id (see mfa list)')
    .option('--all', 'every device of the user (lost them all): one act, audited once, the user mailed once')
    .action(async (opts: { email: string; device?: string; all?: boolean }) => {
      if ((opts.device === undefined) === (opts.all !== true)) throw new UsageError('give --device ID or --all');
      const [{ checkOption, cliActor, cliCaller, findUser, withServices }, { Id }, { removeAllDevices, removeDevice }] = await Promise.all([
        import('./shared.js'),
        import('../schemas/fields.js'),
        import('../flows/devices.js'),
      ]);
      const device = opts.device === undefined ? undefined : checkOption(Id, opts.device, '--device', 'a device id from `mamori mfa list`');
      await withServices(async (s) => {
        const user = await findUser(s, opts.email);
        if (device === undefined) {
          const n = await removeAllDevices(s, user, cliCaller, cliActor());
          process.stdout.write(`deactivated ${n} devices of ${user.email}\n`);
          return;
        }
        await removeDevice(s, user, device, cliCaller, { admin: cliActor() });
        process.stdout.write(`deactivated ${device} of ${user.email}\n`);
      });
    });

  program
    .command('token')
    .description('hardware TOTP/HOTP tokens')
    .command('import')
    .description("import tokens from a vendor's PSKC file (RFC 6030)")
    .argument('<file>', 'the .pskc file')
    .option('--psk-stdin', 'read the pre-shared AES key (hex) from standard input')
    .option('--psk-file <path>', 'read the pre-shared AES key (hex) from a file only you can read')
    .option('--password-stdin', 'read the passphrase of a PBKDF2-protected file from standard input')
    .option('--password-file <path>', 'read that passphrase from a file only you can read')
    // Still parsed, only to be refused by name: silently ignoring them would import nothing, or worse.
    .addOption(new Option('--psk [hex]').hideHelp())
    .addOption(new Option('--password [passphrase]').hideHelp())
    .action(async (file: string, opts: PskcKeyOptions) => {
      const keys = await pskcKeys(opts);
      let xml: Buffer;
      try {
        xml = readFileSync(file);
      } catch {
        throw new RefusedError(`cannot read ${file}`);
      }
      const [{ cliActor, cliCaller, withServices }, { importHardwareTokens }] = await Promise.all([import('./shared.js'), import('../flows/hardware-tokens.js')]);
      await withServices(async (s) => {
        const r = await importHardwareTokens(
          s,
          xml,
          keys,
          cliActor(),
          cliCaller,
        );
        process.stdout.write(`imported ${r.imported}\n`);
        for (const sk of r.skipped) process.stdout.write(`skipped ${sk.serial}: ${sk.reason}\n`);
      });
    });

  program
    .command('keys')
    .description('master keys')
    .command('rotate')
    .description('re-seal every secret under the newest master key (--generate makes a new development key first), and add a new token signing key')
    .option('--generate', 'replace the development key in the data dir with a new one')
    .option('--sign-after <seconds>', 'how long the new signing key is published before it signs (verifiers that cache the JWKS learn it first)', '600')
    .action(async (opts: { generate?: boolean; signAfter: string }) => {
      if (!/^\d{1,7}$/.test(opts.signAfter)) throw new UsageError('--sign-after must be a number of seconds');
      const [{ devMasterKeyFile, devPreviousKeysFile, loadConfig }, { cliActor, withServices }, { rotateSecrets }] = await Promise.all([
        import('../config.js'),
        import('./shared.js'),
        import('../flows/keys.js'),
      ]);
      if (opts.generate) {
        const config = loadConfig();
        if (process.env.MAMORI_MASTER_KEY) throw new UsageError('--generate rotates the development key file; with MAMORI_MASTER_KEY set, put the new key there and the old one in MAMORI_OLD_MASTER_KEYS');
        const file = devMasterKeyFile(config.dataDir);
        // The old key is kept first, so a crash before re-sealing loses nothing.
        appendFileSync(devPreviousKeysFile(config.dataDir), readFileSync(file, 'utf8').trim() + '\n', { mode: 0o600 });
        writeFileSync(`${file}.new`, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
        renameSync(`${file}.new`, file);
      }
      await withServices(async (s) => {
        const r = await rotateSecrets(s);
        process.stdout.write(`re-sealed ${r.devices} device secrets and ${r.tokens} token secrets under key ${s.box.currentKeyId}\n`);
        // The old signing key stays in the JWKS until every token it signed has expired.
        const k = await s.signingKeys.rotate(Number(opts.signAfter) * 1000);
        await s.audit.append({ type: 'signing_key_rotated', actor: cliActor(), detail: { kid: k.kid, signsFrom: new Date(k.signsFrom).toISOString() } });
        process.stdout.write(`new signing key ${k.kid} is published now and signs from ${new Date(k.signsFrom).toISOString()}\n`);
      });
    });
}

interface PskcKeyOptions {
  pskStdin?: boolean;
  pskFile?: string;
  passwordStdin?: boolean;
  passwordFile?: string;
  /** The refused forms: a secret in argv is visible to every user of the machine in `ps`. */
  psk?: string | boolean;
  password?: string | boolean;
}

/** The PSKC file's key and passphrase, read from standard input or a private file, never argv. */
async function pskcKeys(opts: PskcKeyOptions): Promise<{ psk?: Buffer; password?: string }> {
  if (opts.psk !== undefined) throw new UsageError('--psk is not accepted (arguments are visible in ps): use --psk-stdin or --psk-file PATH');
  if (opts.password !== undefined) throw new UsageError('--password is not accepted (arguments are visible in ps): use --password-stdin or --password-file PATH');
  if (opts.pskStdin && opts.passwordStdin) throw new UsageError('--psk-stdin and --password-stdin cannot both read standard input: use a --…-file option for one');
  const [{ checkOption }, { PskcKeyHex, PskcPassword }] = await Promise.all([import('./shared.js'), import('../schemas/fields.js')]);
  const hex = await readSecret('--psk', opts.pskStdin, opts.pskFile);
  const password = await readSecret('--password', opts.passwordStdin, opts.passwordFile);
  return {
    // Whitespace is never part of hex; a key file may well end in a space or a newline.
    ...(hex === undefined ? {} : { psk: Buffer.from(checkOption(PskcKeyHex, hex.trim(), sourceOf('--psk', opts.pskStdin), '16 to 32 bytes of hex'), 'hex') }),
    ...(password === undefined ? {} : { password: checkOption(PskcPassword, password, sourceOf('--password', opts.passwordStdin), '1 to 256 characters') }),
  };
}

const sourceOf = (base: string, stdin: boolean | undefined) => (stdin ? `${base}-stdin` : `${base}-file`);

/** One secret from `<base>-stdin` or `<base>-file`, or undefined when neither is given. */
async function readSecret(base: string, stdin: boolean | undefined, file: string | undefined): Promise<string | undefined> {
  if (stdin && file !== undefined) throw new UsageError(`give ${base}-stdin or ${base}-file, not both`);
  const { readSecretFile, readStdin } = await import('./shared.js');
  if (stdin) return readStdin(`${base}-stdin`);
  if (file !== undefined) return readSecretFile(file, `${base}-file`);
  return undefined;
}
