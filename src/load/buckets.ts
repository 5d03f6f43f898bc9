import type { WorkerBucket } from './protocol.js';
import { encodeHistogram, type Histogram } from '../results/histogram.js';
import { DROPPED, OK, STALLED, type Op, type Run, type ServerSeen } from '../results/types.js';

/** Outcomes (ok, an error class, dropped, …) as small codes for a bucket's column of them; 0 is none yet. */
export class OutcomeCodes {
  private readonly codes = new Map<string, number>();
  readonly names: string[] = [''];

  code(outcome: string): number {
    let c = this.codes.get(outcome);
    if (c === undefined) {
      c = this.names.push(outcome) - 1;
      this.codes.set(outcome, c);
    }
    return c;
  }
}

/**
 * One worker's share of one op-second while it is open (engine.ts), and its wire form once sealed. A worker issues
 * an op's probes in seq order, each the one it owns after the last (seqs step by `workers`), so the k-th probe
 * issued into a second is its slot k: what each probe did is kept in columns by slot, typed arrays sized for the
 * second's probes ahead, not as lists grown a probe at a time that the collector copies and promotes. The slots are
 * in seq order already: sealing walks them, with no sort.
 */
export class Bucket {
  due = 0;
  ok = 0;
  readonly failed: Record<string, number> = {};
  dropped = 0;
  stalled = 0;
  inFlight = 0;
  hist: Histogram | null = null;
  readonly servers = new Map<string, ServerSeen>();
  /** The seq in slot 0; -1 before the first probe is issued. */
  private firstSeq = -1;
  /** Per slot: its outcome's code (0: not settled). */
  private outcomes: Uint16Array;
  /** Per slot: µs from its intended time to its answer; -1 when it did not succeed. */
  private answeredAfterUs: Float64Array;
  /** Per slot: how late it was issued after its intended time (µs), the harness's own scheduling health. */
  private lagsUs: Float64Array;

  constructor(
    readonly sec: number,
    /** The probes this worker is expected to issue into the second (the columns grow past it if need be). */
    capacity: number,
    private readonly workers: number,
    private readonly codes: OutcomeCodes,
  ) {
    const n = Math.max(1, Math.ceil(capacity));
    this.outcomes = new Uint16Array(n);
    this.answeredAfterUs = new Float64Array(n);
    this.lagsUs = new Float64Array(n);
  }

  /** The next probe of this second, `seq`, is issued `lagUs` after its intended time. */
  issued(seq: number, lagUs: number): void {
    if (this.firstSeq < 0) this.firstSeq = seq;
    else if (seq !== this.firstSeq + this.due * this.workers)
      throw new Error(`bucket ${this.sec}: seq ${seq} issued out of order (slot ${this.due} is for another seq)`);
    if (this.due === this.lagsUs.length) this.grow();
    this.lagsUs[this.due++] = lagUs;
  }

  /**
   * What an issued probe came to, counted; `afterUs`: when its answer came, from its intended time (-1: it did not
   * succeed).
   */
  settled(seq: number, outcome: string, afterUs: number): void {
    const slot = (seq - this.firstSeq) / this.workers;
    if (!(slot >= 0 && slot < this.due && Number.isInteger(slot)))
      throw new Error(`bucket ${this.sec}: seq ${seq} was not issued into it`);
    this.outcomes[slot] = this.codes.code(outcome);
    this.answeredAfterUs[slot] = afterUs;
    if (outcome === OK) this.ok++;
    else if (outcome === STALLED) this.stalled++;
    else if (outcome === DROPPED) this.dropped++;
    else this.failed[outcome] = (this.failed[outcome] ?? 0) + 1;
  }

  /** Sealed, as sent to the main thread: runs over this worker's seqs (stepping by `workers`), in seq order. */
  toWire(op: Op): WorkerBucket {
    const runs: Run[] = [];
    const okAfterUs: number[] = [];
    const { names } = this.codes;
    let last: Run | undefined;
    for (let slot = 0; slot < this.due; slot++) {
      const code = this.outcomes[slot] as number;
      if (code === 0) continue; // not settled: left out, as a probe never recorded was
      const seq = this.firstSeq + slot * this.workers;
      const outcome = names[code] as string;
      if (outcome === OK) okAfterUs.push(this.answeredAfterUs[slot] as number);
      if (last && last[2] === outcome && last[0] + last[1] * this.workers === seq) last[1]++;
      else {
        last = [seq, 1, outcome];
        runs.push(last);
      }
    }
    return {
      op,
      sec: this.sec,
      due: this.due,
      ok: this.ok,
      failed: this.failed,
      dropped: this.dropped,
      ...(this.stalled > 0 ? { stalled: this.stalled } : {}),
      hist: this.hist ? encodeHistogram(this.hist) : null,
      runs,
      servers: [...this.servers.values()],
      sendLagUs: lagSummary(this.lagsUs.subarray(0, this.due)),
      okAfterUs,
    };
  }

  private grow(): void {
    const n = this.lagsUs.length * 2;
    const outcomes = new Uint16Array(n);
    outcomes.set(this.outcomes);
    this.outcomes = outcomes;
    const after = new Float64Array(n);
    after.set(this.answeredAfterUs);
    this.answeredAfterUs = after;
    const lags = new Float64Array(n);
    lags.set(this.lagsUs);
    this.lagsUs = lags;
  }
}

/** p99 and max of a second's send lags (µs, rounded). */
export function lagSummary(lagsUs: ArrayLike<number>): { p99: number; max: number } {
  if (lagsUs.length === 0) return { p99: 0, max: 0 };
  const sorted = Float64Array.from(lagsUs).sort();
  const at = Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1);
  return {
    p99: Math.max(0, Math.round(sorted[at] as number)),
    max: Math.max(0, Math.round(sorted[sorted.length - 1] as number)),
  };
}
