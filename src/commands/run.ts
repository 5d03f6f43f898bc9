import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { defaultStateDir, sandboxProvider } from '../actions/sandbox.js';
import { shellAction } from '../actions/shell.js';
import { EventRelay, relayingRunner, stepAction, type SandboxProvider, type SandboxSession } from '../actions/steps.js';
import { analyze } from '../analyze/index.js';
import { evaluateThresholds, parseThreshold, validateThreshold, type ThresholdResult } from '../analyze/thresholds.js';
import { readResults } from '../results/reader.js';
import { formatCompareTable, formatSummaryTable, renderCompare, renderReport, thresholdsFor } from '../report/index.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { runMeasurement, type RunAction, type RunOptions, type RunResult } from '../load/run.js';
import { SideBySide } from '../load/side-by-side.js';
import type { Target } from '../load/target.js';
import { parseDnsServer } from '../load/resolve.js';
import type { ConnectionModel } from '../results/types.js';
import { assertWritableOutput } from '../results/writer.js';
import { assertCanMakeDir, makeDirs } from '../util/fs-atomic.js';
import { loadScenario } from '../scenario/parse.js';
import { scenarioOutputs } from '../scenario/outputs.js';
import { resolveCredentials, resolveScenarioPassword } from '../scenario/password.js';
import { validateTableName } from '../scenario/rules.js';
import { parseTargetUrl } from '../scenario/target-url.js';
import { redactScenario } from '../scenario/redact.js';
import { SCENARIO_DEFAULTS, type ParsedScenario, type SandboxKind, type ScenarioAction } from '../scenario/types.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { defaultReportDir } from './report.js';
import { passwordFlags, passwordFromCommand, promptPassword, refreshMs, runTls } from './credentials.js';
import type { CommandContext } from './index.js';

/**
 * Flags of `downtime run`, as yargs gives them (untrusted until parsed). Flags have no yargs defaults:
 * undefined means "not given on the command line", so that a scenario's value applies; the defaults
 * for flag-only runs are filled in here (RUN_DEFAULTS).
 */
export interface RunArgs {
  /** Scenario file (YAML/JSON); its values apply unless a flag is given explicitly. */
  scenario?: string;
  target?: string;
  reads?: number;
  writes?: number;
  duration?: string;
  out?: string;
  force?: boolean;
  workers?: number;
  connection?: string;
  timeout?: string;
  connectTimeout?: string;
  /** IPv4[:port] of a DNS server to resolve the target's host through (resolve.ts). */
  dnsServer?: string;
  maxInFlight?: number;
  table?: string;
  readSql?: string;
  writeSql?: string;
  passwordFile?: string;
  /** A command whose stdout is the password (an IAM token); re-run every --password-refresh. */
  passwordCommand?: string;
  passwordRefresh?: string;
  /** Ask for the password on the terminal (no echo). */
  passwordPrompt?: boolean;
  /** TLS: disabled | preferred | required | verify-ca | verify-identity. */
  sslMode?: string;
  sslCa?: string;
  label?: string;
  progress?: boolean;
  report?: boolean;
  verify?: boolean;
  keep?: boolean;
  poolSize?: number;
  threshold?: string[] | string;
  /** Green's address (same credentials as the target): replication lag is measured with a heartbeat. */
  greenTarget?: string;
}

/** Defaults of flag-only runs; the same as a scenario's (SCENARIO_DEFAULTS). */
export const RUN_DEFAULTS = {
  reads: SCENARIO_DEFAULTS.readsPerSec,
  writes: SCENARIO_DEFAULTS.writesPerSec,
  duration: '60s',
  connection: SCENARIO_DEFAULTS.connection,
  timeout: '2s',
  maxInFlight: SCENARIO_DEFAULTS.maxInFlight,
  table: SCENARIO_DEFAULTS.table,
} as const;

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

/** --connection: one client model, or two measured side by side in one run ("pool,per-probe"). */
function connectionModels(value: string): ConnectionModel[] {
  const list = value.split(',').map((v) => v.trim());
  const bad = list.find((v) => v !== 'pool' && v !== 'per-probe');
  if (bad !== undefined || list.length > 2 || new Set(list).size !== list.length) {
    throw new DowntimeError(
      `--connection must be pool, per-probe, or both side by side as pool,per-probe (got "${value}")`,
      ExitCode.Usage,
    );
  }
  return list as ConnectionModel[];
}

function workerCount(workers: number): number {
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new DowntimeError(`--workers must be a whole number from 1 to 64 (got ${workers})`, ExitCode.Usage);
  }
  return workers;
}

function poolSize(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new DowntimeError(`--pool-size must be a whole number from 1 to 1000 (got ${value})`, ExitCode.Usage);
  }
  return value;
}

function maxInFlight(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new DowntimeError(`--max-in-flight must be a whole number from 1 to 100000 (got ${value})`, ExitCode.Usage);
  }
  return value;
}

/** --green-target: green's address; it is read with the target's credentials, so it may not hold a password. */
function greenFlag(text: string | undefined): Target | undefined {
  if (text === undefined || text === '') return undefined;
  const { target, urlPassword } = parseTargetUrl(text);
  if (urlPassword !== undefined) {
    throw new DowntimeError(
      '--green-target is read with the --target credentials; remove the password from it',
      ExitCode.Usage,
    );
  }
  return target;
}

/**
 * The target from --target. A password in it is refused: the command line is readable by every user of
 * the machine (ps, /proc/PID/cmdline, for the whole run) and stays in shell history.
 */
function targetFlag(text: string): { target: Target; urlPassword: undefined } {
  const parsed = parseTargetUrl(text);
  if (parsed.urlPassword !== undefined) {
    throw new DowntimeError(
      '--target must not hold a password: the command line is visible to other users (ps, /proc) and kept in shell history; remove it and use MYSQL_PWD, --password-file, --password-command or --password-prompt',
      ExitCode.Usage,
    );
  }
  return { target: parsed.target, urlPassword: undefined };
}

/** --threshold values (repeatable), each checked by the threshold parser. */
export function thresholdFlags(values: RunArgs['threshold']): string[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list.map((v) => {
    if (typeof v !== 'string' || v.trim() === '') {
      throw new DowntimeError('--threshold takes an expression, e.g. --threshold "write_downtime<60s"', ExitCode.Usage);
    }
    const problem = validateThreshold(v);
    if (problem !== undefined) throw new DowntimeError(`--threshold: ${problem}`, ExitCode.Usage);
    return v.trim();
  });
}

/** Turns flags into typed run options (a run without a scenario), or throws one DowntimeError naming the first problem. */
export function parseRunArgs(args: RunArgs, io: Io): RunOptions {
  if (args.target === undefined || args.target === '') {
    throw new DowntimeError(
      '--target is required (or name a scenario file), e.g. --target mysql://app@db.example:3306/probe',
      ExitCode.Usage,
    );
  }
  const { target, urlPassword } = targetFlag(args.target);
  const rates = {
    read: rate(args.reads ?? RUN_DEFAULTS.reads, '--reads'),
    write: rate(args.writes ?? RUN_DEFAULTS.writes, '--writes'),
  };
  const durationMs = duration(args.duration ?? RUN_DEFAULTS.duration, '--duration', 1000, 7 * 24 * 3_600_000);
  const timeoutMs = duration(args.timeout ?? RUN_DEFAULTS.timeout, '--timeout', 10, 3_600_000);
  const connectTimeoutMs =
    args.connectTimeout === undefined ? timeoutMs : duration(args.connectTimeout, '--connect-timeout', 10, 3_600_000);
  const connections = connectionModels(args.connection ?? RUN_DEFAULTS.connection);
  const workers = workerCount(args.workers ?? availableParallelism());
  const inFlight = maxInFlight(args.maxInFlight ?? RUN_DEFAULTS.maxInFlight);
  passwordFlags(args);
  const creds = resolveCredentials({ passwordFile: args.passwordFile, urlPassword, env: io.env });
  const tls = runTls(args, undefined, io);
  const out = resolve(io.cwd, args.out ?? join('reports', `run-${utcStamp(io.now())}.ndjson`));
  return {
    target,
    password: creds.password,
    passwordSource: creds.source,
    label: args.label ?? 'run',
    rates,
    durationMs,
    workers,
    connection: connections[0] as ConnectionModel,
    timeoutMs,
    connectTimeoutMs,
    maxInFlight: inFlight,
    table: validateTableName(args.table ?? RUN_DEFAULTS.table),
    readSql: args.readSql,
    writeSql: args.writeSql,
    out,
    overwrite: args.force ?? false,
    progress: args.progress ?? true,
    verify: args.verify ?? true,
    keep: args.keep ?? false,
    poolSize: poolSize(args.poolSize),
    tls,
    green: greenFlag(args.greenTarget),
    ...dnsServerOption(args.dnsServer !== undefined ? parseDnsServer(args.dnsServer) : undefined),
  };
}

/**
 * The default output folder (reports/) is made when missing; a folder the user named is not: a typo there
 * should be an error, not a new directory.
 */
function makeDefaultDir(file: string): void {
  try {
    // Not mkdirSync's { recursive: true }: under /proc that loops forever.
    makeDirs(dirname(file));
  } catch {
    // left for the writer to report, with its one-line message
  }
}

function utcStamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

/** Where the probes go: known at once for a target, once the sandbox is up for a sandbox. */
export type RunDb =
  | { kind: 'target'; target: Target; password: string | undefined; passwordSource: string }
  | { kind: 'sandbox'; sandbox: SandboxKind };

/**
 * What `downtime run` does, decided before anything starts: the measurement's options, the actions,
 * the thresholds and the report to render afterwards (the caller evaluates thresholds; this does not).
 */
export interface RunPlan {
  options: Omit<RunOptions, 'target' | 'password' | 'passwordSource' | 'actions'>;
  db: RunDb;
  /** Scenario actions that fall inside the run, in file order. */
  actions: ScenarioAction[];
  /** The scenario's thresholds, then those of --threshold flags, as written. */
  thresholds: string[];
  report: { enabled: boolean; dir: string };
  /** The parsed scenario, when the run comes from one. */
  scenario: ParsedScenario | undefined;
  /** Client models measured: one, or two side by side (the first is options.connection). */
  connections: readonly ConnectionModel[];
}

/**
 * Flags (and the scenario file, if any) → a run plan. Precedence: a flag given on the command line, then
 * the scenario's value, then the default. --threshold adds to the scenario's thresholds.
 */
export async function planRun(args: RunArgs, io: Io): Promise<RunPlan> {
  const thresholds = thresholdFlags(args.threshold);
  if (args.scenario === undefined) {
    const options = parseRunArgs(args, io);
    const { target, ...rest } = options;
    let { password, passwordSource } = options;
    if (args.passwordRefresh !== undefined && args.passwordCommand === undefined) {
      throw new DowntimeError('--password-refresh applies only to --password-command', ExitCode.Usage);
    }
    // Last: a command or a prompt only once everything else is known to be good.
    const flagged = await flagPassword(args, io, undefined);
    if (flagged !== undefined) {
      ({ password, source: passwordSource } = flagged);
      if (flagged.refresh !== undefined) rest.passwordRefresh = flagged.refresh;
    }
    // Only once everything is known to be good: bad input creates nothing.
    if (args.out === undefined) makeDefaultDir(options.out);
    return {
      options: rest,
      db: { kind: 'target', target, password, passwordSource },
      actions: [],
      thresholds,
      report: { enabled: args.report ?? true, dir: defaultReportDir(options.out) },
      scenario: undefined,
      connections: connectionModels(args.connection ?? RUN_DEFAULTS.connection),
    };
  }
  const file = isAbsolute(args.scenario) || io.cwd === process.cwd() ? args.scenario : resolve(io.cwd, args.scenario);
  const s = loadScenario(file, { validateThreshold });
  const overridden = RUN_OVERRIDABLE.filter((flag) => args[flag] !== undefined);

  const rates = {
    read: args.reads !== undefined ? rate(args.reads, '--reads') : s.load.readsPerSec,
    write: args.writes !== undefined ? rate(args.writes, '--writes') : s.load.writesPerSec,
  };
  const durationMs =
    args.duration !== undefined ? duration(args.duration, '--duration', 1000, 7 * 24 * 3_600_000) : s.durationMs;
  const timeoutMs = args.timeout !== undefined ? duration(args.timeout, '--timeout', 10, 3_600_000) : s.load.timeoutMs;
  const connectTimeoutMs =
    args.connectTimeout !== undefined
      ? duration(args.connectTimeout, '--connect-timeout', 10, 3_600_000)
      : s.load.connectTimeoutMs;
  const outputs = scenarioOutputs({ ...s, out: args.out ?? s.out }, io.now());

  // A shorter --duration (a quick rehearsal) leaves out the actions it no longer reaches, and says so.
  const actions = s.actions.filter((a) => a.atMs < durationMs);
  for (const a of s.actions) {
    if (a.atMs >= durationMs) {
      io.stderr(
        `downtime: warning: action "${a.name}" at ${formatDuration(a.atMs)} is not before the end of the run (${formatDuration(durationMs)}); it will not run\n`,
      );
    }
  }
  // An in-place upgrade still offline when the run ends measures no recovery: worth a word before it starts.
  for (const a of actions) {
    if (a.kind === 'step' && a.step.name === 'in-place-upgrade' && a.atMs + a.step.options.offlineMs >= durationMs) {
      io.stderr(
        `downtime: warning: step "${a.name}" at ${formatDuration(a.atMs)} stays offline ${formatDuration(a.step.options.offlineMs)}, past the end of the run (${formatDuration(durationMs)}); the recovery will not be measured\n`,
      );
    }
  }
  const connections = args.connection !== undefined ? connectionModels(args.connection) : s.load.connections;
  passwordFlags(args);
  const scenarioTls = s.db.kind === 'target' ? s.db.tls : undefined;
  const tls = runTls(args, args.target !== undefined && args.target !== '' ? undefined : scenarioTls, io);
  const scenarioCommand = s.db.kind === 'target' && s.db.password?.from === 'command' ? s.db.password : undefined;
  if (args.passwordRefresh !== undefined && args.passwordCommand === undefined && scenarioCommand === undefined) {
    throw new DowntimeError(
      "--password-refresh applies only to --password-command or the scenario's password.command",
      ExitCode.Usage,
    );
  }
  let passwordRefresh: RunOptions['passwordRefresh'];
  // Last: a password command runs only once everything else is known to be good.
  let db: RunDb;
  if (args.target !== undefined && args.target !== '') {
    const steps = s.actions.filter((a) => a.kind === 'step');
    if (steps.length > 0) {
      throw new DowntimeError(
        `--target replaces the scenario's database, but ${s.source} has sandbox steps (${steps.map((a) => a.name).join(', ')}), which need its sandbox; drop --target, or use run: actions`,
        ExitCode.Usage,
      );
    }
    const { target, urlPassword } = targetFlag(args.target);
    const flagged = await flagPassword(args, io, undefined);
    passwordRefresh = flagged?.refresh;
    const creds = flagged ?? resolveCredentials({ passwordFile: args.passwordFile, urlPassword, env: io.env });
    db = { kind: 'target', target, password: creds.password, passwordSource: creds.source };
  } else if (s.db.kind === 'target') {
    const { target, urlPassword } = parseTargetUrl(s.db.url);
    let creds: { password: string | undefined; source: string };
    const flagged = await flagPassword(args, io, args.passwordFile === undefined ? scenarioCommand : undefined);
    if (flagged !== undefined) {
      creds = flagged;
      passwordRefresh = flagged.refresh;
    } else if (args.passwordFile !== undefined || s.db.password === undefined) {
      creds = resolveCredentials({ passwordFile: args.passwordFile, urlPassword, env: io.env });
    } else {
      const r = await resolveScenarioPassword(s.db.password, io);
      creds = { password: r.password, source: r.source };
    }
    db = { kind: 'target', target, password: creds.password, passwordSource: creds.source };
  } else {
    db = { kind: 'sandbox', sandbox: s.db.sandbox };
  }

  if (actions.some((a) => a.kind === 'step') && db.kind !== 'sandbox') {
    // The parser refuses steps with target:; only reachable through overrides, which are checked above.
    throw new DowntimeError(`${s.source}: sandbox steps need sandbox:`, ExitCode.Usage);
  }

  const plan: RunPlan = {
    options: {
      label: args.label ?? s.name,
      rates,
      durationMs,
      workers: workerCount(args.workers ?? s.load.workers ?? availableParallelism()),
      connection: connections[0] as ConnectionModel,
      timeoutMs,
      connectTimeoutMs,
      maxInFlight: args.maxInFlight !== undefined ? maxInFlight(args.maxInFlight) : s.load.maxInFlight,
      table: args.table !== undefined ? validateTableName(args.table) : s.load.table,
      readSql: args.readSql ?? s.load.readSql,
      writeSql: args.writeSql ?? s.load.writeSql,
      out: resolve(io.cwd, outputs.resultsPath),
      overwrite: args.force ?? false,
      progress: args.progress ?? true,
      verify: args.verify ?? true,
      keep: args.keep ?? false,
      poolSize: poolSize(args.poolSize),
      tls,
      ...(passwordRefresh !== undefined ? { passwordRefresh } : {}),
      green: greenFlag(args.greenTarget ?? (s.db.kind === 'target' ? s.db.green : undefined)),
      ...dnsServerOption(args.dnsServer !== undefined ? parseDnsServer(args.dnsServer) : s.load.dnsServer),
      scenario: {
        ...redactScenario(s),
        // Which scenario values the command line replaced (names only: values may hold secrets).
        ...(overridden.length > 0 ? { overriddenBy: overridden.map(flagName) } : {}),
      },
    },
    db,
    actions,
    thresholds: [...s.thresholds, ...thresholds],
    report: { enabled: args.report ?? s.report.enabled, dir: resolve(io.cwd, outputs.reportDir) },
    scenario: s,
    connections,
  };
  // Only once everything is known to be good: bad input creates nothing.
  if (args.out === undefined && s.out === undefined) makeDefaultDir(resolve(io.cwd, outputs.resultsPath));
  return plan;
}

/** Flags that replace a scenario's value when given. */
const RUN_OVERRIDABLE = [
  'target',
  'reads',
  'writes',
  'duration',
  'out',
  'workers',
  'connection',
  'timeout',
  'connectTimeout',
  'dnsServer',
  'maxInFlight',
  'table',
  'readSql',
  'writeSql',
  'passwordFile',
  'passwordCommand',
  'passwordRefresh',
  'passwordPrompt',
  'sslMode',
  'sslCa',
  'label',
  'report',
] as const satisfies readonly (keyof RunArgs)[];

function dnsServerOption(server: string | undefined): { dnsServer?: string } {
  return server !== undefined ? { dnsServer: server } : {};
}

/**
 * The password from --password-command or --password-prompt, or from the scenario's password.command
 * (whose refresh --password-refresh may replace); undefined: the usual sources apply.
 */
async function flagPassword(
  args: RunArgs,
  io: Io,
  scenarioCommand: { command: string; refreshMs?: number } | undefined,
): Promise<{ password: string; source: string; refresh?: RunOptions['passwordRefresh'] } | undefined> {
  const kind = passwordFlags(args);
  if (kind === 'command' && args.passwordCommand !== undefined) {
    return passwordFromCommand(args.passwordCommand, refreshMs(args.passwordRefresh), io);
  }
  if (kind === 'prompt') {
    return { password: await promptPassword(io, 'Password (not shown): '), source: 'prompt' };
  }
  if (kind === undefined && scenarioCommand !== undefined) {
    const every = args.passwordRefresh !== undefined ? refreshMs(args.passwordRefresh) : scenarioCommand.refreshMs;
    return passwordFromCommand(scenarioCommand.command, every ?? refreshMs(undefined), io, 'password.command');
  }
  return undefined;
}

function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** One client model of a side-by-side run. */
export interface SideBySideMember {
  model: ConnectionModel;
  result: RunResult;
  /** Its own report's folder (under the run's report folder, named after the model). */
  reportDir: string;
}

/** What a run leaves for the caller: the result, and the report and thresholds still to do. */
export interface RunOutcome {
  /** The run's result; side by side, the first model's. */
  result: RunResult;
  /** Side by side (--connection pool,per-probe): every model's result, the first being `result`. */
  members?: SideBySideMember[];
  thresholds: string[];
  report: { enabled: boolean; dir: string };
}

export interface RunDeps {
  /** Starts the scenario's sandbox (tests may give a fake one). */
  sandbox?: SandboxProvider;
}

/**
 * Runs a plan: starts the sandbox if the scenario has one, turns actions into RunActions, measures,
 * and lets go of the sandbox afterwards, whatever happened.
 */
export async function executeRun(plan: RunPlan, io: Io, deps: RunDeps = {}): Promise<RunOutcome> {
  let session: SandboxSession | undefined;
  let db: Extract<RunDb, { kind: 'target' }>;
  // Every output is checked before a server is started or connected to: a report folder that cannot be made
  // would otherwise only fail once the whole run is over.
  for (const out of plannedOutputs(plan)) assertWritableOutput(out, plan.options.overwrite);
  if (plan.report.enabled) {
    assertCanMakeDir(plan.report.dir, 'choose another report folder (report.out in the scenario) or pass --no-report');
  }
  const relay = new EventRelay();
  if (plan.db.kind === 'sandbox') {
    const provider =
      deps.sandbox ?? sandboxProvider({ stateDir: defaultStateDir(io.cwd), say: (line) => io.stderr(line) });
    const steps = plan.actions.flatMap((a) => (a.kind === 'step' ? [a.step.name] : []));
    // Ctrl-C while servers start must not leave them (and their temp directory) behind: held until
    // the sandbox is up, then it is stopped again.
    let interrupted: string | undefined;
    const unregister = io.onSignal((signal) => {
      interrupted ??= signal;
      io.stderr(`downtime: ${signal}: stopping once the sandbox has started\n`);
    });
    try {
      session = await provider(plan.db.sandbox, relay, steps);
    } finally {
      unregister();
    }
    if (interrupted !== undefined) {
      await releaseHoldingSignals(session, io);
      throw new DowntimeError(
        `${interrupted} while the sandbox was starting: nothing was measured`,
        ExitCode.Interrupted,
      );
    }
    db = { kind: 'target', target: session.target, password: session.password, passwordSource: 'sandbox' };
    if (plan.options.progress) io.stderr(`downtime: ${session.description}\n`);
  } else {
    db = plan.db;
  }
  try {
    const steps = session === undefined ? undefined : relayingRunner(session.steps, relay);
    // Tokens fetched during the run (--password-command) are scrubbed from shell action output too.
    const refreshed = new Set<string>();
    const laterPasswords = (): Iterable<string> => refreshed;
    const refresh = plan.options.passwordRefresh;
    const passwordRefresh =
      refresh === undefined
        ? undefined
        : {
            everyMs: refresh.everyMs,
            fetch: async (): Promise<string> => {
              const pw = await refresh.fetch();
              refreshed.add(pw);
              return pw;
            },
          };
    const actions: RunAction[] = plan.actions.map((a) => {
      if (a.kind === 'run') {
        return shellAction(a, { env: io.env, cwd: io.cwd, now: io.now, password: db.password, laterPasswords });
      }
      if (steps === undefined) {
        throw new DowntimeError(`action "${a.name}" is a sandbox step, but this run has no sandbox`, ExitCode.Sandbox);
      }
      return stepAction(a, steps);
    });
    const options: RunOptions = {
      ...plan.options,
      target: db.target,
      password: db.password,
      passwordSource: db.passwordSource,
      actions,
      passwordRefresh,
      // Replication lag: the green the user named, else the sandbox's (while it replicates from blue).
      green: plan.options.green ?? session?.green,
      // A dns-mode sandbox's endpoint is a name served by its own DNS server.
      ...(plan.options.dnsServer === undefined && session?.dnsServer !== undefined
        ? { dnsServer: session.dnsServer }
        : {}),
    };
    if (plan.connections.length < 2) {
      const result = await runMeasurement(options, io);
      return { result, thresholds: plan.thresholds, report: plan.report };
    }
    const members = await runSideBySide(options, plan.connections, plan.report.dir, io);
    return {
      result: (members[0] as SideBySideMember).result,
      members,
      thresholds: plan.thresholds,
      report: plan.report,
    };
  } finally {
    if (session !== undefined) await releaseHoldingSignals(session, io);
  }
}

/** `reports/x.ndjson` → `reports/x.pool.ndjson`: each model of a side-by-side run has its own results file. */
export function sideBySidePath(out: string, model: ConnectionModel): string {
  const ext = extname(out);
  return ext === '' ? `${out}.${model}` : `${out.slice(0, -ext.length)}.${model}${ext}`;
}

/** The results files a plan writes: one, or one per client model side by side. */
export function plannedOutputs(plan: Pick<RunPlan, 'options' | 'connections'>): string[] {
  return plan.connections.length < 2
    ? [plan.options.out]
    : plan.connections.map((m) => sideBySidePath(plan.options.out, m));
}

/**
 * Two client models measured side by side in one run: each has its own workers, results file and report; they
 * start on the same second; the actions (and RDS phase polling, and the heartbeat) run once, in the first, and
 * their events are written into every file, so both models are measured against the very same outage.
 */
async function runSideBySide(
  options: RunOptions,
  models: readonly ConnectionModel[],
  reportDir: string,
  io: Io,
): Promise<SideBySideMember[]> {
  const group = new SideBySide(models);
  const settled = await Promise.allSettled(
    models.map((model, index) =>
      runMeasurement(
        {
          ...options,
          connection: model,
          label: `${options.label} (${model})`,
          out: sideBySidePath(options.out, model),
          actions: index === 0 ? options.actions : [],
          pollTopology: index === 0 ? options.pollTopology : false,
          green: index === 0 ? options.green : undefined,
          sideBySide: { group, index },
        },
        io,
      ).catch((err: unknown) => {
        group.fail(err);
        throw err;
      }),
    ),
  );
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  // The member that failed first says why; the others only say that they were stopped by it.
  const cause = failures.find((e) => !(e instanceof Error && e.message.startsWith('the side-by-side run')));
  if (failures.length > 0) throw cause ?? failures[0];
  return settled.map((r, i) => ({
    model: models[i] as ConnectionModel,
    result: (r as PromiseFulfilledResult<RunResult>).value,
    reportDir: join(reportDir, models[i] as ConnectionModel),
  }));
}

/** Stops (or lets go of) the sandbox; Ctrl-C meanwhile is noted, not fatal, so no server is left behind. */
async function releaseHoldingSignals(session: SandboxSession, io: Io): Promise<void> {
  const unregister = io.onSignal((signal) => io.stderr(`downtime: ${signal}: stopping the sandbox first\n`));
  try {
    await session.release();
  } finally {
    unregister();
  }
}

export function runFlags<T>(y: Argv<T>) {
  // No yargs defaults here (defaultDescription only): an option left out must stay undefined, so that
  // a scenario's value is not replaced by a default nobody typed.
  return y
    .option('target', {
      type: 'string',
      describe:
        'mysql://USER@HOST:PORT/DATABASE, no password in it (MYSQL_PWD, --password-file, --password-command or --password-prompt)',
    })
    .option('reads', { type: 'number', defaultDescription: '100', describe: 'read probes per second' })
    .option('writes', { type: 'number', defaultDescription: '50', describe: 'write probes per second' })
    .option('duration', {
      type: 'string',
      defaultDescription: '60s',
      describe: 'how long to measure (e.g. 90s, 5m, 1h)',
    })
    .option('out', { type: 'string', describe: 'results file (default reports/run-<time>.ndjson)' })
    .option('force', { type: 'boolean', defaultDescription: 'false', describe: 'overwrite --out if it exists' })
    .option('workers', { type: 'number', describe: 'worker threads (default: CPU count)' })
    .option('connection', {
      type: 'string',
      defaultDescription: 'pool',
      choices: ['pool', 'per-probe', 'pool,per-probe', 'per-probe,pool'],
      describe:
        'pool: persistent connections like an app; per-probe: a new connection per probe; pool,per-probe: both side by side (one results file each, same start and actions)',
    })
    .option('timeout', {
      type: 'string',
      defaultDescription: '2s',
      describe: 'a probe slower than this (from its intended time) failed',
    })
    .option('connect-timeout', { type: 'string', describe: 'bound on connecting (default: --timeout)' })
    .option('dns-server', {
      type: 'string',
      describe:
        "resolve the target's host through this DNS server (IPv4[:port]) for every new connection, answers cached for their TTL (default: the system resolver)",
    })
    .option('max-in-flight', {
      type: 'number',
      defaultDescription: '256',
      describe: 'cap on probes in flight per op; a due probe beyond it is recorded as dropped',
    })
    .option('table', {
      type: 'string',
      defaultDescription: 'downtime_probe',
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
    .option('password-command', {
      type: 'string',
      describe: 'run this command for the password (stdout, trimmed), e.g. aws rds generate-db-auth-token …',
    })
    .option('password-refresh', {
      type: 'string',
      defaultDescription: '10m',
      describe: 'with --password-command: re-run it this often; new connections use the newest token',
    })
    .option('password-prompt', { type: 'boolean', describe: 'ask for the password on the terminal (not echoed)' })
    .option('ssl-mode', {
      type: 'string',
      defaultDescription: 'preferred (verify-ca with --ssl-ca)',
      choices: ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'],
      describe: "TLS to the target, as the mysql client's --ssl-mode",
    })
    .option('ssl-ca', {
      type: 'string',
      describe: 'PEM CA bundle to verify the server with (e.g. RDS global-bundle.pem)',
    })
    .option('label', { type: 'string', describe: 'a name for this run, shown in reports (default: the scenario name)' })
    .option('threshold', {
      type: 'string',
      array: true,
      describe: 'pass/fail check, e.g. "write_downtime<30s"; repeatable; added to the scenario\'s',
    })
    .option('progress', {
      type: 'boolean',
      defaultDescription: 'true',
      describe: 'one line per second on stderr (--no-progress to hide)',
    })
    .option('report', {
      type: 'boolean',
      defaultDescription: 'true',
      describe: 'render the report at the end (--no-report to skip)',
    })
    .option('pool-size', {
      type: 'number',
      defaultDescription: '10',
      describe: 'pool model: connections per op per worker; a probe finding all busy waits (counted as latency)',
    })
    .option('verify', {
      type: 'boolean',
      defaultDescription: 'true',
      describe: 'afterwards, look up every acknowledged write on the endpoint (--no-verify to skip)',
    })
    .option('keep', {
      type: 'boolean',
      defaultDescription: 'false',
      describe: "keep the run's rows in the probe table (default: deleted after verification)",
    })
    .option('green-target', {
      type: 'string',
      describe:
        'mysql://USER@HOST:PORT/DATABASE of green (the replica), read with the --target credentials: replication lag is measured (heartbeat written through --target, read on green every 100 ms)',
    });
}

export function exitCodeOf(result: RunResult): number {
  if (result.abandoned) return ExitCode.Interrupted;
  if (result.trailer.reason === 'error') return ExitCode.Internal;
  return ExitCode.Ok;
}

/**
 * After the measurement: render the report (unless --no-report) and evaluate thresholds (the given ones,
 * plus lost_writes==0 when writes were verified). Returns the exit code: 130 for an abandoned run (no
 * report), 1 if the run stopped on an error, 99 if a threshold failed, else 0.
 */
export async function finishRun(outcome: RunOutcome, io: Io): Promise<number> {
  if (outcome.members !== undefined) return finishSideBySide(outcome, outcome.members, io);
  const { result } = outcome;
  io.stdout(`${result.path}\n`);
  if (result.abandoned) return ExitCode.Interrupted;
  if (!isRegularFile(result.path)) {
    // --out /dev/null: the results went nowhere, so there is nothing to report or judge.
    io.stderr(`downtime: the results went to ${result.path}, not a file: no report, no thresholds\n`);
    return exitCodeOf(result);
  }
  const failed = await reportAndCheck(result, outcome.report.enabled, outcome.report.dir, outcome.thresholds, io, '');
  if (exitCodeOf(result) !== ExitCode.Ok) return exitCodeOf(result);
  if (failed.length > 0) {
    io.stderr(`downtime: ${failed.length} threshold(s) failed: ${failed.map((t) => t.expr).join(', ')}\n`);
    return ExitCode.ThresholdsFailed;
  }
  return ExitCode.Ok;
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Renders one result's report (or only analyses it) and evaluates the thresholds; returns the failed ones. */
async function reportAndCheck(
  result: RunResult,
  render: boolean,
  dir: string,
  expressions: string[],
  io: Io,
  prefix: string,
): Promise<ThresholdResult[]> {
  const thresholds = expressions.map(parseThreshold);
  let thresholdResults: ThresholdResult[];
  if (render) {
    const rendered = await renderReport(readResults(result.path), dir, { thresholds });
    thresholdResults = rendered.thresholdResults;
    io.stdout(formatSummaryTable(rendered.summary) + '\n');
    io.stdout(rendered.files.map((f) => `${f}\n`).join(''));
  } else {
    const summary = analyze(readResults(result.path));
    thresholdResults = evaluateThresholds(summary, thresholdsFor(summary, thresholds));
  }
  if (thresholdResults.length > 0) {
    io.stdout(`${prefix}thresholds:\n` + thresholdResults.map((t) => `  ${t.message}\n`).join(''));
  }
  return thresholdResults.filter((t) => !t.ok);
}

/**
 * Side by side: every model's report in its own folder, a comparison of them (compare/), and the thresholds
 * evaluated for each model: one failing for either fails the run.
 */
async function finishSideBySide(outcome: RunOutcome, members: SideBySideMember[], io: Io): Promise<number> {
  for (const m of members) io.stdout(`${m.result.path}\n`);
  if (members.some((m) => m.result.abandoned)) return ExitCode.Interrupted;
  const failed: string[] = [];
  for (const m of members) {
    io.stdout(`\n${m.model}:\n`);
    const f = await reportAndCheck(
      m.result,
      outcome.report.enabled,
      m.reportDir,
      outcome.thresholds,
      io,
      `${m.model} `,
    );
    failed.push(...f.map((t) => `${t.expr} (${m.model})`));
  }
  if (outcome.report.enabled) {
    const { files, summaries } = await renderCompare(
      members.map((m) => readResults(m.result.path)),
      join(outcome.report.dir, 'compare'),
    );
    io.stdout('\n' + formatCompareTable(summaries) + '\n' + files.map((f) => `${f}\n`).join(''));
  }
  const error = members.map((m) => exitCodeOf(m.result)).find((c) => c !== ExitCode.Ok);
  if (error !== undefined) return error;
  if (failed.length > 0) {
    io.stderr(`downtime: ${failed.length} threshold(s) failed: ${failed.join(', ')}\n`);
    return ExitCode.ThresholdsFailed;
  }
  return ExitCode.Ok;
}

/** Core of `downtime run`: flags (and scenario) → plan → measurement. */
export async function runFromArgs(args: RunArgs, io: Io, deps: RunDeps = {}): Promise<RunOutcome> {
  const plan = await planRun(args, io);
  return executeRun(plan, io, deps);
}

export const runCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'run [scenario]',
  describe: 'probe a database at a constant rate and record every second into a results file',
  builder: (y: Argv) =>
    runFlags(
      y.positional('scenario', {
        type: 'string',
        describe: 'scenario file (.yaml/.json); flags given on the command line override its values',
      }),
    )
      .example(
        'MYSQL_PWD=… $0 run --target mysql://app@db.example:3306/probe --reads 200 --writes 50 --duration 5m --out reports/bg.ndjson',
        'five minutes of probes against db.example',
      )
      .example('$0 run scenarios/local-blue-green.yaml', 'rehearse a blue/green switchover on a local sandbox')
      .example(
        '$0 run scenarios/local-blue-green.yaml --duration 30s --out /tmp/try.ndjson',
        'a quick rehearsal: flags override the scenario',
      ) as Argv<never>,
  handler: async (argv: unknown) => {
    const outcome = await runFromArgs(argv as RunArgs, ctx.io);
    ctx.exitCode = await finishRun(outcome, ctx.io);
  },
});
