import { join, resolve } from 'node:path';
import { analyzeDetailed, type Analysis, type Summary } from '../analyze/index.js';
import { defaultThresholds, evaluateThresholds, type Threshold, type ThresholdResult } from '../analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { ResultsFile } from '../results/types.js';
import { compareChart, downtimeBarChart, lagChart, latencyChart, outcomeChart } from './charts/index.js';
import { writeFilesAtomic } from '../util/fs-atomic.js';
import { renderPng } from './render.js';
import {
  compareHtml,
  compareMarkdown,
  formatCompareTable,
  reportHtml,
  secondsCsv,
  summaryMarkdown,
} from './text/index.js';

export { formatSummaryTable, formatCompareTable, formatAvailability, formatNines } from './text/index.js';
export { outcomeChart, latencyChart, lagChart, compareChart, downtimeBarChart } from './charts/index.js';
export { pngSize } from './render.js';

export interface RenderReportOptions {
  /** Thresholds to evaluate; `lost_writes==0` is added when writes were verified and none names lost_writes. */
  thresholds?: Threshold[];
  /** A latency SLO (ms) replacing the run's own (`--slow`): degraded time is measured against it. */
  slowMs?: number;
}

/** The thresholds that apply: the given ones, plus the default `lost_writes==0` when writes were verified. */
export function thresholdsFor(summary: Summary, given: Threshold[] = []): Threshold[] {
  const defaults = defaultThresholds(summary).filter((d) => !given.some((t) => t.metric === d.metric));
  return [...given, ...defaults];
}

/**
 * Writes files atomically as a set: each to a temporary name, renamed into place only once all were written,
 * so a failure leaves no half-written report. Refuses to touch any input file.
 */
function writeAll(
  outDir: string,
  files: { name: string; data: string | Buffer }[],
  inputs: string[],
  optional: string[] = [],
): string[] {
  const dir = resolve(outDir);
  const inputPaths = new Set(inputs.map((p) => resolve(p)));
  if (inputPaths.has(dir)) {
    throw new DowntimeError(
      `output directory ${outDir} is the results file itself; pass another --out`,
      ExitCode.Output,
    );
  }
  for (const f of files) {
    if (inputPaths.has(join(dir, f.name))) {
      throw new DowntimeError(
        `writing ${join(outDir, f.name)} would overwrite an input file; pass another --out`,
        ExitCode.Output,
      );
    }
  }
  return writeFilesAtomic(dir, files, { hint: 'pass a writable --out', stale: optional });
}

/** Renders report.png, latency.png (lag.png when replication lag was measured), report.html, summary.md, summary.json and seconds.csv into `outDir`. */
export async function renderReport(
  results: ResultsFile,
  outDir: string,
  opts: RenderReportOptions = {},
): Promise<{ summary: Summary; files: string[]; thresholdResults: ThresholdResult[] }> {
  const analysis = analyzeDetailed(results, opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {});
  const summary = analysis.summary;
  const thresholdResults = evaluateThresholds(summary, thresholdsFor(summary, opts.thresholds));
  const report = await renderPng(outcomeChart(analysis));
  const latency = await renderPng(latencyChart(analysis));
  const images = [
    { name: 'report.png', png: report },
    { name: 'latency.png', png: latency },
  ];
  // Replication lag, where it was measured (lag.png).
  if (analysis.lag.length > 0) images.push({ name: 'lag.png', png: await renderPng(lagChart(analysis)) });
  const files = writeAll(
    outDir,
    [
      ...images.map((i) => ({ name: i.name, data: i.png })),
      { name: 'report.html', data: reportHtml(analysis, images, thresholdResults) },
      {
        name: 'summary.md',
        data: summaryMarkdown(
          analysis,
          images.map((i) => i.name),
          thresholdResults,
        ),
      },
      { name: 'summary.json', data: summaryJson(summary, thresholdResults) },
      { name: 'seconds.csv', data: secondsCsv(analysis) },
    ],
    [results.path],
    ['lag.png'],
  );
  return { summary, files, thresholdResults };
}

/** summary.json: the summary with the threshold results (docs/summary-json.md). */
export function summaryJson(summary: Summary, thresholds: ThresholdResult[]): string {
  return JSON.stringify({ ...summary, thresholds }, null, 2) + '\n';
}

/** Renders compare.png (runs aligned one above another), downtime.png (bars), compare.md/.html/.json. */
export async function renderCompare(
  runs: ResultsFile[],
  outDir: string,
  opts: { slowMs?: number } = {},
): Promise<{ files: string[]; summaries: Summary[] }> {
  if (runs.length === 0) throw new DowntimeError('compare needs at least one results file', ExitCode.Usage);
  const analyses: Analysis[] = runs.map((r) =>
    analyzeDetailed(r, opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {}),
  );
  const summaries = analyses.map((a) => a.summary);
  const timeline = await renderPng(compareChart(analyses));
  const bars = await renderPng(downtimeBarChart(summaries));
  const table = formatCompareTable(summaries);
  const md = compareMarkdown(summaries, table);
  const html = compareHtml(summaries, table, timeline, bars);
  const files = writeAll(
    outDir,
    [
      { name: 'compare.png', data: timeline },
      { name: 'downtime.png', data: bars },
      { name: 'compare.md', data: md },
      { name: 'compare.html', data: html },
      { name: 'compare.json', data: JSON.stringify({ runs: summaries }, null, 2) + '\n' },
    ],
    runs.map((r) => r.path),
  );
  return { files, summaries };
}
