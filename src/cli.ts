#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DowntimeError, ExitCode, oneLine } from './errors.js';
import { processIo, type Io } from './io.js';
import { toolVersion } from './version.js';
import { commands, type CommandContext } from './commands/index.js';

/**
 * Builds the CLI. Every command handler returns an exit code; errors are caught once here:
 * a DowntimeError prints its one-line message, anything else is reported as a bug — never a stack trace
 * unless DOWNTIME_DEBUG is set.
 */
export function buildCli(argv: string[], io: Io, ctx: CommandContext = { io, exitCode: ExitCode.Ok }): Argv {
  let cli = yargs(argv)
    .scriptName('downtime')
    .usage('$0 <command> [options]\n\nMeasures how long a MySQL/MariaDB database is down, as its clients see it.')
    .version(toolVersion())
    .help()
    .alias('h', 'help')
    .strict()
    .demandCommand(1, 'name a command: downtime <command> --help shows one')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      if (err) throw err;
      throw new DowntimeError(
        `${usageMessage(oneLine(msg ?? 'invalid arguments'))} (see downtime --help)`,
        ExitCode.Usage,
      );
    });
  for (const make of commands) cli = cli.command(make(ctx) as CommandModule);
  return cli;
}

/**
 * yargs names an unknown flag twice, as typed and camel-cased ("Unknown arguments: bogus-flag, bogusFlag"):
 * said once, as typed, with its dashes.
 */
function usageMessage(msg: string): string {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (m === null) return msg;
  const names = (m[1] as string).split(', ');
  const kebab = (n: string): string => n.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  const kept = names.filter((n) => !/[A-Z]/.test(n) || !names.includes(kebab(n)));
  return `Unknown argument${kept.length > 1 ? 's' : ''}: ${kept.join(', ')}`;
}

/** Flags whose value is a duration (string-typed, so yargs would read `-1s` as the short flags -1 and -s). */
const DURATION_FLAGS = ['duration', 'timeout', 'connect-timeout', 'password-refresh'];

/**
 * `--timeout -1s`: yargs takes `-1s` for short flags and says "Unknown arguments: 1, s", which names nothing the
 * user typed. Checked before yargs, the message says what is wrong (also for `--timeout=-1s`).
 */
export function checkNegativeDurations(argv: readonly string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null || !DURATION_FLAGS.includes(m[1] as string)) continue;
    const value = m[2] ?? argv[i + 1];
    if (value !== undefined && /^-\d/.test(value)) {
      const positive = value.slice(1);
      throw new DowntimeError(
        `--${m[1]} ${value}: a duration must be positive; write e.g. --${m[1]} ${/[a-z]$/.test(positive) ? positive : '2s'}`,
        ExitCode.Usage,
      );
    }
  }
}

export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  try {
    checkNegativeDurations(argv);
    // Handlers store their exit code in ctx (yargs ignores handler return values).
    const ctx: CommandContext = { io, exitCode: ExitCode.Ok };
    // With a parse callback yargs hands --help/--version text to us instead of printing it itself.
    let output = '';
    await buildCli(argv, io, ctx).parseAsync(argv, {}, (_err, _args, text) => {
      output = text;
    });
    if (output !== '') io.stdout(output.endsWith('\n') ? output : output + '\n');
    exitCode = ctx.exitCode;
  } catch (err) {
    exitCode = reportError(err, io);
  }
  return exitCode;
}

export function reportError(err: unknown, io: Io): number {
  if (err instanceof DowntimeError) {
    io.stderr(`downtime: ${oneLine(err.message)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(
    `downtime: internal error: ${oneLine(message)} (this is a bug; rerun with DOWNTIME_DEBUG=1 and report it)\n`,
  );
  if (io.env.DOWNTIME_DEBUG && err instanceof Error && err.stack) io.stderr(err.stack + '\n');
  return ExitCode.Internal;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  const io = processIo();
  const code = await main(hideBin(process.argv), io);
  process.exitCode = code;
}
