import type { Io } from '../io.js';
import { decodeHistogram } from '../results/histogram.js';
import type { Op, OpTotals, SecondRecord } from '../results/types.js';

/** One line per second on stderr, like sysbench's --report-interval. */
export class ProgressPrinter {
  private pending = new Map<number, SecondRecord[]>();
  constructor(
    private readonly io: Io,
    private readonly t0Ms: number,
    private readonly ops: Op[],
    private readonly enabled: boolean,
    /** Side by side: which client model the line is about. */
    private readonly prefix = '',
  ) {}

  add(records: SecondRecord[]): void {
    if (!this.enabled) return;
    for (const r of records) {
      const list = this.pending.get(r.sec) ?? [];
      list.push(r);
      this.pending.set(r.sec, list);
      if (list.length === this.ops.length) {
        this.pending.delete(r.sec);
        this.io.stderr(this.prefix + progressLine(list, this.t0Ms) + '\n');
      }
    }
  }

  finish(totals: Partial<Record<Op, OpTotals>>, ops: Op[], planned: (op: Op) => number): void {
    if (!this.enabled) return;
    const parts = ops.map((op) => {
      const t = totals[op] as OpTotals;
      return `${op}s ${t.ok}/${t.due} ok (${t.failed} failed, ${t.dropped} dropped; ${planned(op)} planned)`;
    });
    this.io.stderr(`downtime: done: ${this.prefix}${parts.join(', ')}\n`);
  }
}

function progressLine(records: SecondRecord[], t0Ms: number): string {
  const sec = records[0]?.sec ?? 0;
  const elapsed = sec - Math.floor(t0Ms / 1000) + 1;
  const parts: string[] = [];
  const errors = new Map<string, number>();
  const p99: string[] = [];
  for (const r of records) {
    const failed = Object.values(r.failed).reduce((a, b) => a + b, 0) + r.dropped;
    parts.push(`${r.op}s ${r.ok} ok ${failed} failed`);
    for (const [cls, n] of Object.entries(r.failed)) errors.set(cls, (errors.get(cls) ?? 0) + n);
    if (r.dropped > 0) errors.set('dropped', (errors.get('dropped') ?? 0) + r.dropped);
    p99.push(r.hist ? (decodeHistogram(r.hist).getValueAtPercentile(99) / 1000).toFixed(2) : '-');
  }
  const top = [...errors.entries()].sort((a, b) => b[1] - a[1])[0];
  const err = top ? ` | ${top[0]} ×${top[1]}` : '';
  return `[ ${String(elapsed).padStart(4)}s ] ${parts.join(' | ')} | p99 ${p99.join('/')} ms${err}`;
}
