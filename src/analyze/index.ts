import { decodeHistogram, newHistogram, type Histogram } from '../results/histogram.js';
import { OPS, type EventRecord, type Op, type ResultsFile, type SecondRecord } from '../results/types.js';
import {
  SUMMARY_VERSION,
  span,
  type Analysis,
  type Availability,
  type IdentityChange,
  type LatencyMs,
  type OpSummary,
  type Outage,
  type OutageOp,
  type ReplicationLag,
  type SecondPoint,
  type Summary,
} from './types.js';
import {
  addCounts,
  intersectIntervals,
  intersectWindows,
  observedIntervals,
  scanOp,
  singleOpFull,
  totalMs,
  type FullWindow,
  type OpScan,
} from './windows.js';

export { parseThreshold, evaluateThresholds, validateThreshold, THRESHOLD_METRICS } from './thresholds.js';
export type { Threshold, ThresholdResult } from './thresholds.js';
export { SUMMARY_VERSION } from './types.js';
export type {
  Analysis,
  Availability,
  IdentityChange,
  LatencyMs,
  OpSummary,
  Outage,
  OutageOp,
  ReplicationLag,
  SecondPoint,
  Span,
  Summary,
} from './types.js';

/** "If this happened once a month": a month is 30.44 days (365.25 / 12). */
export const MONTH_MS = 30.44 * 24 * 3_600_000;

export function analyze(results: ResultsFile): Summary {
  return analyzeDetailed(results).summary;
}

const EVENT_KINDS = new Set(['action', 'phase', 'fault', 'identity', 'dns']);

export function analyzeDetailed(results: ResultsFile): Analysis {
  const { header, trailer } = results;
  const scans: Partial<Record<Op, OpScan>> = {};
  const ops: Partial<Record<Op, OpSummary>> = {};
  const series: Record<Op, SecondPoint[]> = { read: [], write: [] };
  const classes = new Set<string>();
  for (const op of OPS) {
    const schedule = header.ops[op];
    if (!schedule) continue;
    const scan = scanOp(op, schedule, results.seconds[op], trailer?.totals[op]?.due);
    scans[op] = scan;
    const { points, latency } = secondsOf(op, results.seconds[op]);
    const lags = points.flatMap((p) => (p.sendLagMs ? [p.sendLagMs] : []));
    let worst: SecondPoint | null = null;
    for (const p of points) {
      if (p.latencyMs && (!worst?.latencyMs || p.latencyMs.p99 > worst.latencyMs.p99)) worst = p;
    }
    series[op] = points;
    const errors: Record<string, number> = {};
    let due = 0;
    let okCount = 0;
    let dropped = 0;
    let stalled = 0;
    for (const s of results.seconds[op]) {
      due += s.due;
      okCount += s.ok;
      dropped += s.dropped;
      stalled += s.stalled ?? 0;
      addCounts(errors, s.failed);
    }
    for (const c of Object.keys(errors)) classes.add(c);
    const failed = Object.values(errors).reduce((a, b) => a + b, 0);
    if (dropped > 0) errors.dropped = dropped;
    const downtimeMs = scan.windows.reduce((a, w) => a + (w.endMs - w.startMs), 0);
    const gapMs = scan.gaps.reduce((a, g) => a + (g.endMs - g.startMs), 0);
    const stallMs = scan.stalls.reduce((a, g) => a + (g.endMs - g.startMs), 0);
    const observedMs = scan.endMs - scan.startMs - gapMs - stallMs;
    const av = availabilityOf(downtimeMs, observedMs);
    const first = scan.windows[0];
    const last = scan.windows[scan.windows.length - 1];
    ops[op] = {
      ratePerSec: schedule.ratePerSec,
      due,
      sent: due - dropped,
      ok: okCount,
      failed,
      dropped,
      stalled,
      errors: sortKeys(errors),
      windows: scan.windows.length,
      downtimeMs,
      observedMs,
      gapMs,
      stallMs,
      availability: av.availability,
      nines: av.nines,
      disruption: first && last ? span(first.startMs, last.endMs) : null,
      latencyMs: latency,
      sendLagMs:
        lags.length === 0
          ? null
          : { p99: Math.max(...lags.map((l) => l.p99)), max: Math.max(...lags.map((l) => l.max)) },
      worstSecond: worst?.latencyMs
        ? {
            sec: worst.sec,
            // The run may start mid-second: its first second then begins at offset 0, not before it.
            offsetMs: Math.max(0, worst.sec * 1000 - header.startMs),
            p99Ms: worst.latencyMs.p99,
            maxMs: worst.latencyMs.max,
          }
        : null,
    };
  }

  const read = scans.read;
  const write = scans.write;
  let full: FullWindow[] = [];
  let fullObserved: [number, number][] = [];
  if (read && write) {
    full = intersectWindows(read, write);
    fullObserved = intersectIntervals(observedIntervals(read), observedIntervals(write));
  } else if (read ?? write) {
    const only = (read ?? write) as OpScan;
    full = singleOpFull(only);
    fullObserved = observedIntervals(only);
  }

  const outages: Outage[] = [];
  for (const op of OPS) {
    for (const w of scans[op]?.windows ?? []) {
      outages.push({
        op,
        ...span(w.startMs, w.endMs),
        errors: sortKeys(w.errors),
        open: w.open,
        endsAtGap: w.endsAtGap,
        startsAfterGap: w.startsAfterGap,
      });
    }
  }
  for (const w of full) {
    outages.push({
      op: 'full',
      ...span(w.startMs, w.endMs),
      errors: sortKeys(w.errors),
      open: w.open,
      endsAtGap: w.endsAtGap,
      startsAfterGap: w.startsAfterGap,
    });
  }
  const opOrder: Record<OutageOp, number> = { read: 0, write: 1, full: 2 };
  outages.sort((a, b) => a.startMs - b.startMs || opOrder[a.op] - opOrder[b.op]);

  const anyOp = read !== undefined || write !== undefined;
  const fullDowntimeMs = full.reduce((a, w) => a + (w.endMs - w.startMs), 0);
  const fullAv = anyOp ? availabilityOf(fullDowntimeMs, totalMs(fullObserved)) : { availability: null, nines: null };
  const downtimeMs = {
    read: ops.read?.downtimeMs ?? null,
    write: ops.write?.downtimeMs ?? null,
    full: anyOp ? fullDowntimeMs : null,
  };
  // Nothing observed says nothing about a month either: null, not 100 %.
  const observed = {
    read: ops.read?.observedMs ?? 0,
    write: ops.write?.observedMs ?? 0,
    full: totalMs(fullObserved),
  };
  const monthly = (op: OutageOp): Availability => {
    const d = downtimeMs[op];
    return d === null || !(observed[op] > 0) ? { availability: null, nines: null } : availabilityOf(d, MONTH_MS);
  };

  const opWindows = outages.filter((o) => o.op !== 'full');
  const firstStart = Math.min(...opWindows.map((o) => o.startMs));
  const lastEnd = Math.max(...opWindows.map((o) => o.endMs));
  const startMs = Math.min(...OPS.flatMap((op) => (scans[op] ? [scans[op].startMs] : [])), header.startMs);
  const endMs = Math.max(...OPS.flatMap((op) => (scans[op] ? [scans[op].endMs] : [])), startMs);

  const summary: Summary = {
    summaryVersion: SUMMARY_VERSION,
    file: results.path,
    label: header.label,
    runId: header.runId,
    target: header.target.url,
    startMs,
    endMs,
    durationMs: endMs - startMs,
    plannedDurationMs: header.durationMs,
    timeoutMs: header.timeoutMs,
    complete: results.complete,
    truncated: results.truncated,
    reason: trailer?.reason ?? null,
    ops,
    outages,
    downtimeMs,
    windows: {
      read: ops.read?.windows ?? null,
      write: ops.write?.windows ?? null,
      full: anyOp ? full.length : null,
    },
    availability: {
      read: ops.read?.availability ?? null,
      write: ops.write?.availability ?? null,
      full: fullAv.availability,
    },
    nines: { read: ops.read?.nines ?? null, write: ops.write?.nines ?? null, full: fullAv.nines },
    oncePerMonth: {
      monthMs: MONTH_MS,
      read: monthly('read'),
      write: monthly('write'),
      full: monthly('full'),
    },
    disruption: opWindows.length > 0 ? span(firstStart, lastEnd) : null,
    gaps: OPS.flatMap((op) =>
      (scans[op]?.gaps ?? []).map((g) => ({ op, ...span(g.startMs, g.endMs), missingProbes: g.count })),
    ),
    stalls: OPS.flatMap((op) =>
      (scans[op]?.stalls ?? []).map((g) => ({ op, ...span(g.startMs, g.endMs), probes: g.count })),
    ),
    writesUnverified: trailer?.verifyError ?? null,
    writes: trailer?.writes
      ? {
          acknowledged: trailer.writes.acknowledged,
          lost: trailer.writes.lost,
          lostSeconds: [...trailer.writes.lostSeconds],
          inDoubtCommitted: trailer.writes.inDoubtCommitted,
          inDoubtAbsent: trailer.writes.inDoubtAbsent,
          checkedAt: trailer.writes.checkedAt,
        }
      : null,
    events: results.events.filter((e) => EVENT_KINDS.has(e.kind)).map(eventOf),
    replicationLag: replicationLagOf(results),
    identities: results.events.filter((e) => e.kind === 'identity').map(identityOf),
    warnings: results.events
      .filter((e) => e.kind === 'warning')
      .map((e) => ({
        atMs: e.atMs,
        name: e.name,
        message: typeof e.detail?.message === 'string' ? e.detail.message : e.name,
      })),
  };
  return { summary, series, classes: [...classes].sort(), lag: results.lag ?? [] };
}

function identityOf(e: EventRecord): IdentityChange {
  const d = e.detail ?? {};
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    atMs: e.atMs,
    serverId: num(d.serverId),
    hostname: str(d.hostname),
    version: str(d.version),
    readOnly: typeof d.readOnly === 'boolean' ? d.readOnly : null,
    address: str(d.address),
    via: str(d.via),
  };
}

function replicationLagOf(results: ResultsFile): ReplicationLag | null {
  const hb = results.header.heartbeat;
  const lag = results.lag ?? [];
  if (hb === undefined && lag.length === 0) return null;
  const out: ReplicationLag = {
    green: hb?.green ?? '',
    maxMs: null,
    maxAtMs: null,
    lastMs: null,
    samples: 0,
    selfWrittenFromMs: null,
    readErrors: {},
    writeErrors: {},
  };
  for (const l of lag) {
    out.samples += l.samples;
    if (l.maxMs !== null && (out.maxMs === null || l.maxMs > out.maxMs)) {
      out.maxMs = l.maxMs;
      out.maxAtMs = l.sec * 1000;
    }
    if (l.lastMs !== null) out.lastMs = l.lastMs;
    if (l.selfWritten > 0 && out.selfWrittenFromMs === null) out.selfWrittenFromMs = l.sec * 1000;
    addCounts(out.readErrors, l.readErrors);
    addCounts(out.writeErrors, l.writeErrors);
  }
  out.readErrors = sortKeys(out.readErrors);
  out.writeErrors = sortKeys(out.writeErrors);
  return out;
}

function eventOf(e: EventRecord): Summary['events'][number] {
  const out: Summary['events'][number] = { atMs: e.atMs, kind: e.kind, name: e.name };
  if (e.endMs !== undefined) out.endMs = e.endMs;
  const phase = e.detail?.phase;
  if (typeof phase === 'string') out.phase = phase;
  return out;
}

/** Availability over `observedMs`; nines are -log10(1 - a), null when there was no downtime (infinitely many). */
export function availabilityOf(downtimeMs: number, observedMs: number): Availability {
  if (!(observedMs > 0)) return { availability: null, nines: null };
  const unavailable = Math.min(1, Math.max(0, downtimeMs / observedMs));
  return { availability: 1 - unavailable, nines: unavailable === 0 ? null : -Math.log10(unavailable) };
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function latencyOf(h: Histogram): LatencyMs | null {
  if (h.totalCount === 0) return null;
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    count: h.totalCount,
  };
}

/** The fields of hdr-histogram-js's JS histograms that the fast merge relies on (checked before use). */
interface HistogramInternals {
  _counts?: unknown;
  unitMagnitude: number;
  subBucketCount: number;
  countsArrayIndex(value: number): number;
  setTotalCount(value: number): void;
  updatedMaxValue(value: number): void;
  updateMinNonZeroValue(value: number): void;
}

/**
 * `into.add(from)`, fast. The library's add() visits all ~23,500 counts of a histogram through a method call
 * each; merging an hour of per-second histograms that way was most of a 1-hour report's time. Counts above
 * `from`'s max are zero, and the counts arrays are plain typed arrays of the same layout (same lowest, highest
 * and digits), so this adds them directly up to that index and updates total, max and min as add() does.
 * Anything unexpected (another layout, a library change) takes the library's path. Tested equal to add().
 */
export function addHistogram(into: Histogram, from: Histogram): void {
  const a = into as unknown as HistogramInternals;
  const b = from as unknown as HistogramInternals;
  const ac = a._counts;
  const bc = b._counts;
  if (
    !(ac instanceof Uint32Array) ||
    !(bc instanceof Uint32Array) ||
    ac.length !== bc.length ||
    a.unitMagnitude !== b.unitMagnitude ||
    a.subBucketCount !== b.subBucketCount ||
    typeof a.setTotalCount !== 'function' ||
    typeof a.updatedMaxValue !== 'function' ||
    typeof a.updateMinNonZeroValue !== 'function'
  ) {
    into.add(from);
    return;
  }
  if (from.totalCount === 0) return;
  const top = Math.min(bc.length - 1, b.countsArrayIndex(from.maxValue));
  let added = 0;
  for (let i = 0; i <= top; i++) {
    const c = bc[i] as number;
    // 32-bit counts, as newHistogram() makes them and as add() would store them: 4.29e9 probes in one
    // bucket (50 days at 1000/s) is far beyond a run.
    if (c !== 0) {
      ac[i] = (ac[i] as number) + c;
      added += c;
    }
  }
  a.setTotalCount(into.totalCount + added);
  a.updatedMaxValue(Math.max(into.maxValue, from.maxValue));
  a.updateMinNonZeroValue(Math.min(into.minNonZeroValue, from.minNonZeroValue));
}

/** Per-second points and the op's merged latency: each histogram is decoded once. */
function secondsOf(op: Op, seconds: SecondRecord[]): { points: SecondPoint[]; latency: LatencyMs | null } {
  const merged = newHistogram();
  const points: SecondPoint[] = [];
  for (const s of seconds) {
    let latencyMs: LatencyMs | null = null;
    if (s.hist) {
      const h = decodeHistogram(s.hist);
      latencyMs = latencyOf(h);
      addHistogram(merged, h);
    }
    const failed = Object.values(s.failed).reduce((a, b) => a + b, 0);
    points.push({
      sendLagMs: s.sendLagUs ? { p99: s.sendLagUs.p99 / 1000, max: s.sendLagUs.max / 1000 } : null,
      op,
      sec: s.sec,
      due: s.due,
      ok: s.ok,
      failed,
      failedByClass: s.failed,
      dropped: s.dropped,
      latencyMs,
    });
  }
  return { points, latency: latencyOf(merged) };
}
