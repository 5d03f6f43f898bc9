/**
 * The results file: the one record type every stage exchanges (Vegeta's Result).
 * `run` writes it, `report` / `compare` / `merge` read it and need no database.
 * Format documented in docs/results-format.md — change both together, and bump
 * RESULTS_VERSION on any change a version-1 reader would misread.
 */
export const RESULTS_FORMAT = 'downtime-results';
/**
 * Version 3: probes may have the outcome `stalled` (the harness itself could not send or watch them on time),
 * which a version-1 or -2 reader would count as the database's downtime. Version 2 was a merged file
 * (schedules with `parts`, a header with `sources`), which a version-1 reader would misread as one linear
 * schedule; version 3 files may be either (parts say which). This reader reads all three.
 */
export const RESULTS_VERSION = 3;
/** Version of a file written by `downtime merge` (see RESULTS_VERSION). */
export const MERGED_RESULTS_VERSION = 3;
/** Highest version this reader understands. */
export const MAX_RESULTS_VERSION = 3;

export type Op = 'read' | 'write';
export const OPS: readonly Op[] = ['read', 'write'];

/** Outcome of one probe: `ok`, `dropped`, or an error class (see src/load/classify.ts). */
export type Outcome = string;
export const OK: Outcome = 'ok';
export const DROPPED: Outcome = 'dropped';
/**
 * The harness, not the database, decided this probe's fate: it timed out while the harness was stalled (its
 * event loop did not run: a paused VM, a GC storm, SIGSTOP), or it was sent that late. Neither up nor down:
 * analysis treats it as time not observed, like missing seconds.
 */
export const STALLED: Outcome = 'stalled';

export type ConnectionModel = 'pool' | 'per-probe';

export interface OpSchedule {
  /** Probes per second for this op. */
  ratePerSec: number;
  /**
   * Intended time (epoch ms, fractional) of probe seq 0. Probe `seq` was due at
   * `t0Ms + seq * 1000 / ratePerSec`: this is what makes outage boundaries exact.
   */
  t0Ms: number;
  /**
   * Merged files only (version 2): the sources' own linear schedules, each covering its seqs 0…seqs-1.
   * The merged seqs are those probes in intended-time order (ties: earlier part first), so the intended
   * time of merged seq k is the k-th smallest of all parts' times; `ratePerSec` and `t0Ms` are then only the
   * sum of rates and the earliest t0 (for display), not a linear schedule.
   */
  parts?: SchedulePart[];
}

export interface SchedulePart {
  /** Index into the header's `sources`. */
  source: number;
  ratePerSec: number;
  t0Ms: number;
  /** Seqs of this source in the merged stream (0…seqs-1, including any seqs missing from its file). */
  seqs: number;
}

/** One input of a merged file (header `sources`). */
export interface MergeSource {
  /** `<hostname>/<runId>`: the `source` of this input's own second records. */
  id: string;
  runId: string;
  hostname: string;
  startMs: number;
  rates: Partial<Record<Op, number>>;
  /** The file it came from, as given to `downtime merge`. */
  file: string;
  /** Estimated clock offset against the first source (ms, + = this host's clock ahead), or null when unknown. */
  skewMs: number | null;
  /** How the skew was estimated, e.g. `action switchover`, `first failure (write)`. */
  skewFrom: string | null;
  complete: boolean;
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
  /** The DNS server (IP:PORT) the target host was resolved through (--dns-server); absent: the system resolver. */
  dnsServer?: string;
  /** TLS to the target, as settled by the setup connection (--ssl-mode); absent: written before TLS support. */
  tls?: {
    mode: 'disabled' | 'preferred' | 'required' | 'verify-ca' | 'verify-identity';
    encrypted: boolean;
    caFile?: string;
    version?: string;
    cipher?: string;
    note?: string;
  };
  host: { hostname: string; pid: number; platform: string; node: string; cpus: number };
  /** Epoch ms at which the run started (first probes due). */
  startMs: number;
  /** Planned duration. */
  durationMs: number;
  ops: Partial<Record<Op, OpSchedule>>;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** The latency SLO (--slow): answered but slower than this is degraded service; absent: none given. */
  slowMs?: number;
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
  /** Merged files only (version 2): the runs combined into this one, in `--` order. */
  sources?: MergeSource[];
  /**
   * Replication lag was measured (pt-heartbeat style, src/load/heartbeat.ts): a heartbeat row in `table`
   * written through the endpoint and read on `green` every `intervalMs`; see the `lag` lines.
   */
  heartbeat?: { green: string; table: string; intervalMs: number };
  /**
   * One of several client models measured side by side in one run (--connection pool,per-probe): the files of
   * one run share `group`, start on the same second and hold the same action events; `models` in order.
   */
  sideBySide?: {
    group: string;
    models: ConnectionModel[];
    /** How each member of the run is named, in order (`pool`, `reader`, `reader.pool`); absent in older files. */
    members?: string[];
    /** This file's member. */
    member?: string;
  };
  /** The endpoint this file measured, when the run measured several (`--target NAME=…`). */
  endpoint?: string;
}

/** A run of consecutive probes (in seq order) with the same outcome: [firstSeq, count, outcome]. */
export type Run = [firstSeq: number, count: number, outcome: Outcome];

/** Who answered a probe: the server's identity as the read probe returns it. */
export interface Identity {
  serverId: number | null;
  hostname: string | null;
  version: string | null;
  readOnly: boolean | null;
}

export function identityKey(id: Identity): string {
  return `${id.serverId ?? ''}\u0000${id.hostname ?? ''}\u0000${id.version ?? ''}\u0000${id.readOnly ?? ''}`;
}

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
  /** Probes due in this second. Invariant: due = ok + sum(failed) + dropped + (stalled ?? 0). */
  due: number;
  ok: number;
  /** Failed probes by error class (`timeout`, `refused`, `read-only`, …). */
  failed: Record<string, number>;
  dropped: number;
  /** Probes the harness could not send or watch on time (STALLED); absent when none (and in older files). */
  stalled?: number;
  /** Compressed base64 HDR histogram of successful probes' latencies (µs), or null when none succeeded. */
  hist: string | null;
  /** Every probe due in this second, as runs of equal outcomes in seq order; runs cover exactly `due` probes. */
  runs: Run[];
  /** Servers that answered (reads report identity; writes do not), by count. */
  servers: ServerSeen[];
  /**
   * When the answers at outage edges came back: [seq, µs from the probe's intended time to its answer] for
   * every successful probe next to a not-ok one (the last answer before, the first after), in seq order. An
   * edge may belong to an earlier second than the record it is in (the failure after it came later). Outage
   * windows end when an answer came back, and gross downtime starts at the last answer before; absent in
   * files written before it was recorded (windows then end at the answering probe's intended time).
   */
  edges?: [seq: number, answeredAfterUs: number][];
  /**
   * How late the harness issued probes after their intended times (µs): p99 (the worst worker's) and max.
   * Large values mean the load host, not the database, was the bottleneck. Optional: absent in files
   * from versions that did not record it.
   */
  sendLagUs?: { p99: number; max: number };
  /**
   * Merged files only: set on a source's own series (its original record, seqs in its own seq space), as
   * `<hostname>/<runId>`; records without it are the merged stream.
   */
  source?: string;
}

/** An event as produced during a run (actions, sandbox steps, identity changes): a record without its type. */
export type EventInput = Omit<EventRecord, 'type'>;

export type EventKind =
  | 'run' // run start/stop markers
  | 'action' // a scenario action started/ended (shell command or sandbox step)
  | 'phase' // a named phase (e.g. SWITCHOVER_IN_PROGRESS)
  | 'fault' // an injected fault's true start/end
  | 'identity' // the answering server changed
  | 'dns' // the endpoint's name resolves to other addresses, or stopped resolving
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
  /** Probes the harness stalled on (STALLED); absent when none. */
  stalled?: number;
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
  /** Writes were to be verified but could not be (why, one line): lost writes are then unknown, not zero. */
  verifyError?: string;
  error?: string;
}

/**
 * Replication lag in one second (epoch `sec`), from the heartbeat read on green. One line per second of
 * the run when the header has `heartbeat`; older files have none (readers must not require them).
 */
export interface LagRecord {
  type: 'lag';
  sec: number;
  /** Heartbeat reads on green that found a row written by another server (blue): lag samples. */
  samples: number;
  /** Largest and last lag sample of the second (ms); null when there was no sample. */
  maxMs: number | null;
  lastMs: number | null;
  /** Reads that found the heartbeat written by green itself (the endpoint moved to green): no lag to measure. */
  selfWritten: number;
  /** Failed heartbeat reads on green / writes through the endpoint, by error class. */
  readErrors: Record<string, number>;
  writeErrors: Record<string, number>;
}

export type ResultsLine = ResultsHeader | SecondRecord | EventRecord | LagRecord | ResultsTrailer;

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
  /** Merged files only: each source's own series, by `source` id, per op, ordered by second. */
  sourceSeconds?: Record<string, Record<Op, SecondRecord[]>>;
  /** Replication lag per second (`lag` lines), ordered by second; empty when not measured (or an older file). */
  lag?: LagRecord[];
}

/** Intended time (epoch ms) of probe `seq` of an op. */
export function intendedMs(schedule: OpSchedule, seq: number): number {
  if (schedule.parts) {
    const times = mergedTimes(schedule);
    if (seq >= 0 && seq < times.length) return times[seq] as number;
    // Past the merged stream (the end of what is covered): one merged interval per seq beyond the last.
    const lastMs = times.length > 0 ? (times[times.length - 1] as number) : schedule.t0Ms;
    return lastMs + ((seq - times.length + 1) * 1000) / schedule.ratePerSec;
  }
  return schedule.t0Ms + (seq * 1000) / schedule.ratePerSec;
}

/** First seq whose intended time is ≥ t. The epsilon absorbs float error in t0 + seq·1000/rate. */
export function seqAtOrAfter(schedule: OpSchedule, t: number): number {
  if (schedule.parts) {
    const times = mergedTimes(schedule);
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] as number) < t - 1e-6) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  return Math.max(0, Math.ceil(((t - schedule.t0Ms) * schedule.ratePerSec) / 1000 - 1e-9));
}

// Built once per schedule object: a merged stream's seq → intended time table (k-way merge of the parts).
const timesCache = new WeakMap<OpSchedule, Float64Array>();

/** Intended times of a merged schedule's seqs, ascending. */
export function mergedTimes(schedule: OpSchedule): Float64Array {
  const cached = timesCache.get(schedule);
  if (cached) return cached;
  const { times } = mergeOrder(schedule.parts ?? []);
  timesCache.set(schedule, times);
  return times;
}

/**
 * The merged seq order of linear schedules: for merged seq k, its intended time and which part it came from
 * (the parts' own seqs follow in order). Ties go to the lower part index. `downtime merge` and the reader
 * both use this, so the order in a file and the order the analysis assumes cannot differ.
 */
export function mergeOrder(parts: readonly SchedulePart[]): { times: Float64Array; part: Uint32Array } {
  const total = parts.reduce((a, p) => a + p.seqs, 0);
  const times = new Float64Array(total);
  const part = new Uint32Array(total);
  const next = parts.map(() => 0);
  for (let n = 0; n < total; n++) {
    let best = 0;
    let bestMs = Infinity;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as SchedulePart;
      const k = next[i] as number;
      if (k >= p.seqs) continue;
      const t = p.t0Ms + (k * 1000) / p.ratePerSec;
      if (t < bestMs) {
        bestMs = t;
        best = i;
      }
    }
    times[n] = bestMs;
    part[n] = best;
    next[best] = (next[best] as number) + 1;
  }
  return { times, part };
}
