import { OPS, type Op, type ResultsFile } from '../results/types.js';
import { formatMs } from '../util/duration.js';
import { reachesOf } from './events.js';
import { endAtReach, scanOp, type OpScan, type OpWindow } from './windows.js';

/**
 * Clock skew between load hosts whose runs are merged (analyze/merge.ts). It is estimated from outage windows,
 * so it lives above the record merge (results/merge.ts), which only records what is estimated here.
 */
export interface SkewEstimate {
  source: string;
  /** Offset of this host's clock against the first source's, ms (+ = ahead), or null when it cannot be estimated. */
  skewMs: number | null;
  from: string | null;
  boundMs: number;
  /**
   * The larger of the two hosts' send lags (ms) around the edges the estimate came from: a harness that sent
   * late sees an outage begin early (probes intended before it reach the server after it), so an offset up to
   * this size may be the load host's lag, not its clock. The bound includes it. 0 when not recorded.
   */
  lagMs: number;
  exceeded: boolean;
}

/** Skew (ms) above which a warning is raised, unless one probe interval is longer. */
export const DEFAULT_SKEW_BOUND_MS = 50;

/**
 * Clock offset of each host against the first, from what both saw: a common outage's (each host's longest
 * window, if they overlap) first failed probe and first success after it (the database failed and recovered at one true time; each host stamps it with its own
 * clock, to within one probe interval), else a shared action or phase event of the same name. Start times alone
 * say nothing: hosts need not start together. `sourceIds` name the runs, in the same order.
 */
export function estimateSkews(
  runs: readonly ResultsFile[],
  sourceIds: readonly string[],
  boundMs: number,
): SkewEstimate[] {
  const scans = runs.map((r) => {
    const m: Partial<Record<Op, OpScan>> = {};
    const reaches = reachesOf(r.events);
    for (const op of OPS) {
      const s = r.header.ops[op];
      if (!s) continue;
      const scan = scanOp(op, s, r.seconds[op], r.trailer?.totals[op]?.due);
      endAtReach(scan, reaches[op]);
      m[op] = scan;
    }
    return m;
  });
  const ref = scans[0] ?? {};
  const refEvents = runs[0]?.events ?? [];
  return runs.map((r, i) => {
    const source = sourceIds[i] as string;
    const intervalMs = Math.max(
      ...OPS.flatMap((op) => {
        const a = r.header.ops[op];
        const b = runs[0]?.header.ops[op];
        return [a ? 1000 / a.ratePerSec : 0, b ? 1000 / b.ratePerSec : 0];
      }),
    );
    const bound = Math.max(boundMs, intervalMs);
    if (i === 0) return { source, skewMs: 0, from: 'reference', boundMs: bound, lagMs: 0, exceeded: false };
    let skewMs: number | null = null;
    let from: string | null = null;
    let lagMs = 0;
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
      lagMs = Math.max(sendLagAround(r, op, a), sendLagAround(runs[0] as ResultsFile, op, b));
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
    const limit = Math.max(bound, lagMs);
    return { source, skewMs, from, boundMs: limit, lagMs, exceeded: skewMs !== null && Math.abs(skewMs) > limit };
  });
}

/** The op's largest send lag (ms) in the seconds from one before the window to one after it; 0 if not recorded. */
function sendLagAround(run: ResultsFile, op: Op, w: OpWindow): number {
  const from = Math.floor(w.startMs / 1000) - 1;
  const to = Math.floor(w.endMs / 1000) + 1;
  let maxUs = 0;
  for (const s of run.seconds[op]) {
    if (s.source === undefined && s.sec >= from && s.sec <= to) maxUs = Math.max(maxUs, s.sendLagUs?.max ?? 0);
  }
  return maxUs / 1000;
}

/** The warning for a skew beyond its bound, against the reference source. */
export function skewWarning(s: SkewEstimate, referenceId: string): string {
  const bound = s.lagMs >= s.boundMs ? `${formatMs(s.boundMs)} (the hosts' send lag then)` : formatMs(s.boundMs);
  return `clock skew: ${s.source} is ${formatMs(s.skewMs ?? 0)} off ${referenceId} (from ${s.from ?? '?'}), more than ${bound}: windows mix two clocks; sync the hosts' clocks (chrony/NTP)`;
}

function longest(ws: readonly OpWindow[]): OpWindow | undefined {
  let best: OpWindow | undefined;
  for (const w of ws) if (!best || w.endMs - w.startMs > best.endMs - best.startMs) best = w;
  return best;
}
