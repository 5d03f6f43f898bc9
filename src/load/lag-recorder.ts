import type { LagRecord } from '../results/types.js';

/** One second's lag bucket while it is open. */
interface Bucket {
  samples: number;
  maxMs: number | null;
  lastMs: number | null;
  selfWritten: number;
  readErrors: Record<string, number>;
  writeErrors: Record<string, number>;
}

const emptyBucket = (): Bucket => ({
  samples: 0,
  maxMs: null,
  lastMs: null,
  selfWritten: 0,
  readErrors: {},
  writeErrors: {},
});

/** Per-second lag buckets → `lag` records: every second of the run gets one, empty ones included. */
export class LagRecorder {
  private readonly buckets = new Map<number, Bucket>();
  private nextSec: number;

  constructor(
    startMs: number,
    private readonly out: (r: LagRecord) => void,
  ) {
    this.nextSec = Math.floor(startMs / 1000);
  }

  private bucket(atMs: number): Bucket | null {
    const sec = Math.floor(atMs / 1000);
    if (sec < this.nextSec) return null; // before the start, or a second already written
    let b = this.buckets.get(sec);
    if (b === undefined) {
      b = emptyBucket();
      this.buckets.set(sec, b);
    }
    return b;
  }

  sample(atMs: number, lagMs: number): void {
    const b = this.bucket(atMs);
    if (b === null) return;
    const ms = Math.max(0, Math.round(lagMs * 1000) / 1000);
    b.samples++;
    b.maxMs = b.maxMs === null ? ms : Math.max(b.maxMs, ms);
    b.lastMs = ms;
  }

  selfWritten(atMs: number): void {
    const b = this.bucket(atMs);
    if (b !== null) b.selfWritten++;
  }

  error(atMs: number, side: 'read' | 'write', cls: string): void {
    const b = this.bucket(atMs);
    if (b === null) return;
    const m = side === 'read' ? b.readErrors : b.writeErrors;
    m[cls] = (m[cls] ?? 0) + 1;
  }

  /** Writes the records of every second up to and including `lastSec`. */
  flushThrough(lastSec: number): void {
    for (; this.nextSec <= lastSec; this.nextSec++) {
      const b = this.buckets.get(this.nextSec) ?? emptyBucket();
      this.buckets.delete(this.nextSec);
      this.out({ type: 'lag', sec: this.nextSec, ...b });
    }
  }
}
