import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { runMeasurement, type RunOptions, type RunResult } from '../load/run.js';
import { parseTargetUrl, resolveCredentials, validateTableName } from '../load/target.js';
import type { ConnectionModel } from '../results/types.js';
import { parseDuration } from '../util/duration.js';
import type { CommandContext } from './index.js';

/** Flags of `downtime run`, as yargs gives them (untrusted until parsed by `parseRunArgs`). */
export interface RunArgs {
  target?: string;
  reads: number;
  writes: number;
  duration: string;
  out?: string;
  force: boolean;
  workers?: number;
  connection: string;
  timeout: string;
  connectTimeout?: string;
  maxInFlight: number;
  table: string;
  readSql?: string;
  writeSql?: string;
  passwordFile?: string;
  label?: string;
  progress: boolean;
  report: boolean;
}

export const MAX_RATE = 100_000;

function rate(value: number, flag: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new DowntimeError(`${flag} must be a number of probes per second, e.g. ${flag} 100`, ExitCode.Usage);
  }
  if (value <= 0) throw new DowntimeError(`${flag} must be > 0 probes per second (got ${value})`, ExitCode.Usage);
  if (value > MAX_RATE) {
    throw new DowntimeError(
      `${flag} ${value} is absurd: at most ${MAX_RATE} probes per second; run several harnesses and merge them instead`,
      ExitCode.Usage,
    );
  }
  return value;
}

function duration(text: string, flag: string, min: number, max: number): number {
  const d = parseDuration(text);
  if ('error' in d) throw new DowntimeError(`${flag} ${d.error}`, ExitCode.Usage);
  if (d.ms < min || d.ms > max) {
    throw new DowntimeError(`${flag} ${text} is out of range (${min} ms to ${max / 3_600_000} h)`, ExitCode.Usage);
  }
  return d.ms;
}

/** Turns flags into typed run options, or throws one DowntimeError naming the first problem. */
export function parseRunArgs(args: RunArgs, io: Io): RunOptions {
  if (args.target === undefined || args.target === '') {
    throw new DowntimeError('--target is required, e.g. --target mysql://app@db.example:3306/probe', ExitCode.Usage);
  }
  const { target, urlPassword } = parseTargetUrl(args.target);
  if (urlPassword !== undefined) {
    io.stderr(
      'downtime: warning: a password in --target is visible to other users (ps, shell history); prefer MYSQL_PWD or --password-file\n',
    );
  }
  const rates = { read: rate(args.reads, '--reads'), write: rate(args.writes, '--writes') };
  const durationMs = duration(args.duration, '--duration', 1000, 7 * 24 * 3_600_000);
  const timeoutMs = duration(args.timeout, '--timeout', 10, 3_600_000);
  const connectTimeoutMs =
    args.connectTimeout === undefined ? timeoutMs : duration(args.connectTimeout, '--connect-timeout', 10, 3_600_000);
  if (args.connection !== 'pool' && args.connection !== 'per-probe') {
    throw new DowntimeError(`--connection must be pool or per-probe (got "${args.connection}")`, ExitCode.Usage);
  }
  const workers = args.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new DowntimeError(`--workers must be a whole number from 1 to 64 (got ${workers})`, ExitCode.Usage);
  }
  if (!Number.isInteger(args.maxInFlight) || args.maxInFlight < 1 || args.maxInFlight > 100_000) {
    throw new DowntimeError(`--max-in-flight must be a whole number from 1 to 100000 (got ${args.maxInFlight})`);
  }
  const creds = resolveCredentials({ passwordFile: args.passwordFile, urlPassword, env: io.env });
  const stamp = new Date(io.now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const out = resolve(io.cwd, args.out ?? join('reports', `run-${stamp}.ndjson`));
  return {
    target,
    password: creds.password,
    passwordSource: creds.source,
    label: args.label ?? 'run',
    rates,
    durationMs,
    workers,
    connection: args.connection as ConnectionModel,
    timeoutMs,
    connectTimeoutMs,
    maxInFlight: args.maxInFlight,
    table: validateTableName(args.table),
    readSql: args.readSql,
    writeSql: args.writeSql,
    out,
    overwrite: args.force,
    progress: args.progress,
  };
}

export function runFlags<T>(y: Argv<T>) {
  return y
    .option('target', {
      type: 'string',
      describe: 'mysql://USER@HOST:PORT/DATABASE (password from MYSQL_PWD or --password-file)',
    })
    .option('reads', { type: 'number', default: 100, describe: 'read probes per second' })
    .option('writes', { type: 'number', default: 50, describe: 'write probes per second' })
    .option('duration', { type: 'string', default: '60s', describe: 'how long to measure (e.g. 90s, 5m, 1h)' })
    .option('out', { type: 'string', describe: 'results file (default reports/run-<time>.ndjson)' })
    .option('force', { type: 'boolean', default: false, describe: 'overwrite --out if it exists' })
    .option('workers', { type: 'number', describe: 'worker threads (default: CPU count)' })
    .option('connection', {
      type: 'string',
      default: 'pool',
      choices: ['pool', 'per-probe'],
      describe: 'pool: persistent connections like an app; per-probe: a new connection per probe',
    })
    .option('timeout', {
      type: 'string',
      default: '2s',
      describe: 'a probe slower than this (from its intended time) failed',
    })
    .option('connect-timeout', { type: 'string', describe: 'bound on connecting (default: --timeout)' })
    .option('max-in-flight', {
      type: 'number',
      default: 256,
      describe: 'cap on probes in flight per op; a due probe beyond it is recorded as dropped',
    })
    .option('table', {
      type: 'string',
      default: 'downtime_probe',
      describe: "the harness's own table (created if missing)",
    })
    .option('read-sql', {
      type: 'string',
      describe: 'override the read probe (placeholders :run_id :seq :intended_ms)',
    })
    .option('write-sql', {
      type: 'string',
      describe: 'override the write probe (placeholders :run_id :seq :intended_ms)',
    })
    .option('password-file', { type: 'string', describe: 'read the password from this file' })
    .option('label', { type: 'string', describe: 'a name for this run, shown in reports' })
    .option('progress', {
      type: 'boolean',
      default: true,
      describe: 'one line per second on stderr (--no-progress to hide)',
    })
    .option('report', {
      type: 'boolean',
      default: true,
      describe: 'render the report at the end (--no-report to skip)',
    });
}

export function exitCodeOf(result: RunResult): number {
  if (result.abandoned) return ExitCode.Interrupted;
  if (result.trailer.reason === 'error') return ExitCode.Internal;
  return ExitCode.Ok;
}

export const runCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'run',
  describe: 'probe a database at a constant rate and record every second into a results file',
  builder: (y: Argv) =>
    runFlags(y).example(
      'MYSQL_PWD=… $0 run --target mysql://app@db.example:3306/probe --reads 200 --writes 50 --duration 5m --out reports/bg.ndjson',
      'five minutes of probes against db.example',
    ) as Argv<never>,
  handler: async (argv: unknown) => {
    const opts = parseRunArgs(argv as RunArgs, ctx.io);
    const result = await runMeasurement(opts, ctx.io);
    ctx.io.stdout(`${result.path}\n`);
    ctx.exitCode = exitCodeOf(result);
  },
});
