import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { devMasterKeyFile, devPreviousKeysFile, loadConfig } from '../config.js';
import { listDevices, removeDevice } from '../flows/devices.js';
import { importHardwareTokens } from '../flows/hardware-tokens.js';
import { rotateSecrets } from '../flows/keys.js';
import { RefusedError, UsageError } from './errors.js';
import { cliActor, cliCaller, findUser, withServices } from './shared.js';

export function registerMfaCommands(program: Command): void {
  const mfa = program.command('mfa').description("manage users' MFA devices");
  mfa
    .command('list')
    .description("list a user's MFA devices (never their secrets)")
    .requiredOption('--email <email>', 'email address')
    .option('--json', 'JSON lines')
    .action(async (opts: { email: string; json?: boolean }) => {
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
    .requiredOption('--device <id>', 'device id (see mfa list)')
    .action(async (opts: { email: string; device: string }) => {
      await withServices(async (s) => {
        const user = await findUser(s, opts.email);
        await removeDevice(s, user, opts.device, cliCaller, { admin: cliActor() });
        process.stdout.write(`deactivated ${opts.device} of ${user.email}\n`);
      });
    });

  program
    .command('token')
    .description('hardware TOTP/HOTP tokens')
    .command('import')
    .description("import tokens from a vendor's PSKC file (RFC 6030)")
    .argument('<file>', 'the .pskc file')
    .option('--psk <hex>', 'pre-shared AES key, hex')
    .option('--password <passphrase>', 'passphrase for PBKDF2-protected files')
    .action(async (file: string, opts: { psk?: string; password?: string }) => {
      if (opts.psk !== undefined && !/^([0-9a-fA-F]{2}){16,32}$/.test(opts.psk)) throw new UsageError('--psk must be 16 to 32 bytes of hex');
      let xml: Buffer;
      try {
        xml = readFileSync(file);
      } catch {
        throw new RefusedError(`cannot read ${file}`);
      }
      await withServices(async (s) => {
        const r = await importHardwareTokens(
          s,
          xml,
          { ...(opts.psk ? { psk: Buffer.from(opts.psk, 'hex') } : {}), ...(opts.password ? { password: opts.password } : {}) },
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
    .description('re-seal every secret under the newest master key (--generate makes a new development key first)')
    .option('--generate', 'replace the development key in the data dir with a new one')
    .action(async (opts: { generate?: boolean }) => {
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
      });
    });
}
