import { Option, type Command } from 'commander';
import { EVENT_TYPES, parseInstant } from '../flows/audit-export.js';
import type { GroupChange } from '../flows/user-groups.js';
import { GROUP_NAME } from '../store/groups.js';
import { RefusedError, UsageError } from './errors.js';

// Only the commands are declared here. What an action needs (the flows, the schemas, the
// services and through them the database drivers) is imported when that action runs: with the
// bundle split into chunks (scripts/build.mjs), a command loads its own code and no other's.

export function registerAdminCommands(program: Command): void {
  program
    .command('migrate')
    .description('bring the database schema up to date')
    .action(async () => {
      const [{ loadConfig }, { migrate, openStore }] = await Promise.all([import('../config.js'), import('../store/db.js')]);
      const config = loadConfig();
      const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await migrate(store);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
      } finally {
        await store.close();
      }
    });

  const user = program.command('user').description('manage users');
  user
    .command('create')
    .description('create a user')
    .requiredOption('--email <email>', 'email address')
    .option('--name <name>', 'display name')
    .option('--role <role>', 'admin or user', 'user')
    .option('--locale <locale>', 'en or ja', 'en')
    .option('--password-stdin', 'read the password from standard input')
    // Parsed only to be refused by name: an argument is visible to every user of the machine in `ps`.
    .addOption(new Option('--password [password]').hideHelp())
    .action(async (opts: { email: string; name?: string; role: string; locale: string; passwordStdin?: boolean; password?: string | boolean }) => {
      if (opts.password !== undefined) throw new UsageError('--password is not accepted (arguments are visible in ps): pipe the password into --password-stdin');
      const [{ checkEmail, checkOption, cliActor, cliCaller, readStdin, withServices }, { Locale, Name, Password, Role }, { createUser }] = await Promise.all([
        import('./shared.js'),
        import('../schemas/fields.js'),
        import('../flows/users.js'),
      ]);
      // Everything is checked before the password is read and before the database is opened.
      const input = {
        email: checkEmail(opts.email),
        name: opts.name === undefined ? undefined : checkOption(Name, opts.name, '--name', '1 to 100 characters'),
        role: checkOption(Role, opts.role, '--role', 'admin or user'),
        locale: checkOption(Locale, opts.locale, '--locale', 'en or ja'),
      };
      if (!opts.passwordStdin) throw new UsageError('--password-stdin is required: pipe the password in');
      const password = checkOption(Password, await readStdin('--password-stdin'), 'the password on standard input (--password-stdin)', '1 to 1024 characters');
      await withServices(async (s) => {
        const created = await createUser(s, { ...input, password }, { caller: cliCaller, actor: cliActor() });
        process.stdout.write(`created ${created.role} ${created.email} (${created.id})\n`);
      });
    });

  user
    .command('list')
    .description('list users')
    .option('--json', 'JSON lines instead of a table')
    .action(async (opts: { json?: boolean }) => {
      // Two tables are read, so the database alone is opened (and brought up to date, as by every
      // command), with the two repositories wired as in src/services.ts: building all the
      // services, their mailer, factors, metrics and keys, would be most of this command's time.
      const [{ loadConfig }, { migrate, openStore }, { UserRepository }, { AttemptRepository }, { Regulator }, { systemClock }] = await Promise.all([
        import('../config.js'),
        import('../store/db.js'),
        import('../store/users.js'),
        import('../store/attempts.js'),
        import('../regulation/index.js'),
        import('../clock.js'),
      ]);
      const config = loadConfig();
      const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        await migrate(store);
        const regulator = new Regulator(new AttemptRepository(store.db, store.unflushedTransaction), systemClock, config);
        const lockedUsers = await regulator.lockedUsers();
        for (const u of await new UserRepository(store).list()) {
          const locked = lockedUsers.has(u.id);
          if (opts.json) {
            process.stdout.write(JSON.stringify({ id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled === 1, locked }) + '\n');
          } else {
            process.stdout.write(`${u.id}\t${u.email}\t${u.role}${u.disabled ? '\tdisabled' : ''}${locked ? '\tlocked' : ''}\n`);
          }
        }
      } finally {
        await store.close();
      }
    });

  user
    .command('import')
    .description('create users in bulk from a JSON-lines file, all or nothing (docs/moving-in.md)')
    .argument('<file>', 'one JSON object a line: email, name, role, groups, password {format, hash}, totp')
    .action(async (file: string) => {
      // Opened here, read as it is imported (a block at a time): a million users never sit in memory at once.
      const { openImportFile } = await import('../flows/import-lines.js');
      let input: ReturnType<typeof openImportFile>;
      try {
        input = openImportFile(file);
      } catch {
        throw new RefusedError(`cannot read ${file}`);
      }
      try {
        const [{ cliActor, cliCaller, withServices }, { ImportRefusedError, importUsers }] = await Promise.all([import('./shared.js'), import('../flows/user-import.js')]);
        await withServices(async (s) => {
          try {
            const r = await importUsers(s, input.source, cliActor(), cliCaller);
            process.stdout.write(`imported ${r.imported} users\n`);
          } catch (err) {
            if (!(err instanceof ImportRefusedError)) throw err;
            // One line each, so a script (or grep) can list them; the reasons never quote a secret.
            process.stderr.write(err.refused.map((r) => `line ${r.line}: ${r.reason}\n`).join(''));
            throw new RefusedError(err.detail ?? 'nothing was imported');
          }
        });
      } finally {
        input.close();
      }
    });

  user
    .command('export')
    .description('every user as a line of the import format, without password hashes or TOTP seeds')
    .action(async () => {
      const [{ cliActor, cliCaller, withServices }, { exportUsers }] = await Promise.all([import('./shared.js'), import('../flows/user-export.js')]);
      await withServices(async (s) => {
        const body = await exportUsers(s, cliActor(), cliCaller);
        // Flushed before the process exits, however large and wherever stdout goes.
        await new Promise<void>((resolve, reject) => process.stdout.write(body, (err) => (err ? reject(err) : resolve())));
      });
    });

  user
    .command('groups')
    .description("show a user's groups, or change them")
    .requiredOption('--email <email>', 'email address')
    .option('--set <groups>', 'replace the groups with this comma-separated list ("" for none)')
    .option('--add <groups>', 'add these comma-separated groups')
    .option('--remove <groups>', 'remove these comma-separated groups')
    .action(async (opts: { email: string; set?: string; add?: string; remove?: string }) => {
      const [{ checkEmail, cliActor, cliCaller, findUser, withServices }, { GROUP_NAME_RULE }, { changeGroups }] = await Promise.all([
        import('./shared.js'),
        import('../schemas/groups.js'),
        import('../flows/user-groups.js'),
      ]);
      const email = checkEmail(opts.email);
      if (opts.set !== undefined && (opts.add !== undefined || opts.remove !== undefined)) throw new UsageError('--set replaces the groups: give it alone, or --add and --remove');
      const names = (value: string, option: string): string[] => {
        const list = value.split(',').map((g) => g.trim()).filter((g) => g !== '');
        if (!list.every((g) => GROUP_NAME.test(g))) throw new UsageError(`${option} takes comma-separated group names of ${GROUP_NAME_RULE}`);
        return list;
      };
      let change: GroupChange | undefined;
      if (opts.set !== undefined) change = { set: names(opts.set, '--set') };
      else if (opts.add !== undefined || opts.remove !== undefined) {
        change = { ...(opts.add !== undefined ? { add: names(opts.add, '--add') } : {}), ...(opts.remove !== undefined ? { remove: names(opts.remove, '--remove') } : {}) };
      }
      await withServices(async (s) => {
        const u = await findUser(s, email);
        const groups = change ? await changeGroups(s, u.id, change, cliActor(), cliCaller) : await s.groups.of(u.id);
        process.stdout.write(`${u.email}\t${groups.length > 0 ? groups.join(',') : '(no groups)'}\n`);
      });
    });

  user
    .command('unlock')
    .description('clear password and MFA lockouts')
    .requiredOption('--email <email>', 'email address')
    .action(async (opts: { email: string }) => {
      const [{ checkEmail, cliActor, cliCaller, findUser, withServices }, { unlockUser }] = await Promise.all([import('./shared.js'), import('../flows/users.js')]);
      const email = checkEmail(opts.email);
      await withServices(async (s) => {
        const u = await findUser(s, email);
        await unlockUser(s, u, cliActor(), cliCaller);
        process.stdout.write(`unlocked ${u.email}\n`);
      });
    });

  user
    .command('force-password-change')
    .description('make the user choose a new password at the next sign-in; ends their sessions and open sign-ins')
    .requiredOption('--email <email>', 'email address')
    .action(async (opts: { email: string }) => {
      const [{ checkEmail, cliActor, cliCaller, findUser, withServices }, { forcePasswordChange }] = await Promise.all([import('./shared.js'), import('../flows/users.js')]);
      const email = checkEmail(opts.email);
      await withServices(async (s) => {
        const u = await findUser(s, email);
        const r = await forcePasswordChange(s, u.id, cliActor(), cliCaller);
        process.stdout.write(`${u.email} must change the password at the next sign-in (ended ${r.sessionsEnded} sessions, ${r.pendingSignInsEnded} open sign-ins)\n`);
      });
    });

  const audit = program.command('audit').description('audit log');
  audit
    .command('verify')
    .description('check the keyed chain of the audit log')
    .action(async () => {
      const { withServices } = await import('./shared.js');
      await withServices(async (s) => {
        const r = await s.audit.verify();
        if (!r.valid) {
          const problems = r.problems ?? [];
          const first = problems[0];
          const where = r.firstBrokenId !== undefined ? `at event ${r.firstBrokenId}` : first?.checkpointId !== undefined ? `at checkpoint ${first.checkpointId}` : `in chain ${first?.chain ?? '?'}`;
          const more = problems.length > 1 ? `, and ${problems.length - 1} more problems` : '';
          throw new RefusedError(`audit chain broken ${where}: ${first?.reason ?? 'unknown'} (${r.events} events verified${more})`);
        }
        // Rows from before the key are only hash-chained: say how many, so nobody over-trusts them.
        const unkeyed = r.unkeyed > 0 ? ` (the first ${r.unkeyed} from before the key, SHA-256 only)` : '';
        // The newest checkpoint's hash, kept outside the database, pins every chain up to it.
        const c = r.lastCheckpoint;
        const checkpoints = c ? `; ${r.chains} chains, ${r.checkpoints} checkpoints, the newest #${c.id} at ${new Date(c.at).toISOString()}: ${c.hash}` : '';
        process.stdout.write(`audit chain valid: ${r.events} events${unkeyed}${checkpoints}\n`);
      });
    });

  audit
    .command('export')
    .description('the audit log as JSON lines (oldest first), optionally filtered')
    .option('--email <email>', "only this user's events")
    .option('--type <types>', 'only these event types (comma-separated)')
    .option('--from <time>', 'from this ISO 8601 time (inclusive)')
    .option('--to <time>', 'until this ISO 8601 time (exclusive)')
    .action(async (opts: { email?: string; type?: string; from?: string; to?: string }) => {
      const time = (v: string | undefined, option: string) => {
        if (v === undefined) return undefined;
        const ms = parseInstant(v);
        if (ms === undefined) throw new UsageError(`${option} must be an ISO 8601 time such as 2026-12-01T00:00:00Z`);
        return ms;
      };
      if (opts.type !== undefined && !EVENT_TYPES.test(opts.type)) throw new UsageError('--type must be event types separated by commas');
      const from = time(opts.from, '--from');
      const to = time(opts.to, '--to');
      const [{ findUser, withServices }, { exportAudit }] = await Promise.all([import('./shared.js'), import('../flows/audit-export.js')]);
      await withServices(async (s) => {
        const user = opts.email === undefined ? undefined : await findUser(s, opts.email);
        await exportAudit(
          s,
          { ...(user ? { userId: user.id } : {}), ...(opts.type ? { types: opts.type.split(',') } : {}), ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) },
          (chunk) => new Promise<void>((resolve) => (process.stdout.write(chunk) ? resolve() : process.stdout.once('drain', resolve))),
        );
      });
    });

  program
    .command('report')
    .description('reports')
    .command('credentials')
    .description('the credential report as CSV')
    .action(async () => {
      const [{ withServices }, { credentialReport }] = await Promise.all([import('./shared.js'), import('../flows/credential-report.js')]);
      await withServices(async (s) => {
        process.stdout.write(await credentialReport(s));
      });
    });
}
