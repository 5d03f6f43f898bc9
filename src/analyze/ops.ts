import type { Op, OpSchedule, SecondRecord } from '../results/types.js';
import { availabilityOf } from './availability.js';
import { addCounts, sortKeys } from './counts.js';
import { secondsOf } from './latency.js';
import { span, type OpSummary, type SecondPoint } from './types.js';
import { endAtReach, grossIntervals, scanOp, setEdgeLags, totalMs, type OpScan } from './windows.js';

/** One op of a run, analysed: its windows (for the cross-op figures), its summary and its series. */
export interface OpAnalysis {
  scan: OpScan;
  summary: OpSummary;
  /** Per second, in time order. */
  points: SecondPoint[];
  /** The error classes of its failed probes (`dropped` is not one). */
  classes: string[];
}

/**
 * One op's summary: probe counts, outage windows, time observed, availability, latency, send lag and the worst
 * second. `expectedSeqs` is the trailer's count (missing final seconds are a gap); `runStartMs` is the run's
 * start, from which the worst second's offset is given; `reachesMs`: when its pool's scouts were answered.
 */
export function analyzeOp(
  op: Op,
  schedule: OpSchedule,
  seconds: SecondRecord[],
  expectedSeqs: number | undefined,
  runStartMs: number,
  slowMs: number | null = null,
  reachesMs: readonly number[] = [],
): OpAnalysis {
  const scan = scanOp(op, schedule, seconds, expectedSeqs);
  endAtReach(scan, reachesMs);
  setEdgeLags(scan, seconds);
  const { points, latency, slow } = secondsOf(op, seconds, slowMs);
  const { due, ok, dropped, stalled, errors } = countsOf(seconds);
  const classes = Object.keys(errors);
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  if (dropped > 0) errors.dropped = dropped;
  const downtimeMs = scan.windows.reduce((a, w) => a + (w.endMs - w.startMs), 0);
  const gapMs = scan.gaps.reduce((a, g) => a + (g.endMs - g.startMs), 0);
  const stallMs = scan.stalls.reduce((a, g) => a + (g.endMs - g.startMs), 0);
  const observedMs = scan.endMs - scan.startMs - gapMs - stallMs;
  const av = availabilityOf(downtimeMs, observedMs);
  // A slow answer stands for one probe interval of degraded service.
  const degradedMs = slowMs === null ? null : (slow * 1000) / schedule.ratePerSec;
  const first = scan.windows[0];
  const last = scan.windows[scan.windows.length - 1];
  const summary: OpSummary = {
    ratePerSec: schedule.ratePerSec,
    due,
    sent: due - dropped,
    ok,
    failed,
    dropped,
    stalled,
    errors: sortKeys(errors),
    windows: scan.windows.length,
    downtimeMs,
    grossDowntimeMs: totalMs(grossIntervals(scan)),
    degradedMs,
    slowProbes: slowMs === null ? null : slow,
    availabilityDegraded: degradedMs === null ? null : availabilityOf(downtimeMs + degradedMs, observedMs).availability,
    observedMs,
    gapMs,
    stallMs,
    availability: av.availability,
    nines: av.nines,
    disruption: first && last ? span(first.startMs, last.endMs) : null,
    latencyMs: latency,
    sendLagMs: sendLagOf(points),
    worstSecond: worstSecondOf(points, runStartMs),
  };
  return { scan, summary, points, classes };
}

/** Probe counts over the op's seconds; `errors` holds the failed ones by class. */
function countsOf(seconds: SecondRecord[]): {
  due: number;
  ok: number;
  dropped: number;
  stalled: number;
  errors: Record<string, number>;
} {
  const errors: Record<string, number> = {};
  let due = 0;
  let ok = 0;
  let dropped = 0;
  let stalled = 0;
  for (const s of seconds) {
    due += s.due;
    ok += s.ok;
    dropped += s.dropped;
    stalled += s.stalled ?? 0;
    addCounts(errors, s.failed);
  }
  return { due, ok, dropped, stalled, errors };
}

/** Worst per-second p99 and overall max of the harness's send lag; null when the file does not record it. */
function sendLagOf(points: SecondPoint[]): OpSummary['sendLagMs'] {
  const lags = points.flatMap((p) => (p.sendLagMs ? [p.sendLagMs] : []));
  if (lags.length === 0) return null;
  // A loop, not Math.max(...lags): a long run has more seconds than a call has room for arguments.
  let p99 = -Infinity;
  let max = -Infinity;
  for (const l of lags) {
    p99 = Math.max(p99, l.p99);
    max = Math.max(max, l.max);
  }
  return { p99, max };
}

/** The second with the highest p99 (the first such, on a tie); null when nothing succeeded. */
function worstSecondOf(points: SecondPoint[], runStartMs: number): OpSummary['worstSecond'] {
  let worst: SecondPoint | null = null;
  for (const p of points) {
    if (p.latencyMs && (!worst?.latencyMs || p.latencyMs.p99 > worst.latencyMs.p99)) worst = p;
  }
  return worst?.latencyMs
    ? {
        sec: worst.sec,
        // The run may start mid-second: its first second then begins at offset 0, not before it.
        offsetMs: Math.max(0, worst.sec * 1000 - runStartMs),
        p99Ms: worst.latencyMs.p99,
        maxMs: worst.latencyMs.max,
      }
    : null;
}
