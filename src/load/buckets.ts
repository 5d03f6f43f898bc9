import type { WorkerBucket } from './protocol.js';
import { encodeHistogram, type Histogram } from '../results/histogram.js';
import { OK, type Op, type Run, type ServerSeen } from '../results/types.js';

/** One worker's share of one op-second while it is open (engine.ts), and its wire form once sealed. */
export interface Bucket {
  sec: number;
  due: number;
  ok: number;
  failed: Record<string, number>;
  dropped: number;
  stalled: number;
  inFlight: number;
  hist: Histogram | null;
  /** seq and outcome of every probe, in completion order; sorted when sealed. */
  seqs: number[];
  outcomes: string[];
  /** Per probe (same order): µs from its intended time to its answer; -1 when it did not succeed. */
  answeredAfterUs: number[];
  servers: Map<string, ServerSeen>;
  /** How late each probe was issued after its intended time (µs): the harness's own scheduling health. */
  lagsUs: number[];
}

export function newBucket(sec: number): Bucket {
  return {
    sec,
    due: 0,
    ok: 0,
    failed: {},
    dropped: 0,
    stalled: 0,
    inFlight: 0,
    hist: null,
    seqs: [],
    outcomes: [],
    answeredAfterUs: [],
    servers: new Map(),
    lagsUs: [],
  };
}

/** A sealed bucket as sent to the main thread: runs over this worker's seqs (stepping by `workers`). */
export function toWire(op: Op, b: Bucket, workers: number): WorkerBucket {
  const order = b.seqs.map((_, i) => i).sort((x, y) => (b.seqs[x] as number) - (b.seqs[y] as number));
  const runs: Run[] = [];
  const okAfterUs: number[] = [];
  let last: Run | undefined;
  for (const i of order) {
    const seq = b.seqs[i] as number;
    const outcome = b.outcomes[i] as string;
    if (outcome === OK) okAfterUs.push(b.answeredAfterUs[i] as number);
    if (last && last[2] === outcome && last[0] + last[1] * workers === seq) last[1]++;
    else {
      last = [seq, 1, outcome];
      runs.push(last);
    }
  }
  return {
    op,
    sec: b.sec,
    due: b.due,
    ok: b.ok,
    failed: b.failed,
    dropped: b.dropped,
    ...(b.stalled > 0 ? { stalled: b.stalled } : {}),
    hist: b.hist ? encodeHistogram(b.hist) : null,
    runs,
    servers: [...b.servers.values()],
    sendLagUs: lagSummary(b.lagsUs),
    okAfterUs,
  };
}

/** p99 and max of a second's send lags (µs, rounded). */
export function lagSummary(lagsUs: number[]): { p99: number; max: number } {
  if (lagsUs.length === 0) return { p99: 0, max: 0 };
  const sorted = Float64Array.from(lagsUs).sort();
  const at = Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1);
  return {
    p99: Math.max(0, Math.round(sorted[at] as number)),
    max: Math.max(0, Math.round(sorted[sorted.length - 1] as number)),
  };
}
