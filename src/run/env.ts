import { DowntimeError, ExitCode } from '../errors.js';
import { flagName, type RunArgs } from './args.js';

/**
 * DOWNTIME_* environment variables: each stands for one flag of `downtime run` (DOWNTIME_READS for --reads,
 * DOWNTIME_CONNECT_TIMEOUT for --connect-timeout). Precedence: the scenario's value < the variable < the flag. A
 * value from the environment replaces a scenario's value as a flag does, and the header's `overriddenBy` names
 * the variable. Only `run` reads them (`report --out` is a folder, `run --out` a file: one DOWNTIME_OUT cannot
 * mean both). There is no password variable: a password goes in MYSQL_PWD, a file or a command, never in a
 * variable whose value ends up in a header or a message; the password flags have no variable either.
 */
const RUN_ENV_KEYS = [
  'target',
  'reads',
  'writes',
  'duration',
  'out',
  'force',
  'workers',
  'connection',
  'timeout',
  'connectTimeout',
  'slow',
  'dnsServer',
  'maxInFlight',
  'table',
  'readSql',
  'writeSql',
  'sslMode',
  'sslCa',
  'label',
  'progress',
  'report',
  'poolSize',
  'verify',
  'keep',
  'greenTarget',
  'from',
  'to',
] as const satisfies readonly (keyof RunArgs)[];

type EnvKey = (typeof RUN_ENV_KEYS)[number];

const BOOLEAN_KEYS: readonly EnvKey[] = ['force', 'progress', 'report', 'verify', 'keep'];
const NUMBER_KEYS: readonly EnvKey[] = ['workers', 'maxInFlight', 'poolSize'];
/** Several values, space-separated: `DOWNTIME_TARGET="writer=mysql://… reader=mysql://…"`, `DOWNTIME_READS="reader=0"`. */
const LIST_KEYS: readonly EnvKey[] = ['target', 'reads', 'writes'];

/** The choices yargs checks for the flags; a variable is checked against the same lists. */
export const RUN_CHOICES = {
  connection: ['pool', 'per-probe', 'pool,per-probe', 'per-probe,pool'],
  sslMode: ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'],
} as const;

/** `connectTimeout` → `DOWNTIME_CONNECT_TIMEOUT`. */
export function envName(key: string): string {
  return 'DOWNTIME_' + flagName(key).slice(2).replace(/-/g, '_').toUpperCase();
}

/** Which run options came from the environment, by key: the variable's name. */
export type EnvNames = Partial<Record<keyof RunArgs, string>>;

function booleanValue(name: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new DowntimeError(`${name} must be true or false (or 1, 0, yes, no), not "${text}"`, ExitCode.Usage);
}

/**
 * The run's flags with DOWNTIME_* variables filled in where no flag was given; `envNames` says which. An empty
 * variable counts as unset. Values are checked where flags are (src/run/plan.ts): errors name the variable
 * (withEnvNames); booleans and choices, which yargs checks for flags, are checked here.
 */
export function runEnv<A extends object>(
  args: A,
  env: Record<string, string | undefined>,
): { args: A; envNames: EnvNames } {
  // Someone will try it: said at once, rather than a run refused later for a password nobody gave. Never echoed.
  if (env.DOWNTIME_PASSWORD !== undefined && env.DOWNTIME_PASSWORD !== '') {
    throw new DowntimeError(
      'DOWNTIME_PASSWORD is not read (a password in a variable ends up in shell histories and CI logs): unset it and use MYSQL_PWD, --password-file, --password-command or --password-prompt',
      ExitCode.Usage,
    );
  }
  const out: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  const envNames: EnvNames = {};
  for (const key of RUN_ENV_KEYS) {
    const name = envName(key);
    const text = env[name];
    if (text === undefined || text.trim() === '' || out[key] !== undefined) continue;
    let value: unknown = text;
    if (BOOLEAN_KEYS.includes(key)) value = booleanValue(name, text);
    else if (NUMBER_KEYS.includes(key)) value = Number.isFinite(Number(text)) ? Number(text) : text;
    else if (LIST_KEYS.includes(key)) {
      const list = text.trim().split(/\s+/);
      value = list.length === 1 ? list[0] : list;
    } else if (key in RUN_CHOICES) {
      const choices = RUN_CHOICES[key as keyof typeof RUN_CHOICES] as readonly string[];
      if (!choices.includes(text)) {
        throw new DowntimeError(`${name} "${text}" is not one of ${choices.join(', ')}`, ExitCode.Usage);
      }
    }
    out[key] = value;
    envNames[key] = name;
  }
  return { args: out as A, envNames };
}

/**
 * An error about a flag whose value came from the environment names the variable instead: "--reads must be a
 * number…" becomes "DOWNTIME_READS must be a number…" (the first mention; later ones are advice on how to write it).
 */
export function withEnvNames(err: unknown, envNames: EnvNames): unknown {
  if (!(err instanceof DowntimeError)) return err;
  let message = err.message;
  for (const [key, name] of Object.entries(envNames)) {
    const flag = flagName(key);
    message = message.replace(new RegExp(`(^|[^\\w-])${flag}(?![\\w-])`), `$1${name}`);
  }
  return message === err.message ? err : new DowntimeError(message, err.exitCode);
}
