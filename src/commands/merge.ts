import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { mergeResults, DEFAULT_SKEW_BOUND_MS } from '../analyze/merge.js';
import { readResults } from '../results/reader.js';
import { assertWritableOutput } from '../results/writer.js';
import { formatMs } from '../util/duration.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import type { CommandContext } from './context.js';

export interface MergeCommandOptions {
  files: string[];
  out: string;
  force: boolean;
  skewBoundMs: number;
}

/** Core of `downtime merge`: reads every file, merges, writes `out` via a temp name (never a half-written file). */
export function mergeCommandCore(opts: MergeCommandOptions, io: Io): number {
  const out = resolve(io.cwd, opts.out);
  assertWritableOutput(out, opts.force);
  const inputs = opts.files.map((f) => ({ file: f, results: readResults(resolve(io.cwd, f)) }));
  if (inputs.some((x) => resolve(io.cwd, x.file) === out))
    throw new DowntimeError(`--out ${opts.out} is one of the inputs; choose another --out`, ExitCode.Output);
  const merged = mergeResults(inputs, { runId: randomUUID(), force: opts.force, skewBoundMs: opts.skewBoundMs });
  for (const w of merged.warnings) io.stderr(`downtime: warning: ${w}\n`);
  writeFileAtomic(out, merged.lines.map((l) => JSON.stringify(l) + '\n').join(''), { hint: 'choose another --out' });
  const srcs = merged.header.sources ?? [];
  const skew = srcs
    .slice(1)
    .map((s) => `${s.id} ${s.skewMs === null ? 'unknown' : formatMs(s.skewMs)}`)
    .join(', ');
  io.stdout(`merged ${srcs.length} runs into ${opts.out} (clock skew vs ${srcs[0]?.id ?? '?'}: ${skew})\n`);
  return ExitCode.Ok;
}

export const mergeCommand = (ctx: CommandContext): CommandModule<object, never> => ({
  command: 'merge <files..>',
  describe: 'combine results files of one scenario from several load hosts into one (report reads it)',
  builder: (y: Argv) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'results files written by downtime run' })
      .option('out', { type: 'string', demandOption: true, describe: 'the merged results file' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'overwrite --out; merge files of different targets or scenarios',
      })
      .option('skew-bound', {
        type: 'number',
        default: DEFAULT_SKEW_BOUND_MS,
        describe: 'warn when a host clock is further off than this (ms) or one probe interval',
      })
      .example('$0 merge a.ndjson b.ndjson --out all.ndjson', 'then: downtime report all.ndjson') as Argv<never>,
  handler: (argv: unknown) => {
    const a = argv as { files?: string[]; out?: string; force: boolean; skewBound: number };
    const files = (a.files ?? []).map(String);
    if (files.length < 2)
      throw new DowntimeError(
        'name two or more results files, e.g. downtime merge a.ndjson b.ndjson --out all.ndjson',
        ExitCode.Usage,
      );
    if (a.out === undefined || a.out === '') throw new DowntimeError('--out FILE is required', ExitCode.Usage);
    if (!Number.isFinite(a.skewBound) || a.skewBound < 0)
      throw new DowntimeError('--skew-bound takes milliseconds ≥ 0, e.g. --skew-bound 50', ExitCode.Usage);
    ctx.exitCode = mergeCommandCore({ files, out: a.out, force: a.force, skewBoundMs: a.skewBound }, ctx.io);
  },
});
