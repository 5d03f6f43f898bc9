import { scanOp, type OpScan, type OpWindow } from '../analyze/windows.js';
import { DowntimeError, ExitCode } from '../errors.js';
import { encodeHistogram, mergeEncoded } from './histogram.js';
import {
  MERGED_RESULTS_VERSION,
  OK,
  DROPPED,
  STALLED,
  OPS,
  identityKey,
  mergeOrder,
  type EventRecord,
  type MergeSource,
  type Op,
  type OpSchedule,
  type OpTotals,
  type ResultsFile,
  type ResultsHeader,
  type ResultsLine,
  type ResultsTrailer,
  type Run,
  type SchedulePart,
  type SecondRecord,
  type ServerSeen,
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
 */
export interface MergeInput {
  /** As given on the command line: recorded in the header's `sources`. */
  file: string;
  results: ResultsFile;
}

export interface MergeOptions {
  /** runId of the merged file. */
  runId: string;
  /** Merge files of different targets or labels anyway. */
  force?: boolean;
  /** Skew (ms) above which a warning is raised; the bound used is max(this, one probe interval). Default 50. */
  skewBoundMs?: number;
}

export interface SkewEstimate {
  source: string;
  /** Offset of this host's clock against the first source's, ms (+ = ahead), or null when it cannot be estimated. */
  skewMs: number | null;
  from: string | null;
  boundMs: number;
  exceeded: boolean;
}

export interface MergeResult {
  lines: ResultsLine[];
  header: ResultsHeader;
  skews: SkewEstimate[];
  /** One line each, for stderr (also in the file as `warning` events). */
  warnings: string[];
}

export const DEFAULT_SKEW_BOUND_MS = 50;

export function mergeResults(inputs: readonly MergeInput[], opts: MergeOptions): MergeResult {
  checkInputs(inputs, opts.force ?? false);
  const first = (inputs[0] as MergeInput).results;
  const sources: MergeSource[] = inputs.map(({ file, results: r }) => ({
    id: `${r.header.host.hostname}/${r.header.runId}`,
    runId: r.header.runId,
    hostname: r.header.host.hostname,
    startMs: r.header.startMs,
    rates: Object.fromEntries(OPS.flatMap((op) => (r.header.ops[op] ? [[op, r.header.ops[op].ratePerSec]] : []))),
    file,
    skewMs: null,
    skewFrom: null,
    complete: r.complete,
  }));

  const skews = estimateSkews(inputs, sources, opts.skewBoundMs ?? DEFAULT_SKEW_BOUND_MS);
  const warnings: string[] = [];
  skews.forEach((s, i) => {
    const src = sources[i] as MergeSource;
    src.skewMs = s.skewMs === null ? null : round3(s.skewMs);
    src.skewFrom = s.from;
    if (s.exceeded)
      warnings.push(
        `clock skew: ${s.source} is ${fmtMs(s.skewMs ?? 0)} off ${sources[0]?.id ?? ''} (from ${s.from ?? '?'}), more than ${fmtMs(s.boundMs)}: windows mix two clocks; sync the hosts' clocks (chrony/NTP)`,
      );
  });

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

  const startMs = Math.min(...inputs.map((x) => x.results.header.startMs));
  const endMs = Math.max(...inputs.map((x) => x.results.header.startMs + x.results.header.durationMs));
  const h0 = first.header;
  const header: ResultsHeader = {
    ...h0,
    version: MERGED_RESULTS_VERSION,
    runId: opts.runId,
    host: { ...h0.host, hostname: [...new Set(sources.map((s) => s.hostname))].join(',') },
    startMs,
    durationMs: endMs - startMs,
    ops,
    timeoutMs: Math.max(...inputs.map((x) => x.results.header.timeoutMs)),
    workers: inputs.reduce((a, x) => a + x.results.header.workers, 0),
    maxInFlight: inputs.reduce((a, x) => a + x.results.header.maxInFlight, 0),
    sources,
  };
  // Replication lag is the cluster's, not a host's: the first source that measured it gives it (its own clock
  // measured both ends of each sample, so skew between hosts does not enter).
  const lagFrom = inputs.find((x) => x.results.header.heartbeat !== undefined)?.results;
  delete header.heartbeat;
  if (lagFrom?.header.heartbeat) header.heartbeat = lagFrom.header.heartbeat;

  const events: EventRecord[] = [];
  inputs.forEach(({ results: r }, i) => {
    const source = (sources[i] as MergeSource).id;
    for (const e of r.events) events.push({ ...e, detail: { ...(e.detail ?? {}), source } });
  });
  const noteAtMs = startMs;
  events.push({
    type: 'event',
    atMs: noteAtMs,
    kind: 'note',
    name: 'merged',
    detail: { sources: sources.map((s) => s.id), files: sources.map((s) => s.file) },
  });
  warnings.forEach((w, i) => {
    const s = skews.filter((x) => x.exceeded)[i] as SkewEstimate;
    events.push({
      type: 'event',
      atMs: noteAtMs,
      kind: 'warning',
      name: 'clock-skew',
      detail: { source: s.source, skewMs: s.skewMs, from: s.from, boundMs: s.boundMs, message: w },
    });
  });
  events.sort((a, b) => a.atMs - b.atMs);

  const lines: ResultsLine[] = [header];
  // Time order, the merged stream first, then each source's own series.
  const secs = [...merged.read, ...merged.write].sort((a, b) => a.sec - b.sec || opIndex(a.op) - opIndex(b.op));
  lines.push(...secs);
  inputs.forEach(({ results: r }, i) => {
    const source = (sources[i] as MergeSource).id;
    const own = [...r.seconds.read, ...r.seconds.write].sort((a, b) => a.sec - b.sec || opIndex(a.op) - opIndex(b.op));
    for (const s of own) lines.push({ ...s, source });
  });
  lines.push(...(lagFrom?.lag ?? []));
  lines.push(...events);
  const trailer = mergedTrailer(inputs, totals);
  if (trailer) lines.push(trailer);
  return { lines, header, skews, warnings };
}

function opIndex(op: Op): number {
  return OPS.indexOf(op);
}

/** Seqs a source covers for an op: the trailer's count when it ended cleanly (missing seconds are a gap), else up to its last record. */
function seqCount(r: ResultsFile, op: Op): number {
  let next = 0;
  for (const s of r.seconds[op]) for (const [first, count] of s.runs) next = Math.max(next, first + count);
  return Math.max(next, r.trailer?.totals[op]?.due ?? 0);
}

/** The merged op's second records: probes in merged seq order, grouped by the epoch second of their intended time. */
function mergeOp(op: Op, parts: SchedulePart[], sourceSeconds: SecondRecord[][]): SecondRecord[] {
  // Per part: outcome of each of its seqs (index into `outcomes`, -1 = missing from the file).
  const outcomes: string[] = [];
  const outcomeIndex = new Map<string, number>();
  const bySec = new Map<number, SecondRecord[]>();
  const perPart = parts.map((p, i) => {
    const arr = new Int32Array(p.seqs).fill(-1);
    for (const s of sourceSeconds[i] ?? []) {
      const list = bySec.get(s.sec);
      if (list) list.push(s);
      else bySec.set(s.sec, [s]);
      for (const [first, count, outcome] of s.runs) {
        let k = outcomeIndex.get(outcome);
        if (k === undefined) {
          k = outcomes.length;
          outcomes.push(outcome);
          outcomeIndex.set(outcome, k);
        }
        for (let j = first; j < first + count && j < p.seqs; j++) if (j >= 0) arr[j] = k;
      }
    }
    return arr;
  });
  const { times, part } = mergeOrder(parts);
  const nextOfPart = parts.map(() => 0);
  const out: SecondRecord[] = [];
  let cur: { sec: number; runs: Run[] } | null = null;
  const flush = (): void => {
    if (cur && cur.runs.length > 0) out.push(secondOf(op, cur.sec, cur.runs, bySec.get(cur.sec) ?? []));
    cur = null;
  };
  for (let seq = 0; seq < times.length; seq++) {
    const p = part[seq] as number;
    const j = nextOfPart[p] as number;
    nextOfPart[p] = j + 1;
    const k = (perPart[p] as Int32Array)[j] as number;
    if (k < 0) continue; // missing from the source's file: a gap in the merged stream too
    const sec = Math.floor((times[seq] as number) / 1000);
    if (!cur || cur.sec !== sec) {
      flush();
      cur = { sec, runs: [] };
    }
    const outcome = outcomes[k] as string;
    const last = cur.runs[cur.runs.length - 1];
    if (last && last[2] === outcome && last[0] + last[1] === seq) last[1]++;
    else cur.runs.push([seq, 1, outcome]);
  }
  flush();
  return out;
}

/** Counts from the merged runs (so they agree exactly); histograms, servers and send lag from the sources' records of that second. */
function secondOf(op: Op, sec: number, runs: Run[], sources: SecondRecord[]): SecondRecord {
  let due = 0;
  let ok = 0;
  let dropped = 0;
  let stalled = 0;
  const failed: Record<string, number> = {};
  for (const [, count, outcome] of runs) {
    due += count;
    if (outcome === OK) ok += count;
    else if (outcome === DROPPED) dropped += count;
    else if (outcome === STALLED) stalled += count;
    else failed[outcome] = (failed[outcome] ?? 0) + count;
  }
  const servers = new Map<string, ServerSeen>();
  let sendLagUs: { p99: number; max: number } | undefined;
  for (const s of sources) {
    for (const seen of s.servers) {
      const key = identityKey(seen);
      const have = servers.get(key);
      if (have) have.count += seen.count;
      else servers.set(key, { ...seen });
    }
    if (s.sendLagUs) {
      // Per-host p99s cannot be merged exactly; the worst host's is the conservative figure.
      sendLagUs = {
        p99: Math.max(sendLagUs?.p99 ?? 0, s.sendLagUs.p99),
        max: Math.max(sendLagUs?.max ?? 0, s.sendLagUs.max),
      };
    }
  }
  const hists = sources.map((s) => s.hist).filter((h): h is string => h !== null);
  const hist =
    hists.length === 0 ? null : hists.length === 1 ? (hists[0] as string) : encodeHistogram(mergeEncoded(hists));
  const rec: SecondRecord = {
    type: 'second',
    op,
    sec,
    due,
    ok,
    failed,
    dropped,
    hist,
    runs,
    servers: [...servers.values()],
  };
  if (stalled > 0) rec.stalled = stalled;
  if (sendLagUs) rec.sendLagUs = sendLagUs;
  return rec;
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

function checkInputs(inputs: readonly MergeInput[], force: boolean): void {
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

/**
 * Clock offset of each host against the first, from what both saw: a common outage's (each host's longest
 * window, if they overlap) first failed probe and first success after it (the database failed and recovered at one true time; each host stamps it with its own
 * clock, to within one probe interval), else a shared action or phase event of the same name. Start times alone
 * say nothing: hosts need not start together.
 */
export function estimateSkews(inputs: readonly MergeInput[], sources: MergeSource[], boundMs: number): SkewEstimate[] {
  const scans = inputs.map(({ results: r }) => {
    const m: Partial<Record<Op, OpScan>> = {};
    for (const op of OPS) {
      const s = r.header.ops[op];
      if (s) m[op] = scanOp(op, s, r.seconds[op], r.trailer?.totals[op]?.due);
    }
    return m;
  });
  const ref = scans[0] ?? {};
  const refEvents = inputs[0]?.results.events ?? [];
  return inputs.map(({ results: r }, i) => {
    const source = (sources[i] as MergeSource).id;
    const intervalMs = Math.max(
      ...OPS.flatMap((op) => {
        const a = r.header.ops[op];
        const b = inputs[0]?.results.header.ops[op];
        return [a ? 1000 / a.ratePerSec : 0, b ? 1000 / b.ratePerSec : 0];
      }),
    );
    const bound = Math.max(boundMs, intervalMs);
    if (i === 0) return { source, skewMs: 0, from: 'reference', boundMs: bound, exceeded: false };
    let skewMs: number | null = null;
    let from: string | null = null;
    for (const op of ['write', 'read'] as const) {
      // The longest window of each: the common outage, not a blip one host saw alone.
      const a = longest(scans[i]?.[op]?.windows ?? []);
      const b = longest(ref[op]?.windows ?? []);
      if (!a || !b) continue;
      if (a.endMs < b.startMs || b.endMs < a.startMs) continue; // not the same outage
      // Only an edge both saw as a real probe transition is a shared instant (not the edge of missing
      // seconds, not the end of the run).
      const diffs: number[] = [];
      if (!a.startsAfterGap && !b.startsAfterGap) diffs.push(a.startMs - b.startMs);
      if (!a.open && !b.open && !a.endsAtGap && !b.endsAtGap) diffs.push(a.endMs - b.endMs);
      if (diffs.length === 0) continue;
      skewMs = diffs.reduce((x, y) => x + y, 0) / diffs.length;
      from = `longest ${op} outage`;
      break;
    }
    if (skewMs === null) {
      for (const e of r.events) {
        if (e.kind !== 'action' && e.kind !== 'phase') continue;
        const match = refEvents.find((x) => x.kind === e.kind && x.name === e.name);
        if (!match) continue;
        skewMs = e.atMs - match.atMs;
        from = `${e.kind} ${e.name}`;
        break;
      }
    }
    return { source, skewMs, from, boundMs: bound, exceeded: skewMs !== null && Math.abs(skewMs) > bound };
  });
}

function longest(ws: readonly OpWindow[]): OpWindow | undefined {
  let best: OpWindow | undefined;
  for (const w of ws) if (!best || w.endMs - w.startMs > best.endMs - best.startMs) best = w;
  return best;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function fmtMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
