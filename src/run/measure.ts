/**
 * downtime as a library: measure downtime from a test suite, against local servers the test starts.
 *
 *   import { measure } from 'downtime';
 *   const r = await measure({ name: 'bg', sandbox: 'blue-green', duration: '20s',
 *     load: { reads: 100, writes: 50 }, actions: [{ at: '5s', step: 'switchover' }] });
 *   assert.ok(r.downtimeMs.write! < 5000);
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionOf } from '../actions/sandbox.js';
import type { SandboxProvider } from '../actions/steps.js';
import type { Outage, Summary } from '../analyze/index.js';
import type { ThresholdResult } from '../analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../errors.js';
import { bufferIo, type Io } from '../io.js';
import type { RunAction } from '../load/options.js';
import { parseDuration } from '../util/duration.js';
import type { ConnectionModel } from '../results/types.js';
import type { Sandbox } from '../sandbox/index.js';
import { executeRun } from './execute.js';
import { judgeResults } from './finish.js';
import { planRun, type RunArgs } from './plan.js';

export interface MeasureOptions {
  /** For `sandbox:` scenarios: use this sandbox (left running afterwards) instead of starting a fresh one. */
  sandbox?: Sandbox;
  /** Command-line style overrides of the scenario, e.g. `{ duration: '10s' }`. */
  overrides?: Omit<RunArgs, 'scenario'>;
  /** Password for a `target:` scenario (else MYSQL_PWD or the scenario's password source). */
  password?: string;
  /** Directory for the results file (and the report), made if missing: default a new temporary directory. */
  dir?: string;
  /** Render the report (PNG, HTML, Markdown, JSON, CSV) into `dir`/report. Default false. */
  report?: boolean;
  /** Where progress and warnings go; default: nowhere. */
  io?: Io;
  /**
   * The server to measure, as a test container or a test's own server gives it (Testcontainers' MySqlContainer:
   * getHost(), getPort(), getUsername(), getUserPassword(), getDatabase()). Replaces the scenario's target (a
   * scenario object may then leave `target:` out); the password goes to the connection only.
   */
  connection?: { host: string; port?: number; user: string; password?: string; database: string };
  /**
   * Actions as functions, beside the scenario's: `{at: '5s', run: () => container.restart()}`. Each runs once at
   * its time; its start and end (and an error it throws) are recorded as an action event, like a scenario's.
   */
  actions?: FunctionAction[];
}

/** An action given as a function (measure() only): what a test does to its server at a time of the run. */
export interface FunctionAction {
  /** When, from the start: '5s', '1500ms', or ms as a number. */
  at: string | number;
  /** In the report; default `action N`. */
  name?: string;
  /** Aborted when the run ends: a long action should stop then. */
  run: (ctx: { signal: AbortSignal }) => unknown;
}

export interface Measurement {
  resultsPath: string;
  summary: Summary;
  /** Downtime per op and full (both down), ms; null for an op that was not probed. */
  downtimeMs: Summary['downtimeMs'];
  outages: Outage[];
  /** Write verification, when writes were probed and verified. */
  writes: Summary['writes'];
  /** The scenario's thresholds (plus lost_writes==0 when writes were verified), evaluated. */
  thresholds: ThresholdResult[];
  /** Every threshold held. */
  passed: boolean;
  reportFiles: string[];
  /** Why the report has no charts, when they could not be rendered (its text files were written). */
  chartError?: string;
  /**
   * Side by side (`load.connection: "pool,per-probe"`): each client model's own measurement, keyed by model.
   * The fields above are the first model's, except `passed`: every model's thresholds held.
   */
  models?: Partial<Record<ConnectionModel, Measurement>>;
  /**
   * Side by side (client models, or several endpoints: `targets:`): each member's measurement, keyed by its
   * name (`pool`, `reader`, `reader.pool`); the fields above are the first member's, `passed` every member's.
   */
  members?: Record<string, Measurement>;
}

/**
 * Runs a scenario (a file path, or the same structure as an object) and returns what the report would
 * say. Bad scenarios throw a DowntimeError listing every problem.
 */
export async function measure(
  scenario: string | Record<string, unknown>,
  opts: MeasureOptions = {},
): Promise<Measurement> {
  const conn = opts.connection;
  const password = conn?.password ?? opts.password;
  const target = conn === undefined ? undefined : connectionUrl(conn);
  const functionActions = (opts.actions ?? []).map(functionAction);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'downtime-measure-'));
  mkdirSync(dir, { recursive: true });
  const base = opts.io ?? bufferIo({ ...process.env });
  const io = password === undefined ? base : { ...base, env: { ...base.env, MYSQL_PWD: password } };
  const args: RunArgs = {
    progress: false,
    out: join(dir, 'results.ndjson'),
    force: true,
    ...opts.overrides,
    ...(target !== undefined ? { target } : {}),
    ...(typeof scenario === 'string' ? { scenario } : {}),
  };
  // An object is parsed as it is (never written to disk and read back); with a connection, it needs no target.
  const value =
    typeof scenario === 'string' || target === undefined || 'target' in scenario || 'sandbox' in scenario
      ? scenario
      : { ...scenario, target };
  const parsed = await planRun(args, io, typeof value === 'string' ? undefined : { value, source: 'measure()' });
  const plan = { ...parsed, functionActions: checkedAt(functionActions, parsed.options.durationMs) };
  const given = opts.sandbox;
  const sandbox: SandboxProvider | undefined =
    given === undefined
      ? undefined
      : async () => sessionOf(given, `given ${given.topology} sandbox`, async () => undefined);
  const outcome = await executeRun(plan, io, sandbox === undefined ? {} : { sandbox });
  if (outcome.members === undefined) {
    return measurementOf(outcome.result.path, outcome.thresholds, opts.report ? join(dir, 'report') : undefined);
  }
  const members: Record<string, Measurement> = {};
  for (const m of outcome.members) {
    members[m.name] = await measurementOf(
      m.result.path,
      outcome.thresholds,
      opts.report ? join(dir, 'report', m.name) : undefined,
    );
  }
  const first = members[outcome.members[0]?.name ?? ''] as Measurement;
  // Passed only if every member's thresholds held.
  const passed = Object.values(members).every((m) => m.passed);
  if (outcome.members.some((m) => m.endpoint !== undefined)) return { ...first, passed, members };
  const models: Partial<Record<ConnectionModel, Measurement>> = {};
  for (const m of outcome.members) models[m.model] = members[m.name];
  return { ...first, passed, models, members };
}

/** mysql://USER@HOST:PORT/DATABASE of a connection object (its password goes elsewhere). */
function connectionUrl(c: NonNullable<MeasureOptions['connection']>): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `mysql://${encodeURIComponent(c.user)}@${host}:${c.port ?? 3306}/${c.database}`;
}

function functionAction(a: FunctionAction, i: number): RunAction {
  const name = a.name ?? `action ${i + 1}`;
  let atMs: number;
  if (typeof a.at === 'number') atMs = a.at;
  else {
    const d = parseDuration(a.at);
    if ('error' in d) throw new DowntimeError(`measure(): actions[${i}].at: ${d.error}`, ExitCode.Usage);
    atMs = d.ms;
  }
  if (!Number.isFinite(atMs) || atMs < 0) {
    throw new DowntimeError(
      `measure(): actions[${i}].at must be a time from the start ≥ 0 (got ${String(a.at)})`,
      ExitCode.Usage,
    );
  }
  if (typeof a.run !== 'function') {
    throw new DowntimeError(`measure(): actions[${i}].run must be a function`, ExitCode.Usage);
  }
  return {
    atMs,
    name,
    execute: async (ctx) => {
      await a.run({ signal: ctx.signal });
    },
  };
}

/** Function actions must fall inside the run: one at or after its end would never run. */
function checkedAt(actions: RunAction[], durationMs: number): RunAction[] {
  for (const a of actions) {
    if (a.atMs >= durationMs) {
      throw new DowntimeError(
        `measure(): action "${a.name}" at ${a.atMs} ms is not before the end of the run (${durationMs} ms); move it earlier or lengthen the run`,
        ExitCode.Usage,
      );
    }
  }
  return actions;
}

/** What a results file says: summary, downtime, thresholds; the report rendered into `reportDir` if given. */
async function measurementOf(path: string, expressions: string[], reportDir: string | undefined): Promise<Measurement> {
  const { summary, thresholdResults, files, chartError } = await judgeResults(path, expressions, reportDir);
  return {
    resultsPath: path,
    summary,
    downtimeMs: summary.downtimeMs,
    outages: summary.outages,
    writes: summary.writes,
    thresholds: thresholdResults,
    passed: thresholdResults.every((t) => t.ok),
    reportFiles: files,
    ...(chartError !== undefined ? { chartError } : {}),
  };
}
