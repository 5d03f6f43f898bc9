import {
  DROPPED,
  OK,
  STALLED,
  intendedMs,
  seqAtOrAfter,
  type Op,
  type OpSchedule,
  type Run,
  type SecondRecord,
} from '../results/types.js';
import { addCounts } from './counts.js';

/**
 * Outage windows of one op, from the per-probe `runs` of its second records.
 *
 * A window is a maximal stretch in which probes were due and none succeeded: it starts at the intended time of
 * its first not-ok probe (failed or dropped) and ends when an answer came back: the earliest answer of the
 * successful probes after it (intended time + latency, from the records' `edges`). A probe that waited through
 * the outage does not shorten it, whatever the timeout; failures intended before that answer came (one client
 * refused while another waited in the listen queue) are the same outage, and a failure intended after it starts
 * a new one. Files without edges end windows at the answering probe's intended time. Boundaries come from
 * seqs, not from per-second counts.
 *
 * Gross: from the last answer before the window (when the last successful probe before its first failure was
 * answered) to the first answer after it: the time in which nothing answered, as switchover monitors report
 * it. It contains the window.
 *
 * A gap in seqs (seconds missing from the file, e.g. after a crash) is unknown time: it is neither success
 * nor failure. A window open when a gap begins ends at the gap (flagged `endsAtGap`); failures right after a
 * gap start a new window (flagged `startsAfterGap`), because the outage may have started inside the gap.
 * Probes the harness stalled on (`stalled`) are unknown time too, with one difference: stalled probes between
 * two failures do not split a window (a harness too busy to watch a few probes in the middle of an outage
 * does not make it two outages); the window counts them in `stalledProbes`. A stall followed by a success
 * ends the window where the stall began (`endsAtGap`: it recovered somewhere in there), and a window that
 * starts after a stall is `startsAfterGap`. Stalls outside windows are listed as `stalls`.
 */
export interface OpWindow {
  op: Op;
  startMs: number;
  endMs: number;
  /** Not-ok probes in the window by class (`dropped` included). */
  errors: Record<string, number>;
  /** The window's probes as [firstSeq, count, outcome] runs; used to count errors inside sub-intervals. */
  runs: Run[];
  /** Still failing when the run ended: the window ends at the end of the run. */
  open: boolean;
  /** Ended because seconds are missing from the file, not because a probe succeeded. */
  endsAtGap: boolean;
  /** Its first failed probe is the first probe after missing seconds: it may have started earlier. */
  startsAfterGap: boolean;
  /** Stalled probes between its failures (time the harness could not watch, bridged: see scanOp). */
  stalledProbes: number;
  /** The last answer before it (or its start, when none is known), and the first answer after it (or its end). */
  grossStartMs: number;
  grossEndMs: number;
  /**
   * Pool only: how long after the window's end (a scout's answer: endAtReach) the pool itself answered; 0 when
   * the window ends at a probe's answer.
   */
  poolRecoveryMs: number;
  /** The harness's largest send lag around its edges (setEdgeLags), ms; null when the file records none. */
  edgeLagMs: number | null;
}

interface Gap {
  op: Op;
  startMs: number;
  endMs: number;
  /** Seqs missing: [firstSeq, count]. */
  firstSeq: number;
  count: number;
}

export interface OpScan {
  op: Op;
  schedule: OpSchedule;
  windows: OpWindow[];
  gaps: Gap[];
  /** Stretches of probes the harness stalled on outside windows: not observed, like gaps (the seqs are in the file). */
  stalls: Gap[];
  /** Seqs covered by the file: 0 … nextSeq-1 (minus gaps). */
  nextSeq: number;
  /** Start of the op's schedule (intended time of seq 0). */
  startMs: number;
  /** End of what the file covers: the intended time the next probe would have been due. */
  endMs: number;
}

/**
 * Scans one op. `expectedSeqs` (from the trailer's totals, when present) makes missing final seconds a gap
 * too; without a trailer the end of the file is the end of what is known.
 */
export function scanOp(op: Op, schedule: OpSchedule, seconds: SecondRecord[], expectedSeqs?: number): OpScan {
  const windows: OpWindow[] = [];
  const gaps: Gap[] = [];
  const stalls: Gap[] = [];
  let open: OpWindow | null = null;
  /** While `open`: when the earliest answer since its last failure came; null while nothing has answered. */
  let closingAt: number | null = null;
  let nextSeq = 0;
  let afterGap = false;
  /** While a window is open: the first seq of the stall stretch that followed its last failure. */
  let stallFrom: number | null = null;
  /** Stall stretches that a window bridged (not listed in `stalls`). */
  const bridged = new Set<Gap>();
  const at = (seq: number): number => intendedMs(schedule, seq);
  const answeredAfterUs = new Map<number, number>();
  for (const sec of seconds) for (const [seq, us] of sec.edges ?? []) answeredAfterUs.set(seq, us);
  /** When probe `seq` (ok) was answered; its intended time when the file does not say. */
  const answeredAt = (seq: number): number => at(seq) + (answeredAfterUs.get(seq) ?? 0) / 1000;
  /** The seq of the last probe, when it succeeded (for the gross start of a window opening next). */
  let lastOk: number | null = null;

  /** The open window ends when the answer came back. */
  const close = (): void => {
    const o = open as OpWindow;
    o.endMs = closingAt as number;
    o.grossEndMs = o.endMs;
    windows.push(o);
    open = null;
    closingAt = null;
  };
  const gapTo = (firstSeq: number): void => {
    gaps.push({ op, startMs: at(nextSeq), endMs: at(firstSeq), firstSeq: nextSeq, count: firstSeq - nextSeq });
    endAtUnknown();
  };
  /** What follows is not known (missing seconds, a stall): an answered window ends at its answer, a failing one here. */
  const endAtUnknown = (): void => {
    if (open && closingAt !== null) close();
    else if (open) {
      open.endMs = at(stallFrom ?? nextSeq);
      open.grossEndMs = open.endMs;
      open.endsAtGap = true;
      windows.push(open);
      open = null;
    }
    stallFrom = null;
    afterGap = true;
    lastOk = null;
  };
  const openAt = (first: number): OpWindow => {
    // A slow last answer may come after the next probe's failure: the gross start is never later.
    const before = lastOk === first - 1 ? Math.min(answeredAt(lastOk), at(first)) : at(first);
    return {
      op,
      startMs: at(first),
      endMs: at(first),
      errors: {},
      runs: [],
      open: false,
      endsAtGap: false,
      poolRecoveryMs: 0,
      edgeLagMs: null,
      startsAfterGap: afterGap,
      stalledProbes: 0,
      grossStartMs: before,
      grossEndMs: at(first),
    };
  };

  for (const sec of seconds) {
    for (const run of sec.runs) {
      let [first, count] = run;
      const outcome = run[2];
      // Seqs already seen (a duplicated second) are ignored: each probe counts once.
      if (first < nextSeq) {
        count -= nextSeq - first;
        first = nextSeq;
      }
      if (count <= 0) continue;
      if (first > nextSeq) gapTo(first);
      nextSeq = first + count;
      if (outcome === STALLED) {
        addStall(stalls, op, first, count, at);
        if (open && closingAt !== null) endAtUnknown();
        else if (open) stallFrom ??= first;
        else afterGap = true;
        continue;
      }
      if (outcome === OK) {
        if (open && stallFrom !== null) endAtUnknown();
        else if (open) {
          // The earliest answer ends the outage; only probes intended before it can have answered earlier, and
          // only those whose answer the file recorded say when (the first one falls back to its intended time).
          for (let seq = first; seq < first + count && at(seq) < (closingAt ?? Infinity); seq++) {
            if (closingAt === null) closingAt = answeredAt(seq);
            else if (answeredAfterUs.has(seq)) closingAt = Math.min(closingAt, answeredAt(seq));
          }
        }
        lastOk = first + count - 1;
        afterGap = false;
        continue;
      }
      let from = first;
      if (open && closingAt !== null) {
        // Failures intended before the answer came are the same outage; from the answer on, a new one.
        const fromAnswer = Math.max(first, Math.min(first + count, seqAtOrAfter(schedule, closingAt)));
        if (fromAnswer > first) addToWindow(open, first, fromAnswer - first, outcome);
        if (fromAnswer < first + count) close();
        from = fromAnswer;
      } else if (open && stallFrom !== null) {
        // A failure after the stall: the outage went on through it.
        for (const g of stalls) if (g.firstSeq >= stallFrom) bridged.add(g);
        open.stalledProbes += first - stallFrom;
        stallFrom = null;
      }
      if (from < first + count) {
        open ??= openAt(from);
        addToWindow(open, from, first + count - from, outcome);
      }
      lastOk = null;
      afterGap = false;
    }
  }
  if (expectedSeqs !== undefined && expectedSeqs > nextSeq) {
    gapTo(expectedSeqs);
    nextSeq = expectedSeqs;
  }
  const endMs = at(nextSeq);
  if (open && (closingAt !== null || stallFrom !== null)) endAtUnknown();
  else if (open) {
    const o: OpWindow = open;
    o.endMs = endMs;
    o.grossEndMs = endMs;
    o.open = true;
    windows.push(o);
  }
  const unknown = stalls.filter((g) => !bridged.has(g));
  return { op, schedule, windows, gaps, stalls: unknown, nextSeq, startMs: at(0), endMs };
}

/** Stalled probes [first, first+count): extend the last stall when they continue it, else start one. */
function addStall(stalls: Gap[], op: Op, first: number, count: number, at: (seq: number) => number): void {
  const last = stalls[stalls.length - 1];
  if (last !== undefined && last.firstSeq + last.count === first) {
    last.count += count;
    last.endMs = at(first + count);
  } else {
    stalls.push({ op, startMs: at(first), endMs: at(first + count), firstSeq: first, count });
  }
}

/** Not-ok probes [first, first+count) into their window: counted by class, kept as runs (contiguous ones merged). */
function addToWindow(w: OpWindow, first: number, count: number, outcome: string): void {
  w.errors[outcome] = (w.errors[outcome] ?? 0) + count;
  const last = w.runs[w.runs.length - 1];
  if (last && last[2] === outcome && last[0] + last[1] === first) last[1] += count;
  else w.runs.push([first, count, outcome]);
}

// Lives with intendedMs() in results/types.ts, which also knows merged (multi-source) schedules.

/** Not-ok probes of `w` whose intended time lies in [fromMs, toMs), by class. */
function errorsBetween(w: OpWindow, schedule: OpSchedule, fromMs: number, toMs: number): Record<string, number> {
  const lo = seqAtOrAfter(schedule, fromMs);
  const hi = seqAtOrAfter(schedule, toMs);
  const out: Record<string, number> = {};
  for (const [first, count, outcome] of w.runs) {
    const n = Math.min(first + count, hi) - Math.max(first, lo);
    if (n > 0) out[outcome] = (out[outcome] ?? 0) + n;
  }
  return out;
}

export interface FullWindow {
  startMs: number;
  endMs: number;
  errors: Record<string, number>;
  /** Per op, the not-ok probes inside the overlap. */
  errorsByOp: Partial<Record<Op, Record<string, number>>>;
  open: boolean;
  endsAtGap: boolean;
  startsAfterGap: boolean;
  stalledProbes: number;
  /** Where both ops' gross windows overlap: neither answered. */
  grossStartMs: number;
  grossEndMs: number;
}

/** Full outage: where read and write windows overlap (their intersection). Touching windows do not overlap. */
export function intersectWindows(read: OpScan, write: OpScan): FullWindow[] {
  const out: FullWindow[] = [];
  let i = 0;
  let j = 0;
  while (i < read.windows.length && j < write.windows.length) {
    const r = read.windows[i] as OpWindow;
    const w = write.windows[j] as OpWindow;
    const startMs = Math.max(r.startMs, w.startMs);
    const endMs = Math.min(r.endMs, w.endMs);
    if (endMs > startMs) {
      const byRead = errorsBetween(r, read.schedule, startMs, endMs);
      const byWrite = errorsBetween(w, write.schedule, startMs, endMs);
      out.push({
        startMs,
        endMs,
        errors: addCounts(addCounts({}, byRead), byWrite),
        errorsByOp: { read: byRead, write: byWrite },
        open: (r.open && endMs === r.endMs) || (w.open && endMs === w.endMs),
        endsAtGap: (r.endsAtGap && endMs === r.endMs) || (w.endsAtGap && endMs === w.endMs),
        startsAfterGap: (r.startsAfterGap && startMs === r.startMs) || (w.startsAfterGap && startMs === w.startMs),
        stalledProbes: r.stalledProbes + w.stalledProbes,
        grossStartMs: Math.min(startMs, Math.max(r.grossStartMs, w.grossStartMs)),
        grossEndMs: Math.max(endMs, Math.min(r.grossEndMs, w.grossEndMs)),
      });
    }
    if (r.endMs < w.endMs) i++;
    else j++;
  }
  return out;
}

/** Full outage when only one op was probed: that op's windows. */
export function singleOpFull(scan: OpScan): FullWindow[] {
  return scan.windows.map((w) => ({
    startMs: w.startMs,
    endMs: w.endMs,
    errors: { ...w.errors },
    errorsByOp: { [scan.op]: { ...w.errors } },
    open: w.open,
    endsAtGap: w.endsAtGap,
    startsAfterGap: w.startsAfterGap,
    stalledProbes: w.stalledProbes,
    grossStartMs: w.grossStartMs,
    grossEndMs: w.grossEndMs,
  }));
}

/** Observed intervals of an op: its span minus its gaps and stalls. */
export function observedIntervals(scan: OpScan): [number, number][] {
  const out: [number, number][] = [];
  let from = scan.startMs;
  const unknown = [...scan.gaps, ...scan.stalls].sort((a, b) => a.startMs - b.startMs);
  for (const g of unknown) {
    if (g.startMs > from) out.push([from, g.startMs]);
    from = Math.max(from, g.endMs);
  }
  if (scan.endMs > from) out.push([from, scan.endMs]);
  return out;
}

export function intersectIntervals(a: [number, number][], b: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as [number, number];
    const y = b[j] as [number, number];
    const s = Math.max(x[0], y[0]);
    const e = Math.min(x[1], y[1]);
    if (e > s) out.push([s, e]);
    if (x[1] < y[1]) i++;
    else j++;
  }
  return out;
}

/** An op's gross windows as intervals, overlapping ones joined (nothing answered in each). */
export function grossIntervals(scan: OpScan): [number, number][] {
  return unionIntervals(scan.windows.map((w) => [w.grossStartMs, w.grossEndMs]));
}

/** Overlapping or touching intervals joined, in order. */
function unionIntervals(intervals: [number, number][]): [number, number][] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

export function totalMs(intervals: [number, number][]): number {
  return intervals.reduce((a, [s, e]) => a + (e - s), 0);
}

/** What a stuck pool's probes meet while its connections hang: no answer from the database. */
const WAITED = new Set<string>(['timeout', DROPPED, STALLED]);

/**
 * A pool's scout was answered inside a window (`pool-reach` events, sorted: load/pool-scout.ts): the database
 * answered a new connection there, while the pool's own connections, begun or used during the outage, waited for
 * their timeouts. The window ends at the earliest such answer and the rest is the pool's recovery
 * (`poolRecoveryMs`), provided every probe of the window intended from then on only waited (timed out, dropped,
 * stalled): a failure that is an answer (refused, an error from the server) means this op was not back yet, and
 * a later scout's answer is tried. Open windows and those ending at missing seconds keep their ends.
 */
export function endAtReach(scan: OpScan, reachesMs: readonly number[]): void {
  if (reachesMs.length === 0) return;
  for (const w of scan.windows) {
    if (w.open || w.endsAtGap) continue;
    const r = reachesMs.find((t) => t > w.startMs && t < w.endMs && onlyWaitedFrom(w, scan.schedule, t));
    if (r === undefined) continue;
    w.poolRecoveryMs = w.endMs - r;
    w.endMs = r;
    w.grossEndMs = r;
  }
}

/** Every not-ok probe of `w` intended at or after `fromMs` only waited. */
function onlyWaitedFrom(w: OpWindow, schedule: OpSchedule, fromMs: number): boolean {
  return w.runs.every(
    ([first, count, outcome]) => WAITED.has(outcome) || intendedMs(schedule, first + count - 1) < fromMs,
  );
}

/**
 * Each window's `edgeLagMs`: the op's largest send lag in the seconds holding its start and its end and the
 * second before each. A probe sent that late can start a window early or end it late by as much: the edges are
 * exact to one interval only when the harness was on time. Null when the file records no send lag there.
 */
export function setEdgeLags(scan: OpScan, seconds: readonly SecondRecord[]): void {
  if (scan.windows.length === 0) return;
  const maxUs = new Map<number, number>();
  for (const s of seconds) {
    if (s.sendLagUs !== undefined) maxUs.set(s.sec, Math.max(maxUs.get(s.sec) ?? 0, s.sendLagUs.max));
  }
  for (const w of scan.windows) {
    let lag: number | null = null;
    for (const edge of [w.startMs, w.endMs]) {
      const sec = Math.floor(edge / 1000);
      for (const s of [sec - 1, sec]) {
        const us = maxUs.get(s);
        if (us !== undefined) lag = Math.max(lag ?? 0, us / 1000);
      }
    }
    w.edgeLagMs = lag;
  }
}
