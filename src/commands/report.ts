import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { parseThreshold, type Threshold } from '../analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { readResults } from '../results/reader.js';
import { chartWarning, formatSummaryTable, renderReport, summaryJson, type PngRenderer } from '../report/index.js';
import { reportDirFor } from '../scenario/outputs.js';
import { checkSlow, must } from '../scenario/rules.js';
import type { CommandContext } from './context.js';

interface ReportOptions {
  file: string;
  /** Output directory; default: the results file's name without extension, next to it. */
  out?: string;
  json: boolean;
  thresholds: Threshold[];
  /** A latency SLO replacing the run's own (--slow). */
  slowMs?: number | undefined;
  /** The chart renderer (a test's, to make it fail); default chart.js on node-canvas. */
  renderPng?: PngRenderer | undefined;
}

/** reports/inplace.ndjson → reports/inplace/ (the rule is scenario/outputs.ts's, shared with `run`). */
export { reportDirFor as defaultReportDir };

/** Core of `downtime report`: returns the exit code (99 when a threshold failed). */
async function reportCommandCore(opts: ReportOptions, io: Io): Promise<number> {
  const file = resolve(io.cwd, opts.file);
  const results = readResults(file);
  const outDir = resolve(io.cwd, opts.out ?? reportDirFor(opts.file));
  const { summary, files, thresholdResults, chartError } = await renderReport(results, outDir, {
    thresholds: opts.thresholds,
    ...(opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {}),
    ...(opts.renderPng !== undefined ? { renderPng: opts.renderPng } : {}),
  });
  if (chartError !== undefined) io.stderr(chartWarning(outDir, chartError));
  const failed = thresholdResults.filter((t) => !t.ok);
  if (opts.json) {
    io.stdout(summaryJson(summary, thresholdResults));
  } else {
    io.stdout(formatSummaryTable(summary) + '\n');
    if (thresholdResults.length > 0) {
      io.stdout('thresholds:\n' + thresholdResults.map((t) => `  ${t.message}\n`).join(''));
    }
    io.stdout(files.map((f) => `${f}\n`).join(''));
  }
  if (failed.length > 0) {
    io.stderr(`downtime: ${failed.length} threshold(s) failed: ${failed.map((t) => t.expr).join(', ')}\n`);
    return ExitCode.ThresholdsFailed;
  }
  return ExitCode.Ok;
}

function parseThresholdArgs(values: unknown): Threshold[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list.map((v) => {
    if (typeof v !== 'string')
      throw new DowntimeError('--threshold takes an expression, e.g. --threshold "write_downtime<60s"', ExitCode.Usage);
    return parseThreshold(v);
  });
}

export const reportCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'report <file>',
  describe: 'find outage windows in a results file and write report.png, report.html, summary.md/.json, seconds.csv',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', describe: 'a results file written by downtime run' })
      .option('out', { type: 'string', describe: 'output directory (default: FILE without .ndjson, next to it)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print the summary object (summary.json) on stdout',
      })
      .option('slow', {
        type: 'string',
        describe:
          "latency SLO: answers slower than this are degraded time (default: the run's --slow); e.g. --slow 200ms",
      })
      .option('threshold', {
        type: 'string',
        array: true,
        describe:
          'fail (exit 99) unless e.g. "write_downtime<60s", "lost_writes==0" (default when writes were verified)',
      })
      .example('$0 report reports/inplace.ndjson', 'writes reports/inplace/…')
      .example('$0 report reports/bg.ndjson --threshold "write_downtime<30s" --json', 'a CI gate') as Argv<never>,
  handler: async (argv: unknown) => {
    const a = argv as { file?: string; out?: string; json: boolean; threshold?: unknown; slow?: string };
    if (a.file === undefined || a.file === '') {
      throw new DowntimeError('name a results file, e.g. downtime report reports/run.ndjson', ExitCode.Usage);
    }
    const thresholds = parseThresholdArgs(a.threshold);
    const slowMs = a.slow === undefined ? undefined : must(checkSlow(a.slow, '--slow'));
    ctx.exitCode = await reportCommandCore(
      { file: a.file, out: a.out, json: a.json, thresholds, slowMs, renderPng: ctx.renderPng },
      ctx.io,
    );
  },
});
