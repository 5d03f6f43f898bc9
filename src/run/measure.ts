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
import { bufferIo, type Io } from '../io.js';
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
  const base = opts.io ?? bufferIo({ ...process.env });
  const io = opts.password === undefined ? base : { ...base, env: { ...base.env, MYSQL_PWD: opts.password } };
  const args: RunArgs = {
    progress: false,
    out: join(dir, 'results.ndjson'),
    force: true,
    ...opts.overrides,
    ...(typeof scenario === 'string' ? { scenario } : {}),
  };
  // An object is parsed as it is (never written to disk and read back).
  const plan = await planRun(
    args,
    io,
    typeof scenario === 'string' ? undefined : { value: scenario, source: 'measure()' },
  );
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
