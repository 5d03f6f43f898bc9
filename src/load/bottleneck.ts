/**
 * During the run: seconds that show the harness, not the database, holding the probes back. Two signs:
 *
 * - more than 1 % of an op's due probes `dropped` (the in-flight cap was full) in a second whose sent probes the
 *   database answered (at most 1 % failed, some ok): probes queued behind the harness's own pool or cap. In an
 *   outage the probes in flight time out or fail, which this rule leaves to the database;
 * - the send lag's p99 above half the timeout for 3 seconds in a row: the workers' event loops cannot send on
 *   time (too few workers for the rate, or a busy load host).
 *
 * Each op is warned about once per run (the first sign seen), on stderr and as a `warning` event named
 * `harness-bottleneck`, so the report shows it. Pure: it is fed final seconds and returns what to say.
 */
import type { EventInput, Op, SecondRecord } from '../results/types.js';
import { formatOffset, formatSeconds } from '../util/duration.js';
import { capPerWorker, opWords, type Harness } from './rate-capacity.js';

/** A second is suspect above this share of dropped probes, or of failed ones. */
const DROPPED_SHARE = 0.01;
/** Seconds in a row whose send lag p99 exceeds half the timeout. */
const LAG_SECONDS = 3;

export interface BottleneckWarning {
  /** The stderr line, newline included. */
  line: string;
  event: EventInput;
}

export class BottleneckWatch {
  private readonly warned = new Set<Op>();
  /** Per op: the first of the seconds in a row whose send lag was too high, and how many. */
  private readonly lagging = new Map<Op, { fromSec: number; lastSec: number; count: number }>();

  constructor(
    private readonly h: Harness,
    private readonly timeoutMs: number,
    private readonly t0Ms: number,
    /** Side by side: which member the line is about (`pool: `), else empty. */
    private readonly prefix = '',
  ) {}

  /** One final second; a warning the first time an op shows a sign. */
  observe(r: SecondRecord): BottleneckWarning | null {
    if (this.warned.has(r.op)) return null;
    const failed = Object.values(r.failed).reduce((a, b) => a + b, 0);
    const answered = r.ok > 0 && failed <= DROPPED_SHARE * r.due;
    if (r.due > 0 && r.dropped > DROPPED_SHARE * r.due && answered) {
      const what = `${r.dropped} of ${r.due} ${opWords(r.op)} due at ${this.at(r.sec * 1000)} were dropped (the in-flight cap was full) while the database answered the probes sent`;
      return this.warn(r.op, 'dropped', r.sec * 1000, (r.sec + 1) * 1000, what, {
        due: r.due,
        dropped: r.dropped,
        failed,
      });
    }
    const lagMs = (r.sendLagUs?.p99 ?? 0) / 1000;
    if (lagMs <= this.timeoutMs / 2) {
      this.lagging.delete(r.op);
      return null;
    }
    const run = this.lagging.get(r.op);
    const next =
      run !== undefined && run.lastSec === r.sec - 1
        ? { fromSec: run.fromSec, lastSec: r.sec, count: run.count + 1 }
        : { fromSec: r.sec, lastSec: r.sec, count: 1 };
    this.lagging.set(r.op, next);
    if (next.count < LAG_SECONDS) return null;
    const what = `${opWords(r.op)} were sent late for ${LAG_SECONDS} s in a row from ${this.at(next.fromSec * 1000)} (send lag p99 ${formatSeconds(lagMs)}, over half the ${formatSeconds(this.timeoutMs)} timeout)`;
    return this.warn(r.op, 'send-lag', next.fromSec * 1000, (r.sec + 1) * 1000, what, {
      sendLagP99Ms: Math.round(lagMs),
    });
  }

  private at(ms: number): string {
    return formatOffset(Math.max(0, ms - this.t0Ms), 0);
  }

  private warn(
    op: Op,
    cause: 'dropped' | 'send-lag',
    atMs: number,
    endMs: number,
    what: string,
    numbers: Record<string, number>,
  ): BottleneckWarning {
    this.warned.add(op);
    const message = `${what}: the harness, not the database, is the bottleneck; ${this.fix(op, cause)}`;
    return {
      line: `downtime: warning: harness-bottleneck: ${this.prefix}${message}\n`,
      event: {
        atMs,
        endMs,
        kind: 'warning',
        name: 'harness-bottleneck',
        detail: { op, cause, ...numbers, message },
      },
    };
  }

  /** The flags that change it: what bounds the probes in flight, or the workers for a late sender. */
  private fix(op: Op, cause: 'dropped' | 'send-lag'): string {
    const { h } = this;
    const lower = `or lower --${opWords(op)}`;
    if (cause === 'send-lag') return `add --workers (now ${h.workers}), ${lower}`;
    if (h.connection === 'pool' && h.poolSize < capPerWorker(h)) {
      return `raise --pool-size (now ${h.poolSize}) or --workers, ${lower}`;
    }
    return `raise --max-in-flight (now ${h.maxInFlight}), ${lower}`;
  }
}
