import { statSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, type Summary } from '../analyze/index.js';
import { evaluateThresholds, parseThreshold, type ThresholdResult } from '../analyze/thresholds.js';
import { ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import type { RunResult } from '../load/options.js';
import { readResults } from '../results/reader.js';
import {
  chartWarning,
  formatCompareTable,
  formatSummaryTable,
  renderCompare,
  renderReport,
  summaryJson,
  summaryObject,
  thresholdsFor,
  type PngRenderer,
} from '../report/index.js';
import { executeRun, type RunDeps, type RunOutcome, type SideBySideMember } from './execute.js';
import { planRun, type RawRunArgs } from './plan.js';

function exitCodeOf(result: RunResult): number {
  if (result.abandoned) return ExitCode.Interrupted;
  if (result.trailer.reason === 'error') return ExitCode.Internal;
  return ExitCode.Ok;
}

/**
 * After the measurement: render the report (unless --no-report) and evaluate thresholds (the given ones,
 * plus lost_writes==0 when writes were verified). Returns the exit code: 130 for an abandoned run (no
 * report), 1 if the run stopped on an error, 99 if a threshold failed, else 0.
 */
export async function finishRun(outcome: RunOutcome, io: Io, opts: FinishOptions = {}): Promise<number> {
  if (outcome.members !== undefined) return finishSideBySide(outcome, outcome.members, io, opts);
  const { result } = outcome;
  const say = sayer(io, opts);
  say(`${result.path}\n`);
  if (result.abandoned) return ExitCode.Interrupted;
  if (!isRegularFile(result.path)) {
    // --out /dev/null: the results went nowhere, so there is nothing to report or judge.
    io.stderr(`downtime: the results went to ${result.path}, not a file: no report, no thresholds\n`);
    return exitCodeOf(result);
  }
  const { failed, judged } = await reportAndCheck(
    result,
    outcome.report.enabled,
    outcome.report.dir,
    outcome.thresholds,
    io,
    '',
    opts,
  );
  if (opts.json === true) io.stdout(summaryJson(judged.summary, judged.thresholdResults));
  if (exitCodeOf(result) !== ExitCode.Ok) return exitCodeOf(result);
  if (failed.length > 0) {
    io.stderr(`downtime: ${failed.length} threshold(s) failed: ${failed.map((t) => t.expr).join(', ')}\n`);
    return ExitCode.ThresholdsFailed;
  }
  return ExitCode.Ok;
}

/** How a run finishes: the chart renderer (a test's, to make it fail); `--json`. */
export interface FinishOptions {
  renderPng?: PngRenderer;
  /**
   * `run --json`: stdout carries only the summary (summary.json's object; side by side `{"members": {NAME: …}}`),
   * the lines a person reads (results file, table, report files, thresholds) go to stderr.
   */
  json?: boolean;
}

/** Where the lines a person reads go: stdout, or stderr when --json keeps stdout for the JSON. */
function sayer(io: Io, opts: FinishOptions): (text: string) => void {
  return opts.json === true ? io.stderr : io.stdout;
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A results file judged: what it says, its thresholds evaluated, and the report files when one was rendered. */
export interface Judged {
  summary: Summary;
  thresholdResults: ThresholdResult[];
  /** Report files written (none when no report was asked for). */
  files: string[];
  /** Why the report has no charts, when they could not be rendered (its text files were written). */
  chartError?: string;
}

/**
 * Reads a results file back, renders its report into `reportDir` (when given) and evaluates the thresholds (the
 * given ones, plus the default lost_writes==0 when writes were to be verified): the one finish of a run, for
 * the CLI, the demo and measure().
 */
export async function judgeResults(
  path: string,
  expressions: string[],
  reportDir: string | undefined,
  renderPng?: PngRenderer,
): Promise<Judged> {
  const results = readResults(path);
  const thresholds = expressions.map(parseThreshold);
  if (reportDir !== undefined) {
    return renderReport(results, reportDir, { thresholds, ...(renderPng !== undefined ? { renderPng } : {}) });
  }
  const summary = analyze(results);
  return { summary, thresholdResults: evaluateThresholds(summary, thresholdsFor(summary, thresholds)), files: [] };
}

/** Renders one result's report (or only analyses it) and evaluates the thresholds; returns them, and the failed ones. */
async function reportAndCheck(
  result: RunResult,
  render: boolean,
  dir: string,
  expressions: string[],
  io: Io,
  prefix: string,
  opts: FinishOptions,
): Promise<{ failed: ThresholdResult[]; judged: Judged }> {
  const judged = await judgeResults(result.path, expressions, render ? dir : undefined, opts.renderPng);
  const { summary, thresholdResults, files, chartError } = judged;
  const say = sayer(io, opts);
  if (chartError !== undefined) io.stderr(chartWarning(dir, chartError));
  if (render) {
    // With --json the table is the JSON on stdout; the files are still worth a line.
    if (opts.json !== true) say(formatSummaryTable(summary) + '\n');
    say(files.map((f) => `${f}\n`).join(''));
  }
  if (thresholdResults.length > 0) {
    say(`${prefix}thresholds:\n` + thresholdResults.map((t) => `  ${t.message}\n`).join(''));
  }
  return { failed: thresholdResults.filter((t) => !t.ok), judged };
}

/**
 * Side by side: every member's report in its own folder (a model's, an endpoint's), a comparison of them
 * (compare/), and the thresholds evaluated for each member: one failing for any fails the run.
 */
async function finishSideBySide(
  outcome: RunOutcome,
  members: SideBySideMember[],
  io: Io,
  opts: FinishOptions,
): Promise<number> {
  const say = sayer(io, opts);
  for (const m of members) say(`${m.result.path}\n`);
  if (members.some((m) => m.result.abandoned)) return ExitCode.Interrupted;
  const failed: string[] = [];
  const json: Record<string, ReturnType<typeof summaryObject>> = {};
  for (const m of members) {
    say(`\n${m.name}:\n`);
    const { failed: f, judged } = await reportAndCheck(
      m.result,
      outcome.report.enabled,
      m.reportDir,
      outcome.thresholds,
      io,
      `${m.name} `,
      opts,
    );
    for (const t of f) failed.push(`${t.expr} (${m.name})`);
    json[m.name] = summaryObject(judged.summary, judged.thresholdResults);
  }
  if (outcome.report.enabled) {
    const dir = join(outcome.report.dir, 'compare');
    const { files, summaries, chartError } = await renderCompare(
      members.map((m) => readResults(m.result.path)),
      dir,
      opts.renderPng !== undefined ? { renderPng: opts.renderPng } : {},
    );
    if (chartError !== undefined) io.stderr(chartWarning(dir, chartError));
    say('\n' + (opts.json === true ? '' : formatCompareTable(summaries) + '\n') + files.map((f) => `${f}\n`).join(''));
  }
  if (opts.json === true) io.stdout(JSON.stringify({ members: json }, null, 2) + '\n');
  const error = members.map((m) => exitCodeOf(m.result)).find((c) => c !== ExitCode.Ok);
  if (error !== undefined) return error;
  if (failed.length > 0) {
    io.stderr(`downtime: ${failed.length} threshold(s) failed: ${failed.join(', ')}\n`);
    return ExitCode.ThresholdsFailed;
  }
  return ExitCode.Ok;
}

/** Core of `downtime run`: flags (and scenario) → plan → measurement. */
export async function runFromArgs(args: RawRunArgs, io: Io, deps: RunDeps = {}): Promise<RunOutcome> {
  const plan = await planRun(args, io);
  return executeRun(plan, io, deps);
}
