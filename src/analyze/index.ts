import { OPS, type Op, type ResultsFile, type ResultsTrailer } from '../results/types.js';
import { eventsOf, identitiesOf, reachesOf, serverVersionsOf, warningsOf } from './events.js';
import { replicationLagOf } from './lag.js';
import { analyzeOp } from './ops.js';
import { disruptionOf, fullOutageOf, outagesOf, totalsOf, unobservedOf, type Scans } from './outages.js';
import { SUMMARY_VERSION, type Analysis, type OpSummary, type SecondPoint, type Summary } from './types.js';

export type { Analysis, LatencyMs, OpSummary, Outage, OutageOp, Summary } from './types.js';
export { MONTH_MS } from './availability.js';
export { addHistogram } from './latency.js';

/** What the analysis may be told besides the file: a latency SLO replacing the run's own (`report --slow`). */
export interface AnalyzeOptions {
  slowMs?: number | null;
}

export function analyze(results: ResultsFile, options: AnalyzeOptions = {}): Summary {
  return analyzeDetailed(results, options).summary;
}

/**
 * The summary of a results file and the per-second series behind it. Each op is analysed on its own (ops.ts),
 * then the figures across ops are put together: the full outage, every window in time order, totals
 * (outages.ts), and what the file says besides the probes (events, replication lag, write verification).
 */
export function analyzeDetailed(results: ResultsFile, options: AnalyzeOptions = {}): Analysis {
  const { header, trailer } = results;
  const slowMs = options.slowMs !== undefined ? options.slowMs : (header.slowMs ?? null);
  const scans: Scans = {};
  const ops: Partial<Record<Op, OpSummary>> = {};
  const series: Record<Op, SecondPoint[]> = { read: [], write: [] };
  const classes = new Set<string>();
  const reaches = reachesOf(results.events);
  for (const op of OPS) {
    const schedule = header.ops[op];
    if (!schedule) continue;
    const due = trailer?.totals[op]?.due;
    const a = analyzeOp(op, schedule, results.seconds[op], due, header.startMs, slowMs, reaches[op]);
    scans[op] = a.scan;
    ops[op] = a.summary;
    series[op] = a.points;
    for (const c of a.classes) classes.add(c);
  }
  const full = fullOutageOf(scans);
  const outages = outagesOf(scans, full);
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
    ...totalsOf(scans, ops, full),
    slowMs,
    degradedMs: { read: ops.read?.degradedMs ?? null, write: ops.write?.degradedMs ?? null, full: null },
    disruption: disruptionOf(outages),
    ...unobservedOf(scans),
    writesUnverified: trailer?.verifyError ?? null,
    writes: writesOf(trailer),
    events: eventsOf(results.events),
    replicationLag: replicationLagOf(results),
    identities: identitiesOf(results.events),
    serverVersions: serverVersionsOf(identitiesOf(results.events)),
    warnings: warningsOf(results.events),
  };
  return { summary, series, classes: [...classes].sort(), lag: results.lag ?? [] };
}

/** The trailer's write verification, copied (the summary must not share arrays with the file). */
function writesOf(trailer: ResultsTrailer | null): Summary['writes'] {
  const w = trailer?.writes;
  return w
    ? {
        acknowledged: w.acknowledged,
        lost: w.lost,
        lostSeconds: [...w.lostSeconds],
        inDoubtCommitted: w.inDoubtCommitted,
        inDoubtAbsent: w.inDoubtAbsent,
        checkedAt: w.checkedAt,
      }
    : null;
}
