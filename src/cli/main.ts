import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { MamoriError } from '../errors.js';
import { registerAdminCommands } from './admin.js';
import { registerMfaCommands } from './mfa.js';
import { registerClientCommands } from './clients.js';
import { RefusedError, UsageError } from './errors.js';

/** Exit 0 on success, 1 on a refused operation (one line on stderr), 2 on bad usage. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('mamori')
    .description('Mamori: sign-in and multi-factor authentication')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  program
    .command('serve')
    .description('run the HTTP service')
    .action(async () => {
      // Loaded only for `serve`: the HTTP stack is most of the start-up time of every other command.
      const { serve } = await import('./serve.js');
      await serve(loadConfig());
    });

  registerAdminCommands(program);
  registerMfaCommands(program);
  registerClientCommands(program);
  program.addOption(new Option('--version').hideHelp()).on('option:version', () => {
    process.stdout.write('mamori 0.1.0\n');
    process.exit(0);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`mamori: configuration error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`mamori: ${err.message}\n`);
      return 2;
    }
    if (err instanceof MamoriError) {
      process.stderr.write(`mamori: ${err.detail ?? err.title}${err.extra.reason ? ` (${String(err.extra.reason)})` : ''}\n`);
      return 1;
    }
    if (err instanceof RefusedError) {
      process.stderr.write(`mamori: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`mamori: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
// `serve` keeps running through its listeners; every other command ends here.
if (code !== 0 || process.argv[2] !== 'serve') {
  process.exitCode = code;
  if (process.argv[2] !== 'serve') {
    // process.exit drops what a pipe has not taken yet (a long `user list` or export read by a
    // slow reader came out cut short): exit once both streams have handed everything over.
    const drained = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
    await Promise.all([drained(process.stdout), drained(process.stderr)]);
    process.exit(code);
  }
}
