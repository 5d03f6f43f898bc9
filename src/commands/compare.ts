import { dirname, join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { readResults } from '../results/reader.js';
import { chartWarning, formatCompareTable, renderCompare, type PngRenderer } from '../report/index.js';
import { checkSlow, must } from '../scenario/rules.js';
import type { CommandContext } from './context.js';

interface CompareOptions {
  files: string[];
  /** Output directory; default `compare/` next to the first file. */
  out?: string;
  json: boolean;
  /** A latency SLO for every run, replacing each run's own (--slow). */
  slowMs?: number | undefined;
  /** The chart renderer (a test's, to make it fail); default chart.js on node-canvas. */
  renderPng?: PngRenderer | undefined;
}

/** Core of `downtime compare`: every file is read (and checked) before anything is written. */
async function compareCommandCore(opts: CompareOptions, io: Io): Promise<number> {
  if (opts.files.length < 2) {
    throw new DowntimeError(
      'compare needs two or more results files, e.g. downtime compare a.ndjson b.ndjson',
      ExitCode.Usage,
    );
  }
  const runs = opts.files.map((f) => readResults(resolve(io.cwd, f)));
  const first = opts.files[0] as string;
  const outDir = resolve(io.cwd, opts.out ?? join(dirname(first), 'compare'));
  const { files, summaries, chartError } = await renderCompare(runs, outDir, {
    ...(opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {}),
    ...(opts.renderPng !== undefined ? { renderPng: opts.renderPng } : {}),
  });
  if (chartError !== undefined) io.stderr(chartWarning(outDir, chartError));
  if (opts.json) io.stdout(JSON.stringify({ runs: summaries }, null, 2) + '\n');
  else io.stdout(formatCompareTable(summaries) + '\n' + files.map((f) => `${f}\n`).join(''));
  return ExitCode.Ok;
}

export const compareCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'compare <files..>',
  describe: 'compare runs: aligned timelines one above another and downtime per run',
  builder: (y: Argv) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'two or more results files' })
      .option('out', { type: 'string', describe: 'output directory (default: compare/ next to the first file)' })
      .option('json', { type: 'boolean', default: false, describe: 'print {runs: [summary, …]} on stdout' })
      .option('slow', {
        type: 'string',
        describe: "latency SLO for every run: answers slower than this are degraded time (default: each run's --slow)",
      })
      .example(
        '$0 compare reports/inplace.ndjson reports/bg.ndjson --out reports/compare',
        'in-place vs blue/green',
      ) as Argv<never>,
  handler: async (argv: unknown) => {
    const a = argv as { files?: string[]; out?: string; json: boolean; slow?: string };
    const slowMs = a.slow === undefined ? undefined : must(checkSlow(a.slow, '--slow'));
    ctx.exitCode = await compareCommandCore(
      { files: a.files ?? [], out: a.out, json: a.json, slowMs, renderPng: ctx.renderPng },
      ctx.io,
    );
  },
});
