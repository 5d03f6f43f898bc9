#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import type yargsEsm from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DowntimeError, ExitCode, oneLine } from './errors.js';
import { processIo, type Io } from './io.js';
import { toolVersion } from './version.js';
import { commands, type CommandContext } from './commands/index.js';

/**
 * yargs' CommonJS build, on purpose: its ESM build lays help out with cliui's stand-in for wrap-ansi, which cuts a
 * line every N characters whatever it cuts ("repeat as NAME=URL to watc|h several endpoints"); the CommonJS build
 * wraps with wrap-ansi, at word boundaries. Same package, same API and typings.
 */
const yargs = createRequire(import.meta.url)('yargs') as typeof yargsEsm;

/** Help text width: the terminal's, or 100 columns when stdout is not a terminal (a pipe, a file, a test). */
export function helpWidth(io: Pick<Io, 'columns'>): number {
  return io.columns !== undefined && io.columns > 0 ? io.columns : 100;
}

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
    // `downtime completion >> ~/.bashrc` (or ~/.zshrc: the script is zsh's when $SHELL is zsh).
    .completion('completion', 'print a bash/zsh completion script: downtime completion >> ~/.bashrc')
    .wrap(helpWidth(io))
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      // A YError is yargs' own complaint about the command line (e.g. a flag without its value): usage.
      if (err && err.name !== 'YError') throw err;
      throw new DowntimeError(
        `${usageMessage(
          oneLine(msg ?? err?.message ?? 'invalid arguments'),
          argv.find((a) => !a.startsWith('-')),
        )} (see downtime --help)`,
        ExitCode.Usage,
      );
    });
  for (const make of commands) cli = cli.command(requireValues(make(ctx) as CommandModule));
  return cli;
}

/**
 * Every option that takes a value must be given one: yargs leaves `--reads` in `--reads --out x` undefined, so
 * the default would apply without a word. (Repeatable options, such as --threshold, are left as they are.)
 */
function requireValues(mod: CommandModule): CommandModule {
  const builder = mod.builder;
  if (typeof builder !== 'function') return mod;
  return {
    ...mod,
    builder: (y: Argv) => {
      const built = builder(y) as Argv;
      // getOptions() is public in yargs 17 but missing from its typings.
      const o = (built as unknown as { getOptions(): Record<'string' | 'number' | 'array', string[]> }).getOptions();
      return built.requiresArg([...o.string, ...o.number].filter((k) => !o.array.includes(k)));
    },
  };
}

/** What a command needs when it is given no positional argument. */
const MISSING_FILES: Record<string, string> = {
  report: 'a results file, e.g. downtime report reports/run.ndjson',
  compare: 'two or more results files, e.g. downtime compare a.ndjson b.ndjson',
  merge: 'the results files of several load hosts, e.g. downtime merge a.ndjson b.ndjson --out all.ndjson',
  sandbox: 'an action: up, status, reset or down, e.g. downtime sandbox up',
};

/**
 * yargs' messages, said the way this tool says things: an unknown flag once, as typed (yargs adds its
 * camel-cased twin); a flag without its value, a missing flag and a value outside the choices named as flags.
 */
export function usageMessage(msg: string, command?: string): string {
  if (/^Not enough non-option arguments/.test(msg) && command !== undefined && command in MISSING_FILES) {
    return `${command} needs ${MISSING_FILES[command]}`;
  }
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg);
  if (unknown !== null) {
    const names = (unknown[1] as string).split(', ');
    const kebab = (n: string): string => n.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    const kept = names.filter((n) => !/[A-Z]/.test(n) || !names.includes(kebab(n)));
    return `Unknown argument${kept.length > 1 ? 's' : ''}: ${kept.join(', ')}`;
  }
  const noValue = /^Not enough arguments following: (\S+)$/.exec(msg);
  if (noValue !== null) return `--${noValue[1]} is given without a value`;
  const missing = /^Missing required arguments?: (.*)$/.exec(msg);
  if (missing !== null) {
    const flags = (missing[1] as string).split(', ').map((k) => `--${k}`);
    return `${flags.join(' and ')} ${flags.length > 1 ? 'are' : 'is'} required`;
  }
  if (msg.startsWith('Invalid values:')) {
    const parts = [...msg.matchAll(/Argument: (\S+), Given: (.*?), Choices: (.*?)(?= Argument: |$)/g)];
    if (parts.length > 0) {
      return parts.map((p) => `--${p[1]} ${p[2]} is not one of ${(p[3] as string).replace(/"/g, '')}`).join('; ');
    }
  }
  return msg;
}

/** Flags whose value is a duration (string-typed, so yargs would read `-1s` as the short flags -1 and -s). */
const DURATION_FLAGS = ['duration', 'timeout', 'connect-timeout', 'slow', 'password-refresh'];

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

export async function main(argv: string[], io: Io, deps: Pick<CommandContext, 'renderPng'> = {}): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  try {
    checkNegativeDurations(argv);
    // Handlers store their exit code in ctx (yargs ignores handler return values).
    const ctx: CommandContext = { io, exitCode: ExitCode.Ok, ...deps };
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
