import { extname, isAbsolute, resolve } from 'node:path';
import { validateThreshold } from '../analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import type { RunAction, RunOptions } from '../load/options.js';
import { parseDnsServer } from '../load/resolve.js';
import type { Target } from '../load/target.js';
import { resolveCredentials } from '../scenario/password.js';
import {
  checkConnection,
  checkMaxInFlight,
  checkPoolSize,
  checkRate,
  checkRunDuration,
  checkServerSource,
  checkTable,
  checkTimeout,
  checkWorkers,
  must,
} from '../scenario/rules.js';
import { parseTargetUrl, targetFromFlag } from '../scenario/target-url.js';
import type { ConnectionModel } from '../results/types.js';
import { loadScenario, parseScenarioValue } from '../scenario/parse.js';
import { reportDirFor, scenarioOutputs } from '../scenario/outputs.js';
import { resolveScenarioPassword } from '../scenario/password.js';
import { redactScenario } from '../scenario/redact.js';
import { type ParsedScenario, type SandboxKind, type ScenarioAction } from '../scenario/types.js';
import { formatDuration } from '../util/duration.js';
import {
  RUN_DEFAULTS,
  defaultWorkers,
  isThisMachine,
  RUN_OVERRIDABLE,
  checkRates,
  dnsServerOption,
  flagName,
  greenFlag,
  makeDefaultDir,
  metricsFlags,
  parseRunArgs,
  slowFlag,
  thresholdFlags,
  type RunArgs,
} from './args.js';
import { passwordFlags, passwordFromCommand, promptPassword, refreshMs, runTls } from './credentials.js';
import {
  endpointArgs,
  memberName,
  withRates,
  type EndpointSpec,
  type MemberKey,
  type PendingEndpoint,
  type RawEndpointArgs,
} from './endpoints.js';

export type { RunArgs } from './args.js';
export { parseRunArgs } from './args.js';

/** Where the probes go: known at once for a target, once the sandbox is up for a sandbox. */
export type RunDb =
  | { kind: 'target'; target: Target; password: string | undefined; passwordSource: string }
  | {
      kind: 'sandbox';
      sandbox: SandboxKind;
      /** The servers (an image, a server directory, or PATH): from the scenario, or --from/--to. */
      from?: string;
      to?: string;
      /** How messages name them: `sandbox.from` of the scenario, or the flags. */
      names?: { from: string; to: string };
    };

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
  /** Named endpoints (`--target NAME=…`), each measured with every model, side by side; undefined: one target. */
  endpoints?: EndpointSpec[];
  /** Actions given as functions (measure()), run beside the scenario's. */
  functionActions?: RunAction[]; /** Live metrics for Prometheus (`--metrics-port`): where to serve them. */
  metrics?: { host: string; port: number };
}

/**
 * Flags (and the scenario file, if any) → a run plan. Precedence: a flag given on the command line, then
 * the scenario's value, then the default. --threshold adds to the scenario's thresholds.
 */
export async function planRun(raw: RawRunArgs, io: Io, given?: GivenScenario): Promise<RunPlan> {
  const thresholds = thresholdFlags(raw.threshold);
  const metrics = metricsFlags(raw);
  const withMetrics = (plan: RunPlan): RunPlan => (metrics === undefined ? plan : { ...plan, metrics });
  if (raw.scenario === undefined && given === undefined) {
    const { args, endpoints } = endpointArgs(raw, false);
    return withMetrics(withEndpoints(await planFromFlags(args, io, thresholds), endpoints));
  }
  const s =
    given !== undefined
      ? parseScenarioValue(given.value, { source: given.source, validateThreshold })
      : loadScenario(scenarioPath(raw.scenario as string, io), { validateThreshold });
  const { args, endpoints } = endpointArgs(raw, s.db.kind === 'sandbox', s.targets);
  return withMetrics(withEndpoints(await planFromScenario(s, args, io, thresholds), endpoints));
}

/** `downtime run`'s flags as given: `--target` may repeat and `--reads`/`--writes` may name an endpoint. */
export type RawRunArgs = Omit<RunArgs, keyof RawEndpointArgs> & RawEndpointArgs;

/** The plan with its endpoints, each with its rates (its own, else the run's). */
function withEndpoints(plan: RunPlan, pending: PendingEndpoint[] | undefined): RunPlan {
  if (pending === undefined) return plan;
  return { ...plan, endpoints: withRates(pending, plan.options.rates) };
}

/** A run from flags alone (--target and friends). */
async function planFromFlags(args: RunArgs, io: Io, thresholds: string[]): Promise<RunPlan> {
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
    report: { enabled: args.report ?? true, dir: reportDirFor(options.out) },
    scenario: undefined,
    connections: must(checkConnection(args.connection ?? RUN_DEFAULTS.connection, '--connection')),
  };
}

/** A run of a scenario, with the flags given on the command line replacing its values. */
async function planFromScenario(s: ParsedScenario, args: RunArgs, io: Io, thresholds: string[]): Promise<RunPlan> {
  const overridden = RUN_OVERRIDABLE.filter((flag) => args[flag] !== undefined);
  const rates = checkRates({
    read: args.reads !== undefined ? must(checkRate(args.reads, '--reads')) : s.load.readsPerSec,
    write: args.writes !== undefined ? must(checkRate(args.writes, '--writes')) : s.load.writesPerSec,
  });
  const durationMs = args.duration !== undefined ? must(checkRunDuration(args.duration, '--duration')) : s.durationMs;
  const timeoutMs = args.timeout !== undefined ? must(checkTimeout(args.timeout, '--timeout')) : s.load.timeoutMs;
  const connectTimeoutMs =
    args.connectTimeout !== undefined
      ? must(checkTimeout(args.connectTimeout, '--connect-timeout'))
      : s.load.connectTimeoutMs;
  const outputs = scenarioOutputs({ ...s, out: args.out ?? s.out }, io.now());
  const actions = actionsWithin(s, durationMs, io);
  const connections =
    args.connection !== undefined ? must(checkConnection(args.connection, '--connection')) : s.load.connections;
  passwordFlags(args);
  const scenarioTls = s.db.kind === 'target' ? s.db.tls : undefined;
  const tls = runTls(args, args.target !== undefined && args.target !== '' ? undefined : scenarioTls, io);
  const { db, passwordRefresh } = await scenarioDb(s, args, io);
  const plan: RunPlan = {
    options: {
      label: args.label ?? s.name,
      rates,
      durationMs,
      workers: must(
        checkWorkers(
          args.workers ??
            s.load.workers ??
            defaultWorkers(rates, connections, {
              serverHere: db.kind === 'sandbox' || isThisMachine(db.target.host),
            }),
          '--workers',
        ),
      ),
      connection: connections[0] as ConnectionModel,
      timeoutMs,
      connectTimeoutMs,
      slowMs: slowFlag(args.slow, timeoutMs, s.load.slowMs),
      maxInFlight:
        args.maxInFlight !== undefined
          ? must(checkMaxInFlight(args.maxInFlight, '--max-in-flight'))
          : s.load.maxInFlight,
      table: args.table !== undefined ? must(checkTable(args.table, '--table')) : s.load.table,
      readSql: args.readSql ?? s.load.readSql,
      writeSql: args.writeSql ?? s.load.writeSql,
      out: resolve(io.cwd, outputs.resultsPath),
      overwrite: args.force ?? false,
      progress: args.progress ?? true,
      verify: args.verify ?? true,
      keep: args.keep ?? false,
      poolSize: args.poolSize === undefined ? undefined : must(checkPoolSize(args.poolSize, '--pool-size')),
      tls,
      ...(passwordRefresh !== undefined ? { passwordRefresh } : {}),
      green: greenFlag(args.greenTarget ?? (s.db.kind === 'target' ? s.db.green : undefined)),
      ...dnsServerOption(args.dnsServer !== undefined ? parseDnsServer(args.dnsServer) : s.load.dnsServer),
      scenario: {
        ...redactScenario(s),
        // Which scenario values the command line (or the environment) replaced (names only: values may hold secrets).
        // A DOWNTIME_* variable is named as such (src/run/env.ts).
        ...(overridden.length > 0 ? { overriddenBy: overridden.map((k) => args.envNames?.[k] ?? flagName(k)) } : {}),
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

/** The scenario's actions that fall inside the run; a shorter --duration (a quick rehearsal) says what it drops. */
function actionsWithin(s: ParsedScenario, durationMs: number, io: Io): ScenarioAction[] {
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
  return actions;
}

/**
 * Where a scenario's probes go, with its credentials: --target (which then replaces the scenario's database),
 * the scenario's target, or its sandbox. A password command runs last, once everything else is known good.
 */
async function scenarioDb(
  s: ParsedScenario,
  args: RunArgs,
  io: Io,
): Promise<{ db: RunDb; passwordRefresh: RunOptions['passwordRefresh'] }> {
  const scenarioCommand = s.db.kind === 'target' && s.db.password?.from === 'command' ? s.db.password : undefined;
  if (args.passwordRefresh !== undefined && args.passwordCommand === undefined && scenarioCommand === undefined) {
    throw new DowntimeError(
      "--password-refresh applies only to --password-command or the scenario's password.command",
      ExitCode.Usage,
    );
  }
  if (s.db.kind === 'target' && (args.from !== undefined || args.to !== undefined)) {
    throw new DowntimeError(
      `--from and --to choose the servers of a sandbox scenario, but ${s.source} measures target: ${s.db.url}`,
      ExitCode.Usage,
    );
  }
  if (args.target !== undefined && args.target !== '') {
    const steps = s.actions.filter((a) => a.kind === 'step');
    if (steps.length > 0) {
      throw new DowntimeError(
        `--target replaces the scenario's database, but ${s.source} has sandbox steps (${steps.map((a) => a.name).join(', ')}), which need its sandbox; drop --target, or use run: actions`,
        ExitCode.Usage,
      );
    }
    const target = targetFromFlag(args.target, '--target');
    const flagged = await flagPassword(args, io, undefined);
    const creds =
      flagged ?? resolveCredentials({ passwordFile: args.passwordFile, urlPassword: undefined, env: io.env });
    return {
      db: { kind: 'target', target, password: creds.password, passwordSource: creds.source },
      passwordRefresh: flagged?.refresh,
    };
  }
  if (s.db.kind === 'sandbox') return { db: sandboxDb(s.db, args), passwordRefresh: undefined };
  const { target, urlPassword } = parseTargetUrl(s.db.url);
  const flagged = await flagPassword(args, io, args.passwordFile === undefined ? scenarioCommand : undefined);
  let creds: { password: string | undefined; source: string };
  if (flagged !== undefined) creds = flagged;
  else if (args.passwordFile !== undefined || s.db.password === undefined) {
    creds = resolveCredentials({ passwordFile: args.passwordFile, urlPassword, env: io.env });
  } else {
    const r = await resolveScenarioPassword(s.db.password, io);
    creds = { password: r.password, source: r.source };
  }
  return {
    db: { kind: 'target', target, password: creds.password, passwordSource: creds.source },
    passwordRefresh: flagged?.refresh,
  };
}

/** A sandbox db: the scenario's servers, with --from / --to replacing them when given. */
function sandboxDb(db: Extract<ParsedScenario['db'], { kind: 'sandbox' }>, args: RunArgs): RunDb {
  const from = args.from !== undefined ? must(checkServerSource(args.from, '--from')) : db.from;
  const to = args.to !== undefined ? must(checkServerSource(args.to, '--to')) : db.to;
  const flags = args.from !== undefined || args.to !== undefined;
  return {
    kind: 'sandbox',
    sandbox: db.sandbox,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    names: flags ? { from: '--from', to: '--to' } : { from: 'sandbox.from', to: 'sandbox.to' },
  };
}

/** A scenario given as a value (the library's measure()), not a file; `source` names it in messages. */
export interface GivenScenario {
  value: unknown;
  source: string;
}

function scenarioPath(file: string, io: Io): string {
  return isAbsolute(file) || io.cwd === process.cwd() ? file : resolve(io.cwd, file);
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

/** `reports/x.ndjson` → `reports/x.pool.ndjson`: each model of a side-by-side run has its own results file. */
export function sideBySidePath(out: string, member: string): string {
  const ext = extname(out);
  return ext === '' ? `${out}.${member}` : `${out.slice(0, -ext.length)}.${member}${ext}`;
}

/** The members of a plan: every endpoint (or the one target) with every client model. */
export function planMembers(plan: Pick<RunPlan, 'connections' | 'endpoints'>): (MemberKey & { name: string })[] {
  const endpoints = plan.endpoints?.map((e) => e.name) ?? [undefined];
  return endpoints.flatMap((endpoint) =>
    plan.connections.map((model) => {
      const key = { endpoint, model };
      return { ...key, name: memberName(key, plan.connections.length) };
    }),
  );
}

/** The results files a plan writes: one, or one per member side by side. */
export function plannedOutputs(plan: Pick<RunPlan, 'options' | 'connections' | 'endpoints'>): string[] {
  const members = planMembers(plan);
  return members.length < 2 ? [plan.options.out] : members.map((m) => sideBySidePath(plan.options.out, m.name));
}
