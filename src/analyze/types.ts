import type { LagRecord, Op, WriteVerification } from '../results/types.js';

/**
 * The summary of a run (docs/summary-json.md) and the per-second series the charts and seconds.csv read: the
 * shapes analyze() produces. Their own module so that what reads a summary (thresholds, report) needs none of
 * the analysis.
 */
/** Version of the summary object (docs/summary-json.md); bumped on a change a reader would misread. */
export const SUMMARY_VERSION = 2;

export type OutageOp = Op | 'full';

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** Successful probes the percentiles are computed from. */
  count: number;
}

export interface Span {
  startMs: number;
  endMs: number;
  durationMs: number;
}

/** A span from its ends. */
export function span(startMs: number, endMs: number): Span {
  return { startMs, endMs, durationMs: endMs - startMs };
}

export interface Outage extends Span {
  op: OutageOp;
  /** Not-ok probes in the window by class (`dropped` included); for `full`, both ops' probes in the overlap. */
  errors: Record<string, number>;
  /** Still failing when the run ended: ends at the end of the run. */
  open: boolean;
  /** Ended where seconds are missing from the file (see `gaps`), not at a successful probe. */
  endsAtGap: boolean;
  /** Begins right after missing seconds: the outage may have started inside the gap. */
  startsAfterGap: boolean;
  /**
   * Probes inside the window the harness stalled on (neither up nor down), between failures: the outage is
   * taken to have gone on through them. For `full`, both ops' together.
   */
  stalledProbes: number;
  /** Gross: from the last answer before the window to the first answer after it (contains the window). */
  grossStartMs: number;
  grossEndMs: number;
  /**
   * Pool model, read and write: how long after the window's end the pool itself answered, when the window ended
   * at a new connection's answer while the pool's own connections, begun or used in the outage, waited for their
   * timeouts (0: it ended at a probe's answer; null for `full`).
   */
  poolRecoveryMs: number | null;
  /**
   * Read and write: the harness's largest send lag in the seconds of the window's edges (and the second before
   * each): a probe sent that late moves an edge by as much. Null for `full`, or when the file records none.
   */
  edgeLagMs: number | null;
}

export interface Availability {
  /** 0…1, or null when nothing was observed. */
  availability: number | null;
  /** -log10(1 - availability); null when availability is 1 (no downtime) or unknown. */
  nines: number | null;
}

export interface OpSummary {
  ratePerSec: number;
  due: number;
  /** Probes sent (due minus dropped). */
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
  /** Probes the harness stalled on (`stalled`): neither up nor down, their time not observed. */
  stalled: number;
  /** Failed by class, plus `dropped`. */
  errors: Record<string, number>;
  windows: number;
  downtimeMs: number;
  /** Time in which no probe of this op was answered: from the last answer before each window to the first after. */
  grossDowntimeMs: number;
  /**
   * Degraded time: answered, but slower than the latency SLO (`slowMs`): each such probe counts one probe interval.
   * Null without an SLO. `availabilityDegraded` counts it as down too.
   */
  degradedMs: number | null;
  slowProbes: number | null;
  availabilityDegraded: number | null;
  /** Time the file covers for this op, minus gaps and harness stalls. */
  observedMs: number;
  gapMs: number;
  /** Time of probes the harness stalled on. */
  stallMs: number;
  availability: number | null;
  nines: number | null;
  /** From the first failed probe to the end of the last window. */
  disruption: Span | null;
  latencyMs: LatencyMs | null;
  /**
   * How late the harness sent probes after their intended times (worst per-second p99, overall max), ms; null
   * when the file does not record it. Large values mean the load host, not the database, was the bottleneck.
   */
  sendLagMs: { p99: number; max: number } | null;
  /**
   * The second with the highest p99 latency of successful probes (the first such, on a tie): where the
   * slowness was, not only how much. Null when nothing succeeded.
   */
  worstSecond: { sec: number; offsetMs: number; p99Ms: number; maxMs: number } | null;
}

export interface Summary {
  summaryVersion: number;
  file: string;
  label: string;
  runId: string;
  target: string;
  /** Start of the probe schedule (epoch ms). */
  startMs: number;
  /** End of what the file covers (intended time of the next probe that would have been due). */
  endMs: number;
  durationMs: number;
  plannedDurationMs: number;
  timeoutMs: number;
  /** The trailer is present: the run ended cleanly. */
  complete: boolean;
  /** The last line was cut off (crash mid-write) and ignored. */
  truncated: boolean;
  reason: 'completed' | 'interrupted' | 'error' | null;
  ops: Partial<Record<Op, OpSummary>>;
  /** Every window, read, write and full, ordered by start (then read, write, full). */
  outages: Outage[];
  downtimeMs: Record<OutageOp, number | null>;
  /**
   * Gross downtime: the time in which nothing answered, from the last answer before each window to the first
   * after it (overlapping ones counted once); full = both ops at once. Always at least downtimeMs.
   */
  grossDowntimeMs: Record<OutageOp, number | null>;
  /** The latency SLO (ms) degraded time is measured against (`--slow`), or null when none was given. */
  slowMs: number | null;
  /** Degraded time per op (see OpSummary.degradedMs); full is not defined (null). */
  degradedMs: Record<OutageOp, number | null>;
  windows: Record<OutageOp, number | null>;
  availability: Record<OutageOp, number | null>;
  nines: Record<OutageOp, number | null>;
  /** The same downtime if it happened once in a 30.44-day month. */
  oncePerMonth: { monthMs: number } & Record<OutageOp, Availability>;
  /** First failure (any op) to the end of the last window (any op). */
  disruption: Span | null;
  gaps: (Span & { op: Op; missingProbes: number })[];
  /**
   * Where the harness itself stalled (its event loop did not run): probes it could not send or watch on time,
   * per op, counted neither as up nor as down. See also the `harness-stall` warnings.
   */
  stalls: (Span & { op: Op; probes: number })[];
  writes: WriteVerification | null;
  /** Writes were to be verified but could not be: why (lost writes are unknown, and lost_writes fails). */
  writesUnverified: string | null;
  /** Actions, phases, faults and identity changes, for reading the windows against. */
  events: { atMs: number; kind: string; name: string; endMs?: number; phase?: string }[];
  /** Replication lag on green from the heartbeat (`lag` lines); null when it was not measured. */
  replicationLag: ReplicationLag | null;
  /**
   * The server version that answered first and last (an upgrade rehearsal's before and after), as the server
   * reports it; null when no read or pooled connection said (older files, writes only per-probe).
   */
  serverVersions: { before: string | null; after: string | null };
  /** Who answered: each change of the answering server (the `identity` events), in time order. */
  identities: IdentityChange[];
  /** The run's `warning` events (stale-endpoint, stale-server, …), in time order. */
  warnings: { atMs: number; name: string; message: string }[];
}

export interface IdentityChange {
  /** From when (epoch ms): the intended time of the read, or when the connection was opened. */
  atMs: number;
  serverId: number | null;
  hostname: string | null;
  version: string | null;
  readOnly: boolean | null;
  /** The address the connection reached; null when not recorded (older files). */
  address: string | null;
  /** `read`, or `connect (reads)` / `connect (writes)`: a new pooled connection asked; null in older files. */
  via: string | null;
}

export interface ReplicationLag {
  /** Green, as given (never a password). */
  green: string;
  /** Largest lag sample of the run (ms), and the start (epoch ms) of the second it was in; null: no sample. */
  maxMs: number | null;
  maxAtMs: number | null;
  /** The last lag sample of the run (ms). */
  lastMs: number | null;
  /** Lag samples (heartbeats written by another server, read on green). */
  samples: number;
  /**
   * Start (epoch ms) of the first second in which green read a heartbeat written by itself: the endpoint had
   * moved to green (a switchover), so from there on there is no replication lag to measure. Null: never.
   */
  selfWrittenFromMs: number | null;
  /** Failed heartbeat reads on green and writes through the endpoint, by error class. */
  readErrors: Record<string, number>;
  writeErrors: Record<string, number>;
}

/** One op-second, for charts and seconds.csv. */
export interface SecondPoint {
  op: Op;
  sec: number;
  due: number;
  ok: number;
  failed: number;
  failedByClass: Record<string, number>;
  dropped: number;
  latencyMs: LatencyMs | null;
  /** From the file's sendLagUs, in ms; null when not recorded. */
  sendLagMs: { p99: number; max: number } | null;
  /** Successful probes slower than the latency SLO (`slowMs`); null without one. */
  slow: number | null;
}

export interface Analysis {
  summary: Summary;
  /** Per op, per second, in time order. */
  series: Record<Op, SecondPoint[]>;
  /** Every error class seen, sorted. */
  classes: string[];
  /** Replication lag per second (from the `lag` lines), in time order; empty when not measured. */
  lag: LagRecord[];
}
