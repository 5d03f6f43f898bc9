/**
 * The results file: the one record type every stage exchanges (Vegeta's Result).
 * `run` writes it, `report` / `compare` / `merge` read it and need no database.
 * Format documented in docs/results-format.md — change both together, and bump
 * RESULTS_VERSION on any change a version-1 reader would misread.
 */
export const RESULTS_FORMAT = 'downtime-results';
export const RESULTS_VERSION = 1;

export type Op = 'read' | 'write';
export const OPS: readonly Op[] = ['read', 'write'];

/** Outcome of one probe: `ok`, `dropped`, or an error class (see src/load/classify.ts). */
export type Outcome = string;
export const OK: Outcome = 'ok';
export const DROPPED: Outcome = 'dropped';

export type ConnectionModel = 'pool' | 'per-probe';

export interface OpSchedule {
  /** Probes per second for this op. */
  ratePerSec: number;
  /**
   * Intended time (epoch ms, fractional) of probe seq 0. Probe `seq` was due at
   * `t0Ms + seq * 1000 / ratePerSec`: this is what makes outage boundaries exact.
   */
  t0Ms: number;
}

export interface ResultsHeader {
  type: 'header';
  format: typeof RESULTS_FORMAT;
  version: number;
  tool: { name: 'downtime'; version: string };
  /** Unique id of this run; also the `run_id` of every row the write probe inserts. */
  runId: string;
  /** Free-form name, e.g. the scenario's name ("in-place", "blue-green"). */
  label: string;
  /** The target with any password removed. */
  target: { url: string; host: string; port: number; database: string; user: string };
  host: { hostname: string; pid: number; platform: string; node: string; cpus: number };
  /** Epoch ms at which the run started (first probes due). */
  startMs: number;
  /** Planned duration. */
  durationMs: number;
  ops: Partial<Record<Op, OpSchedule>>;
  timeoutMs: number;
  connectTimeoutMs: number;
  connection: ConnectionModel;
  workers: number;
  /** Cap on probes in flight per op (across workers); beyond it a due probe is `dropped`. */
  maxInFlight: number;
  /** Pool model: connections per op per worker; a probe finding all busy waits (counted in its latency). */
  poolSize?: number;
  /** Boundaries are recorded per probe (runs of equal outcomes), so resolution is one probe interval. */
  resolution: 'probe';
  table: string;
  readSql: string;
  writeSql: string;
  /** HDR histograms hold latencies of successful probes, measured from the intended time. */
  histogram: { unit: 'us'; lowestUs: number; highestUs: number; significantDigits: number };
  /** The scenario that produced the run, passwords removed, if any. */
  scenario?: unknown;
}

/** A run of consecutive probes (in seq order) with the same outcome: [firstSeq, count, outcome]. */
export type Run = [firstSeq: number, count: number, outcome: Outcome];

export interface ServerSeen {
  serverId: number | null;
  hostname: string | null;
  version: string | null;
  readOnly: boolean | null;
  /** Probes answered by this server in this second. */
  count: number;
}

export interface SecondRecord {
  type: 'second';
  op: Op;
  /** Epoch second (floor(intendedMs / 1000)) of the probes counted here. */
  sec: number;
  /** Probes due in this second. Invariant: due = ok + sum(failed) + dropped. */
  due: number;
  ok: number;
  /** Failed probes by error class (`timeout`, `refused`, `read-only`, …). */
  failed: Record<string, number>;
  dropped: number;
  /** Compressed base64 HDR histogram of successful probes' latencies (µs), or null when none succeeded. */
  hist: string | null;
  /** Every probe due in this second, as runs of equal outcomes in seq order; runs cover exactly `due` probes. */
  runs: Run[];
  /** Servers that answered (reads report identity; writes do not), by count. */
  servers: ServerSeen[];
  /**
   * How late the harness issued probes after their intended times (µs): p99 (the worst worker's) and max.
   * Large values mean the load host, not the database, was the bottleneck. Optional: absent in files
   * from versions that did not record it.
   */
  sendLagUs?: { p99: number; max: number };
}

export type EventKind =
  | 'run' // run start/stop markers
  | 'action' // a scenario action started/ended (shell command or sandbox step)
  | 'phase' // a named phase (e.g. SWITCHOVER_IN_PROGRESS)
  | 'fault' // an injected fault's true start/end
  | 'identity' // the answering server changed
  | 'output' // a line of a shell action's output
  | 'warning'
  | 'note';

export interface EventRecord {
  type: 'event';
  /** Epoch ms (fractional) when it happened. */
  atMs: number;
  kind: EventKind;
  name: string;
  /** For events that span time (an action), when it ended. */
  endMs?: number;
  detail?: Record<string, unknown>;
}

export interface OpTotals {
  due: number;
  ok: number;
  failed: number;
  dropped: number;
}

export interface WriteVerification {
  /** Writes the harness saw acknowledged. */
  acknowledged: number;
  /** Acknowledged but missing on the final endpoint. */
  lost: number;
  /** Epoch seconds in which lost writes were due. */
  lostSeconds: number[];
  /** The client saw an error or timeout, but the row exists. */
  inDoubtCommitted: number;
  /** The client saw an error or timeout, and the row does not exist. */
  inDoubtAbsent: number;
  /** Which endpoint was checked (redacted URL). */
  checkedAt: string;
}

export interface ResultsTrailer {
  type: 'trailer';
  endMs: number;
  /** completed: ran its duration; interrupted: SIGINT/SIGTERM; error: stopped by an error. */
  reason: 'completed' | 'interrupted' | 'error';
  totals: Partial<Record<Op, OpTotals>>;
  writes?: WriteVerification;
  error?: string;
}

export type ResultsLine = ResultsHeader | SecondRecord | EventRecord | ResultsTrailer;

/** A results file as read back. */
export interface ResultsFile {
  path: string;
  header: ResultsHeader;
  /** Per op, ordered by second. */
  seconds: Record<Op, SecondRecord[]>;
  events: EventRecord[];
  trailer: ResultsTrailer | null;
  /** True when the last line was cut off (a crash mid-write); it was ignored. */
  truncated: boolean;
  /** True when the trailer is present: the run ended cleanly. */
  complete: boolean;
}

/** Intended time (epoch ms) of probe `seq` of an op. */
export function intendedMs(schedule: OpSchedule, seq: number): number {
  return schedule.t0Ms + (seq * 1000) / schedule.ratePerSec;
}
