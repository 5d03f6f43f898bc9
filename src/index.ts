/**
 * downtime as a library: measure downtime from a test suite, against local servers the test starts.
 *
 *   import { measure } from 'downtime';
 *   const r = await measure({ name: 'bg', sandbox: 'blue-green', duration: '20s',
 *     load: { reads: 100, writes: 50 }, actions: [{ at: '5s', step: 'switchover' }] });
 *   assert.ok(r.downtimeMs.write! < 5000);
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionOf } from './actions/sandbox.js';
import type { SandboxProvider } from './actions/steps.js';
import { analyze, type Outage, type Summary } from './analyze/index.js';
import { evaluateThresholds, parseThreshold, type ThresholdResult } from './analyze/thresholds.js';
import { executeRun, planRun, type RunArgs } from './commands/run.js';
import { bufferIo, type Io } from './io.js';
import { readResults } from './results/reader.js';
import { renderReport, thresholdsFor } from './report/index.js';
import type { Sandbox } from './sandbox/index.js';
import type { ConnectionModel } from './results/types.js';

export { analyze, analyzeDetailed } from './analyze/index.js';
export type { Summary, Outage, OpSummary, OutageOp } from './analyze/index.js';
export { parseThreshold, evaluateThresholds } from './analyze/thresholds.js';
export type { Threshold, ThresholdResult } from './analyze/thresholds.js';
export { renderReport, renderCompare, formatSummaryTable, formatCompareTable } from './report/index.js';
export { readResults, parseResults } from './results/reader.js';
export type * from './results/types.js';
export { runMeasurement } from './load/run.js';
export type { RunOptions, RunResult, RunAction, ActionContext } from './load/run.js';
export { startSandbox } from './sandbox/index.js';
export type { Sandbox, StartSandboxOptions, SwitchoverOptions, UpgradeOptions, Topology } from './sandbox/index.js';
export { connectSandbox } from './sandbox/index.js';
export { startServer, freePort } from './sandbox/index.js';
export type { MysqlServer, ServerOptions } from './sandbox/index.js';
export { startProxy } from './sandbox/index.js';
export { loadScenario, parseScenarioText, scenarioSchema } from './scenario/index.js';
export type { ParsedScenario } from './scenario/index.js';
export { DowntimeError, ExitCode } from './errors.js';
export { bufferIo, processIo, type Io } from './io.js';

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
  /**
   * Side by side (`load.connection: "pool,per-probe"`): each client model's own measurement, keyed by model.
   * The fields above are the first model's, except `passed`: every model's thresholds held.
   */
  models?: Partial<Record<ConnectionModel, Measurement>>;
}

/**
 * Runs a scenario (a file path, or the same structure as an object) and returns what the report would
 * say. Bad scenarios throw a DowntimeError listing every problem.
 */
export async function measure(
  scenario: string | Record<string, unknown>,
  opts: MeasureOptions = {},
): Promise<Measurement> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'downtime-measure-'));
  mkdirSync(dir, { recursive: true });
  let file: string;
  if (typeof scenario === 'string') file = scenario;
  else {
    file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify(scenario, null, 2));
  }
  const base = opts.io ?? bufferIo({ ...process.env });
  const io = opts.password === undefined ? base : { ...base, env: { ...base.env, MYSQL_PWD: opts.password } };
  const args: RunArgs = {
    progress: false,
    out: join(dir, 'results.ndjson'),
    force: true,
    ...opts.overrides,
    scenario: file,
  };
  const plan = await planRun(args, io);
  const given = opts.sandbox;
  const sandbox: SandboxProvider | undefined =
    given === undefined
      ? undefined
      : async () => sessionOf(given, `given ${given.topology} sandbox`, async () => undefined);
  const outcome = await executeRun(plan, io, sandbox === undefined ? {} : { sandbox });
  if (outcome.members === undefined) {
    return measurementOf(outcome.result.path, outcome.thresholds, opts.report ? join(dir, 'report') : undefined);
  }
  const models: Partial<Record<ConnectionModel, Measurement>> = {};
  for (const m of outcome.members) {
    models[m.model] = await measurementOf(
      m.result.path,
      outcome.thresholds,
      opts.report ? join(dir, 'report', m.model) : undefined,
    );
  }
  const first = models[outcome.members[0]?.model ?? 'pool'] as Measurement;
  // Passed only if every model's thresholds held.
  return { ...first, passed: Object.values(models).every((m) => m.passed), models };
}

/** What a results file says: summary, downtime, thresholds; the report rendered into `reportDir` if given. */
async function measurementOf(path: string, expressions: string[], reportDir: string | undefined): Promise<Measurement> {
  const results = readResults(path);
  const thresholds = expressions.map(parseThreshold);
  let summary: Summary;
  let thresholdResults: ThresholdResult[];
  let reportFiles: string[] = [];
  if (reportDir !== undefined) {
    const r = await renderReport(results, reportDir, { thresholds });
    summary = r.summary;
    thresholdResults = r.thresholdResults;
    reportFiles = r.files;
  } else {
    summary = analyze(results);
    thresholdResults = evaluateThresholds(summary, thresholdsFor(summary, thresholds));
  }
  return {
    resultsPath: path,
    summary,
    downtimeMs: summary.downtimeMs,
    outages: summary.outages,
    writes: summary.writes,
    thresholds: thresholdResults,
    passed: thresholdResults.every((t) => t.ok),
    reportFiles,
  };
}
