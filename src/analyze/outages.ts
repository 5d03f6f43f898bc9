import { OPS, type Op } from '../results/types.js';
import { MONTH_MS, availabilityOf, oncePerMonthOf } from './availability.js';
import { sortKeys } from './counts.js';
import { span, type OpSummary, type Outage, type OutageOp, type Span, type Summary } from './types.js';
import {
  grossIntervals,
  intersectIntervals,
  intersectWindows,
  observedIntervals,
  singleOpFull,
  totalMs,
  type FullWindow,
  type OpScan,
} from './windows.js';

/** The figures across ops: each op's windows and the full outage (both down), from the ops' scans. */
export type Scans = Partial<Record<Op, OpScan>>;

/**
 * The full outage and the time in which it could be seen: where read and write windows overlap, observed where
 * both ops were; with one op probed, that op's windows. Null when no op was probed.
 */
export interface FullOutage {
  windows: FullWindow[];
  observedMs: number;
}

export function fullOutageOf(scans: Scans): FullOutage | null {
  const { read, write } = scans;
  if (read && write) {
    return {
      windows: intersectWindows(read, write),
      observedMs: totalMs(intersectIntervals(observedIntervals(read), observedIntervals(write))),
    };
  }
  const only = read ?? write;
  return only ? { windows: singleOpFull(only), observedMs: totalMs(observedIntervals(only)) } : null;
}

/** Every window, read, write and full, ordered by start (then read, write, full). */
export function outagesOf(scans: Scans, full: FullOutage | null): Outage[] {
  const outages: Outage[] = [];
  const windows = [
    ...OPS.flatMap((op) => (scans[op]?.windows ?? []).map((w) => ({ op: op as OutageOp, w }))),
    ...(full?.windows ?? []).map((w) => ({
      op: 'full' as OutageOp,
      w: { ...w, poolRecoveryMs: null, edgeLagMs: null },
    })),
  ];
  for (const { op, w } of windows) {
    outages.push({
      op,
      ...span(w.startMs, w.endMs),
      errors: sortKeys(w.errors),
      open: w.open,
      endsAtGap: w.endsAtGap,
      startsAfterGap: w.startsAfterGap,
      stalledProbes: w.stalledProbes,
      grossStartMs: w.grossStartMs,
      grossEndMs: w.grossEndMs,
      poolRecoveryMs: w.poolRecoveryMs,
      edgeLagMs: w.edgeLagMs,
    });
  }
  const opOrder: Record<OutageOp, number> = { read: 0, write: 1, full: 2 };
  outages.sort((a, b) => a.startMs - b.startMs || opOrder[a.op] - opOrder[b.op]);
  return outages;
}

/** The summary's per-op-and-full figures, in the summary's key order. */
export type OutageTotals = Pick<
  Summary,
  'downtimeMs' | 'grossDowntimeMs' | 'windows' | 'availability' | 'nines' | 'oncePerMonth'
>;

export function totalsOf(scans: Scans, ops: Partial<Record<Op, OpSummary>>, full: FullOutage | null): OutageTotals {
  const fullDowntimeMs = full ? full.windows.reduce((a, w) => a + (w.endMs - w.startMs), 0) : null;
  const fullAv = full ? availabilityOf(fullDowntimeMs as number, full.observedMs) : { availability: null, nines: null };
  const downtimeMs = {
    read: ops.read?.downtimeMs ?? null,
    write: ops.write?.downtimeMs ?? null,
    full: fullDowntimeMs,
  };
  return {
    downtimeMs,
    grossDowntimeMs: {
      read: ops.read?.grossDowntimeMs ?? null,
      write: ops.write?.grossDowntimeMs ?? null,
      full: fullGrossMs(scans),
    },
    windows: {
      read: ops.read?.windows ?? null,
      write: ops.write?.windows ?? null,
      full: full ? full.windows.length : null,
    },
    availability: {
      read: ops.read?.availability ?? null,
      write: ops.write?.availability ?? null,
      full: fullAv.availability,
    },
    nines: { read: ops.read?.nines ?? null, write: ops.write?.nines ?? null, full: fullAv.nines },
    oncePerMonth: {
      monthMs: MONTH_MS,
      read: oncePerMonthOf(downtimeMs.read, ops.read?.observedMs ?? 0),
      write: oncePerMonthOf(downtimeMs.write, ops.write?.observedMs ?? 0),
      full: oncePerMonthOf(downtimeMs.full, full?.observedMs ?? 0),
    },
  };
}

/** Time in which neither op answered (both gross windows at once); one op probed: its gross downtime. */
function fullGrossMs(scans: Scans): number | null {
  const { read, write } = scans;
  if (read && write) return totalMs(intersectIntervals(grossIntervals(read), grossIntervals(write)));
  const only = read ?? write;
  return only ? totalMs(grossIntervals(only)) : null;
}

/** First failure (any op) to the end of the last window (any op); null when nothing failed. */
export function disruptionOf(outages: Outage[]): Span | null {
  const opWindows = outages.filter((o) => o.op !== 'full');
  if (opWindows.length === 0) return null;
  // Loops, not Math.min(...): a flapping run may have more windows than a call has room for arguments.
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const o of opWindows) {
    startMs = Math.min(startMs, o.startMs);
    endMs = Math.max(endMs, o.endMs);
  }
  return span(startMs, endMs);
}

/** Time not observed, per op: seconds missing from the file, and probes the harness stalled on. */
export function unobservedOf(scans: Scans): Pick<Summary, 'gaps' | 'stalls'> {
  return {
    gaps: OPS.flatMap((op) =>
      (scans[op]?.gaps ?? []).map((g) => ({ op, ...span(g.startMs, g.endMs), missingProbes: g.count })),
    ),
    stalls: OPS.flatMap((op) =>
      (scans[op]?.stalls ?? []).map((g) => ({ op, ...span(g.startMs, g.endMs), probes: g.count })),
    ),
  };
}
