import {
  OK,
  identityKey,
  intendedMs,
  type Op,
  type OpSchedule,
  type Run,
  type SecondRecord,
  type ServerSeen,
} from '../results/types.js';
import { mergeEncodedText } from '../results/histogram.js';
import type { WorkerBucket } from './protocol.js';

/**
 * Main-thread merge of worker buckets into per-second records. Buckets are keyed by epoch second, not
 * by arrival; a second is emitted only when every worker has sealed it, so a record is final when written.
 */
export class Recorder {
  private readonly pending: Record<Op, Map<number, WorkerBucket[]>> = { read: new Map(), write: new Map() };
  private readonly sealed: number[];
  /** Per op, the last probe of the seconds written so far: an edge may span two seconds. */
  private readonly carry: Partial<Record<Op, EdgeCarry>> = {};

  constructor(
    private readonly workers: number,
    private readonly ops: readonly Op[],
    /** Each op's schedule (seq → intended time), for the answers that may end an outage; see EdgeCarry. */
    private readonly schedules: Partial<Record<Op, OpSchedule>> = {},
  ) {
    this.sealed = new Array<number>(workers).fill(-Infinity);
  }

  /** Adds a worker's sealed buckets; returns the records that became final, in time order. */
  add(worker: number, buckets: WorkerBucket[], sealedThroughSec: number): SecondRecord[] {
    for (const b of buckets) {
      const m = this.pending[b.op];
      const list = m.get(b.sec);
      if (list) list.push(b);
      else m.set(b.sec, [b]);
    }
    this.sealed[worker] = Math.max(this.sealed[worker] ?? -Infinity, sealedThroughSec);
    return this.drain(Math.min(...this.sealed));
  }

  private drain(through: number): SecondRecord[] {
    const secs = new Set<number>();
    for (const op of this.ops) for (const sec of this.pending[op].keys()) if (sec <= through) secs.add(sec);
    const out: SecondRecord[] = [];
    for (const sec of [...secs].sort((a, b) => a - b)) {
      for (const op of this.ops) {
        const parts = this.pending[op].get(sec);
        if (!parts) continue;
        this.pending[op].delete(sec);
        const carry = (this.carry[op] ??= newCarry(this.schedules[op]));
        out.push(mergeBuckets(op, sec, parts, this.workers, carry));
      }
    }
    return out;
  }
}

/**
 * The last probe of an op seen so far (seq, whether it succeeded, when its answer came), carried across seconds,
 * and while an outage may be ending, the earliest answer since its last failure: every successful probe intended
 * before that answer is an edge too (it may have been answered earlier: the outage ends at the earliest answer).
 */
export interface EdgeCarry {
  seq: number;
  ok: boolean;
  afterUs: number;
  /** Epoch ms of the earliest answer since the last failure, while probes intended before it keep coming. */
  recoveringUntilMs: number | null;
  schedule: OpSchedule | undefined;
}

export function newCarry(schedule?: OpSchedule): EdgeCarry {
  return { seq: -2, ok: false, afterUs: -1, recoveringUntilMs: null, schedule };
}

/**
 * Merges the workers' shares of one op-second: counts summed, histograms added, runs interleaved by seq, and
 * the edges — successful probes next to a not-ok one, with when their answer came (results/types.ts).
 */
export function mergeBuckets(
  op: Op,
  sec: number,
  parts: WorkerBucket[],
  workers: number,
  carry: EdgeCarry = newCarry(),
): SecondRecord {
  let due = 0;
  let ok = 0;
  let dropped = 0;
  let stalled = 0;
  const failed: Record<string, number> = {};
  const servers = new Map<string, ServerSeen>();
  const probes: [number, string, number][] = [];
  const sendLagUs = { p99: 0, max: 0 };
  for (const p of parts) {
    // Per-worker p99s cannot be merged exactly; the worst worker's is the conservative figure.
    sendLagUs.p99 = Math.max(sendLagUs.p99, p.sendLagUs.p99);
    sendLagUs.max = Math.max(sendLagUs.max, p.sendLagUs.max);
    due += p.due;
    ok += p.ok;
    dropped += p.dropped;
    stalled += p.stalled ?? 0;
    for (const [cls, n] of Object.entries(p.failed)) failed[cls] = (failed[cls] ?? 0) + n;
    for (const s of p.servers) {
      const key = identityKey(s);
      const seen = servers.get(key);
      if (seen) seen.count += s.count;
      else servers.set(key, { ...s });
    }
    // Worker runs step by `workers`; expand, then re-compress over the global sequence.
    let okIndex = 0;
    for (const [first, count, outcome] of p.runs) {
      for (let k = 0; k < count; k++) {
        const afterUs = outcome === OK ? (p.okAfterUs?.[okIndex++] ?? -1) : -1;
        probes.push([first + k * workers, outcome, afterUs]);
      }
    }
  }
  probes.sort((a, b) => a[0] - b[0]);
  const runs: Run[] = [];
  const edges: [number, number][] = [];
  let last: Run | undefined;
  for (const [seq, outcome, afterUs] of probes) {
    if (last && last[2] === outcome && last[0] + last[1] === seq) last[1]++;
    else {
      last = [seq, 1, outcome];
      runs.push(last);
    }
    // Next to the previous probe (no seqs missing between): an answer after a not-ok probe, or the last answer
    // before one, is an edge.
    const ok = outcome === OK;
    const next = carry.seq === seq - 1;
    const atMs = carry.schedule === undefined ? null : intendedMs(carry.schedule, seq);
    if (!next) carry.recoveringUntilMs = null;
    if (next && ok !== carry.ok) {
      if (ok && afterUs >= 0) edges.push([seq, afterUs]);
      else if (!ok && carry.afterUs >= 0) edges.push([carry.seq, carry.afterUs]);
      carry.recoveringUntilMs = ok && atMs !== null && afterUs >= 0 ? atMs + afterUs / 1000 : null;
    } else if (ok && carry.recoveringUntilMs !== null && atMs !== null && atMs < carry.recoveringUntilMs) {
      if (afterUs >= 0) {
        edges.push([seq, afterUs]);
        carry.recoveringUntilMs = Math.min(carry.recoveringUntilMs, atMs + afterUs / 1000);
      }
    } else if (ok) {
      carry.recoveringUntilMs = null;
    }
    carry.seq = seq;
    carry.ok = ok;
    carry.afterUs = afterUs;
  }
  const hist = mergeEncodedText(parts.map((p) => p.hist));
  return {
    type: 'second',
    op,
    sec,
    due,
    ok,
    failed,
    dropped,
    ...(stalled > 0 ? { stalled } : {}),
    hist,
    runs,
    servers: [...servers.values()],
    sendLagUs,
    ...(edges.length > 0 ? { edges } : {}),
  };
}
