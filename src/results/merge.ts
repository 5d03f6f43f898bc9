import { DowntimeError, ExitCode } from '../errors.js';
import { mergeOp, seqCount } from './merge-seconds.js';
import {
  MERGED_RESULTS_VERSION,
  OPS,
  type EventRecord,
  type MergeSource,
  type Op,
  type OpSchedule,
  type OpTotals,
  type ResultsFile,
  type ResultsHeader,
  type ResultsLine,
  type ResultsTrailer,
  type SchedulePart,
  type SecondRecord,
} from './types.js';

/**
 * `downtime merge`: several load hosts' runs of one scenario, combined into one results file.
 *
 * Each source has its own runId, t0 and seq space, so seqs cannot simply be concatenated. The merge works on
 * the time axis: every source's probes are placed at their intended times, and the merged stream numbers them
 * in intended-time order (ties: earlier source first). Its schedule keeps each source's linear schedule as a
 * `part`, from which the intended time of any merged seq is recomputed exactly (types.ts `mergeOrder`), so the
 * window definition — a stretch of intended times in which probes were due and none succeeded — applies to the
 * union of all hosts' probes, with boundaries exact to the probe, whatever the hosts' t0 offsets or rates.
 * Each source's own records are kept as well, marked `source`, so its series is still there.
 *
 * This module merges records only. The hosts' clock skew is estimated from outage windows, above results/
 * (analyze/skew.ts), and handed in to be recorded; analyze/merge.ts `mergeResults` puts the two together.
 */
export interface MergeInput {
  /** As given on the command line: recorded in the header's `sources`. */
  file: string;
  results: ResultsFile;
}

/** A source's clock against the first source's, as estimated by the caller: recorded in the header's `sources`. */
interface SourceClock {
  /** ms, + = ahead; null: unknown. Recorded to the µs. */
  skewMs: number | null;
  /** What it was estimated from; null: unknown. */
  from: string | null;
}

export interface RecordMergeOptions {
  /** runId of the merged file. */
  runId: string;
  /** Merge files of different targets or labels anyway. */
  force?: boolean;
  /** Per input, in the same order; absent: every clock unknown. */
  clocks?: readonly SourceClock[];
  /** Recorded as `warning` events at the merged run's start, after its `merged` note (e.g. clock skew). */
  warnings?: readonly { name: string; detail: Record<string, unknown> }[];
}

/** How a source is named in the merged file: `hostname/runId`. */
export function sourceIdOf(h: ResultsHeader): string {
  return `${h.host.hostname}/${h.runId}`;
}

export function mergeRecords(
  inputs: readonly MergeInput[],
  opts: RecordMergeOptions,
): { lines: ResultsLine[]; header: ResultsHeader } {
  checkMergeInputs(inputs, opts.force ?? false);
  const sources = sourcesOf(inputs, opts.clocks ?? []);
  const { ops, merged, totals } = mergeStreams(inputs);
  // Replication lag is the cluster's, not a host's: the first source that measured it gives it (its own clock
  // measured both ends of each sample, so skew between hosts does not enter).
  const lagFrom = inputs.find((x) => x.results.header.heartbeat !== undefined)?.results;
  const header = mergedHeader(inputs, sources, ops, opts.runId, lagFrom);
  const events = mergedEvents(inputs, sources, header.startMs, opts.warnings ?? []);

  const lines: ResultsLine[] = [header];
  // Time order, the merged stream first, then each source's own series.
  // Loops, not push(...xs): a long run has more seconds than a call has room for arguments.
  for (const s of bySecondAndOp([...merged.read, ...merged.write])) lines.push(s);
  inputs.forEach(({ results: r }, i) => {
    const source = (sources[i] as MergeSource).id;
    for (const s of bySecondAndOp([...r.seconds.read, ...r.seconds.write])) lines.push({ ...s, source });
  });
  for (const l of lagFrom?.lag ?? []) lines.push(l);
  for (const e of events) lines.push(e);
  const trailer = mergedTrailer(inputs, totals);
  if (trailer) lines.push(trailer);
  return { lines, header };
}

function bySecondAndOp(secs: SecondRecord[]): SecondRecord[] {
  return secs.sort((a, b) => a.sec - b.sec || OPS.indexOf(a.op) - OPS.indexOf(b.op));
}

function sourcesOf(inputs: readonly MergeInput[], clocks: readonly SourceClock[]): MergeSource[] {
  return inputs.map(({ file, results: r }, i) => {
    const clock = clocks[i];
    return {
      id: sourceIdOf(r.header),
      runId: r.header.runId,
      hostname: r.header.host.hostname,
      startMs: r.header.startMs,
      rates: Object.fromEntries(OPS.flatMap((op) => (r.header.ops[op] ? [[op, r.header.ops[op].ratePerSec]] : []))),
      file,
      skewMs: clock === undefined || clock.skewMs === null ? null : round3(clock.skewMs),
      skewFrom: clock?.from ?? null,
      complete: r.complete,
    };
  });
}

/** Per op: the merged schedule (each source's a part), the merged stream's second records, and their totals. */
function mergeStreams(inputs: readonly MergeInput[]): {
  ops: Partial<Record<Op, OpSchedule>>;
  merged: Record<Op, SecondRecord[]>;
  totals: Partial<Record<Op, OpTotals>>;
} {
  const ops: Partial<Record<Op, OpSchedule>> = {};
  const merged: Record<Op, SecondRecord[]> = { read: [], write: [] };
  const totals: Partial<Record<Op, OpTotals>> = {};
  for (const op of OPS) {
    const withOp = inputs.map((x, i) => ({ r: x.results, i })).filter(({ r }) => r.header.ops[op] !== undefined);
    if (withOp.length === 0) continue;
    const parts: SchedulePart[] = withOp.map(({ r, i }) => {
      const s = r.header.ops[op] as OpSchedule;
      return { source: i, ratePerSec: s.ratePerSec, t0Ms: s.t0Ms, seqs: seqCount(r, op) };
    });
    ops[op] = {
      ratePerSec: parts.reduce((a, p) => a + p.ratePerSec, 0),
      t0Ms: Math.min(...parts.map((p) => p.t0Ms)),
      parts,
    };
    merged[op] = mergeOp(
      op,
      parts,
      withOp.map(({ r }) => r.seconds[op]),
    );
    const t: OpTotals = { due: parts.reduce((a, p) => a + p.seqs, 0), ok: 0, failed: 0, dropped: 0 };
    for (const s of merged[op]) {
      t.ok += s.ok;
      t.dropped += s.dropped;
      if (s.stalled !== undefined) t.stalled = (t.stalled ?? 0) + s.stalled;
      t.failed += Object.values(s.failed).reduce((a, b) => a + b, 0);
    }
    totals[op] = t;
  }
  return { ops, merged, totals };
}

function mergedHeader(
  inputs: readonly MergeInput[],
  sources: MergeSource[],
  ops: Partial<Record<Op, OpSchedule>>,
  runId: string,
  lagFrom: ResultsFile | undefined,
): ResultsHeader {
  const startMs = Math.min(...inputs.map((x) => x.results.header.startMs));
  const endMs = Math.max(...inputs.map((x) => x.results.header.startMs + x.results.header.durationMs));
  const h0 = (inputs[0] as MergeInput).results.header;
  const header: ResultsHeader = {
    ...h0,
    version: MERGED_RESULTS_VERSION,
    runId,
    host: { ...h0.host, hostname: [...new Set(sources.map((s) => s.hostname))].join(',') },
    startMs,
    durationMs: endMs - startMs,
    ops,
    timeoutMs: Math.max(...inputs.map((x) => x.results.header.timeoutMs)),
    workers: inputs.reduce((a, x) => a + x.results.header.workers, 0),
    maxInFlight: inputs.reduce((a, x) => a + x.results.header.maxInFlight, 0),
    sources,
  };
  // One latency SLO for the merged run only when every host ran with the same; else `report --slow` names one.
  const slows = new Set(inputs.map((x) => x.results.header.slowMs));
  delete header.slowMs;
  const slowMs = slows.size === 1 ? [...slows][0] : undefined;
  if (slowMs !== undefined) header.slowMs = slowMs;
  delete header.heartbeat;
  if (lagFrom?.header.heartbeat) header.heartbeat = lagFrom.header.heartbeat;
  return header;
}

/** Every source's events marked with their source, a `merged` note and the given warnings, in time order. */
function mergedEvents(
  inputs: readonly MergeInput[],
  sources: MergeSource[],
  noteAtMs: number,
  warnings: readonly { name: string; detail: Record<string, unknown> }[],
): EventRecord[] {
  const events: EventRecord[] = [];
  inputs.forEach(({ results: r }, i) => {
    const source = (sources[i] as MergeSource).id;
    for (const e of r.events) events.push({ ...e, detail: { ...(e.detail ?? {}), source } });
  });
  events.push({
    type: 'event',
    atMs: noteAtMs,
    kind: 'note',
    name: 'merged',
    detail: { sources: sources.map((s) => s.id), files: sources.map((s) => s.file) },
  });
  for (const w of warnings)
    events.push({ type: 'event', atMs: noteAtMs, kind: 'warning', name: w.name, detail: w.detail });
  events.sort((a, b) => a.atMs - b.atMs);
  return events;
}

function mergedTrailer(inputs: readonly MergeInput[], totals: Partial<Record<Op, OpTotals>>): ResultsTrailer | null {
  const trailers = inputs.map((x) => x.results.trailer);
  if (trailers.some((t) => t === null)) return null; // one host did not finish: the merged run did not either
  const ts = trailers as ResultsTrailer[];
  const reason = ts.some((t) => t.reason === 'error')
    ? 'error'
    : ts.some((t) => t.reason === 'interrupted')
      ? 'interrupted'
      : 'completed';
  const trailer: ResultsTrailer = { type: 'trailer', endMs: Math.max(...ts.map((t) => t.endMs)), reason, totals };
  const errors = ts.flatMap((t) => (t.error ? [t.error] : []));
  if (errors.length > 0) trailer.error = errors.join('; ');
  const writes = ts.map((t) => t.writes);
  if (writes.every((w) => w !== undefined)) {
    const ws = writes as NonNullable<ResultsTrailer['writes']>[];
    trailer.writes = {
      acknowledged: ws.reduce((a, w) => a + w.acknowledged, 0),
      lost: ws.reduce((a, w) => a + w.lost, 0),
      lostSeconds: [...new Set(ws.flatMap((w) => w.lostSeconds))].sort((a, b) => a - b),
      inDoubtCommitted: ws.reduce((a, w) => a + w.inDoubtCommitted, 0),
      inDoubtAbsent: ws.reduce((a, w) => a + w.inDoubtAbsent, 0),
      checkedAt: [...new Set(ws.map((w) => w.checkedAt))].join(', '),
    };
  }
  return trailer;
}

function targetKey(h: ResultsHeader): string {
  return `${h.target.host}:${h.target.port}/${h.target.database}`;
}

/** Refuses what cannot be merged: fewer than two files, merged files, one run twice; other targets or scenarios unless `force`. */
export function checkMergeInputs(inputs: readonly MergeInput[], force: boolean): void {
  if (inputs.length < 2)
    throw new DowntimeError('merge needs at least two results files; pass every host’s file', ExitCode.Usage);
  const seen = new Map<string, string>();
  for (const { file, results: r } of inputs) {
    // Version 2 was only ever a merged file; version-3 merged files have sources.
    if (r.header.version === 2 || r.header.sources !== undefined)
      throw new DowntimeError(
        `${file} is already a merged file; merge the hosts' original files together instead`,
        ExitCode.InputFile,
      );
    const prev = seen.get(r.header.runId);
    if (prev !== undefined)
      throw new DowntimeError(
        `${file} and ${prev} are the same run (runId ${r.header.runId}); pass each host's file once`,
        ExitCode.InputFile,
      );
    seen.set(r.header.runId, file);
  }
  if (force) return;
  const first = inputs[0] as MergeInput;
  for (const { file, results: r } of inputs.slice(1)) {
    if (targetKey(r.header) !== targetKey(first.results.header))
      throw new DowntimeError(
        `${file} probed ${targetKey(r.header)} but ${first.file} probed ${targetKey(first.results.header)}; merge runs against one target, or pass --force`,
        ExitCode.InputFile,
      );
    if (r.header.label !== first.results.header.label)
      throw new DowntimeError(
        `${file} is scenario "${r.header.label}" but ${first.file} is "${first.results.header.label}"; merge runs of one scenario, or pass --force`,
        ExitCode.InputFile,
      );
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
