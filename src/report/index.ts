import { join, resolve } from 'node:path';
import { analyzeDetailed, type Analysis, type Summary } from '../analyze/index.js';
import { defaultThresholds, evaluateThresholds, type Threshold, type ThresholdResult } from '../analyze/thresholds.js';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import type { ResultsFile } from '../results/types.js';
import {
  compareChart,
  downtimeBarChart,
  lagChart,
  latencyChart,
  outcomeChart,
  type ChartJson,
} from './charts/index.js';
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
  /** Renders a chart to PNG (default: chart.js on node-canvas); injectable so a test can make it fail. */
  renderPng?: PngRenderer;
}

/** Chart configuration → PNG bytes. */
export type PngRenderer = (config: ChartJson) => Promise<Buffer>;

/** The PNG charts of a report; a chart that cannot be rendered leaves none, and `error` says why. */
interface Charts {
  images: { name: string; png: Buffer }[];
  error?: string;
}

/**
 * Renders the charts, all or none. Rendering needs a native canvas and fonts, which a host may lack (a broken
 * `canvas` build, an exotic platform); the figures do not, so a failure here costs the images, not the report:
 * the caller writes the text files with a note instead, and says so (chartWarning).
 */
async function renderCharts(charts: { name: string; config: ChartJson }[], render: PngRenderer): Promise<Charts> {
  const images: Charts['images'] = [];
  try {
    for (const c of charts) images.push({ name: c.name, png: await render(c.config) });
    return { images };
  } catch (err) {
    return { images: [], error: oneLine(err instanceof Error ? err.message : String(err)) || 'no reason given' };
  }
}

/** The one-line warning for a report written without its charts (the exit code stays what it would be). */
export function chartWarning(dir: string, error: string): string {
  return `downtime: warning: charts not rendered (${error}); the text outputs in ${dir} were written without them\n`;
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

/**
 * Renders report.png, latency.png (lag.png when replication lag was measured), report.html, summary.md, summary.json
 * and seconds.csv into `outDir`. When the charts cannot be rendered, the text files are written without them (with
 * a note) and `chartError` says why.
 */
export async function renderReport(
  results: ResultsFile,
  outDir: string,
  opts: RenderReportOptions = {},
): Promise<{ summary: Summary; files: string[]; thresholdResults: ThresholdResult[]; chartError?: string }> {
  const analysis = analyzeDetailed(results, opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {});
  const summary = analysis.summary;
  const thresholdResults = evaluateThresholds(summary, thresholdsFor(summary, opts.thresholds));
  const charts = await renderCharts(
    [
      { name: 'report.png', config: outcomeChart(analysis) },
      { name: 'latency.png', config: latencyChart(analysis) },
      // Replication lag, where it was measured (lag.png).
      ...(analysis.lag.length > 0 ? [{ name: 'lag.png', config: lagChart(analysis) }] : []),
    ],
    opts.renderPng ?? renderPng,
  );
  const { images, error: chartError } = charts;
  const files = writeAll(
    outDir,
    [
      ...images.map((i) => ({ name: i.name, data: i.png })),
      { name: 'report.html', data: reportHtml(analysis, images, thresholdResults, chartError) },
      {
        name: 'summary.md',
        data: summaryMarkdown(
          analysis,
          images.map((i) => i.name),
          thresholdResults,
          chartError,
        ),
      },
      { name: 'summary.json', data: summaryJson(summary, thresholdResults) },
      { name: 'seconds.csv', data: secondsCsv(analysis) },
    ],
    [results.path],
    // An earlier report's charts, when this one has none (or no lag.png): removed, so no folder mixes two reports.
    ['report.png', 'latency.png', 'lag.png'],
  );
  return { summary, files, thresholdResults, ...(chartError !== undefined ? { chartError } : {}) };
}

/** summary.json: the summary with the threshold results (docs/summary-json.md). */
export function summaryJson(summary: Summary, thresholds: ThresholdResult[]): string {
  return JSON.stringify(summaryObject(summary, thresholds), null, 2) + '\n';
}

/** The object summary.json holds (`run --json` prints it, or one per member of a side-by-side run). */
export function summaryObject(
  summary: Summary,
  thresholds: ThresholdResult[],
): Summary & { thresholds: ThresholdResult[] } {
  return { ...summary, thresholds };
}

/** Renders compare.png (runs aligned one above another), downtime.png (bars), compare.md/.html/.json; charts as renderReport. */
export async function renderCompare(
  runs: ResultsFile[],
  outDir: string,
  opts: { slowMs?: number; renderPng?: PngRenderer } = {},
): Promise<{ files: string[]; summaries: Summary[]; chartError?: string }> {
  if (runs.length === 0) throw new DowntimeError('compare needs at least one results file', ExitCode.Usage);
  const analyses: Analysis[] = runs.map((r) =>
    analyzeDetailed(r, opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {}),
  );
  const summaries = analyses.map((a) => a.summary);
  const charts = await renderCharts(
    [
      { name: 'compare.png', config: compareChart(analyses) },
      { name: 'downtime.png', config: downtimeBarChart(summaries) },
    ],
    opts.renderPng ?? renderPng,
  );
  const [timeline, bars] = charts.images;
  const table = formatCompareTable(summaries);
  const md = compareMarkdown(summaries, table, charts.error);
  const html = compareHtml(
    summaries,
    table,
    timeline !== undefined && bars !== undefined
      ? { timeline: timeline.png, bars: bars.png }
      : { error: charts.error ?? 'no charts' },
  );
  const files = writeAll(
    outDir,
    [
      ...charts.images.map((i) => ({ name: i.name, data: i.png })),
      { name: 'compare.md', data: md },
      { name: 'compare.html', data: html },
      { name: 'compare.json', data: JSON.stringify({ runs: summaries }, null, 2) + '\n' },
    ],
    runs.map((r) => r.path),
    ['compare.png', 'downtime.png'],
  );
  return { files, summaries, ...(charts.error !== undefined ? { chartError: charts.error } : {}) };
}
