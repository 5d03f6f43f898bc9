import { formatOffset, formatSeconds } from '../util/duration.js';

/**
 * The harness's own stalls. A worker whose event loop does not run (a paused VM, a GC storm, SIGSTOP, a
 * machine too busy) sends probes late and notices their deadlines late: a probe that "timed out" then may
 * have been answered in time, unseen. Such a probe is the harness's failure, not the database's: it is
 * recorded as `stalled` (results/types.ts STALLED), time not observed, and the stall itself as a warning.
 */

/** How long the event loop may not run before it is a stall: a tenth of the timeout, at least 50 ms. */
export function stallThresholdMs(timeoutMs: number): number {
  return Math.max(50, timeoutMs / 10);
}

/** Recent stalls kept for classifying probes whose deadline fell inside one (a timeout's worth is plenty). */
const KEEP_STALLS = 64;

/**
 * Ticks every `tickMs`; a gap between ticks longer than the threshold is a stall [lastTick, now]. Asked
 * whether the harness was blind at a moment, it also counts the stretch since its last tick when that is
 * already too long: right after a stall, a probe's deadline timer may run before this monitor's tick does.
 */
export class StallMonitor {
  private lastTickMs: number;
  private readonly stalls: [number, number][] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly thresholdMs: number,
    private readonly now: () => number,
    private readonly onStall: (fromMs: number, toMs: number) => void,
    private readonly tickMs = 10,
  ) {
    this.lastTickMs = now();
  }

  start(): void {
    this.lastTickMs = this.now();
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Exposed for tests: the monitor's periodic check. */
  tick(): void {
    const t = this.now();
    if (t - this.lastTickMs > this.thresholdMs) {
      this.stalls.push([this.lastTickMs, t]);
      if (this.stalls.length > KEEP_STALLS) this.stalls.shift();
      this.onStall(this.lastTickMs, t);
    }
    this.lastTickMs = t;
  }

  /** Whether the harness was not running at `atMs` (inside a stall longer than the threshold), as known now. */
  blindAt(atMs: number): boolean {
    if (this.timer === null) return false;
    if (atMs >= this.lastTickMs && this.now() - this.lastTickMs > this.thresholdMs) return true;
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const [from, to] = this.stalls[i] as [number, number];
      if (atMs >= from && atMs <= to) return true;
      if (to < atMs) break;
    }
    return false;
  }
}

/** How far apart two workers' stalls may be and still be one stall of the harness. */
const JOIN_MS = 20;
/** At most this many stall warnings per run; the rest are counted in the last. */
const MAX_STALL_EVENTS = 200;

export interface StallEvent {
  atMs: number;
  endMs: number;
  kind: 'warning';
  name: 'harness-stall';
  detail: { message: string; durationMs: number; workers: number };
}

/**
 * Main thread: the workers' stalls, joined (a whole-process pause shows in every worker at once) and written
 * as `harness-stall` warnings once settled (no worker has extended them for a second), with a line on stderr.
 */
export class StallLog {
  private open: { fromMs: number; toMs: number; workers: Set<number> } | null = null;
  private written = 0;

  constructor(
    private readonly event: (e: StallEvent) => void,
    private readonly say: (line: string) => void,
    private readonly t0Ms: number,
  ) {}

  add(worker: number, fromMs: number, toMs: number): void {
    const o = this.open;
    if (o !== null && fromMs <= o.toMs + JOIN_MS && toMs >= o.fromMs - JOIN_MS) {
      o.fromMs = Math.min(o.fromMs, fromMs);
      o.toMs = Math.max(o.toMs, toMs);
      o.workers.add(worker);
      return;
    }
    this.settle(Infinity);
    this.open = { fromMs, toMs, workers: new Set([worker]) };
  }

  /** Writes the open stall if nothing extended it for a second before `nowMs` (Infinity: now, at the end). */
  settle(nowMs: number): void {
    const o = this.open;
    if (o === null || nowMs - o.toMs < 1000) return;
    this.open = null;
    if (++this.written > MAX_STALL_EVENTS) return;
    const durationMs = o.toMs - o.fromMs;
    const seconds = formatSeconds(durationMs);
    const message =
      this.written === MAX_STALL_EVENTS
        ? `the harness stalled ${seconds} (and more stalls follow, not listed): its own trouble, not the database's`
        : `the harness stalled ${seconds} (its event loop did not run: a paused VM or process, GC, an overloaded machine); probes it could not send or watch then are counted as stalled, not as the database's downtime`;
    this.event({
      atMs: o.fromMs,
      endMs: o.toMs,
      kind: 'warning',
      name: 'harness-stall',
      detail: { message, durationMs, workers: o.workers.size },
    });
    const at = formatOffset(Math.max(0, o.fromMs - this.t0Ms), 1);
    this.say(`downtime: warning: harness-stall: ${seconds} at ${at}; not counted as downtime\n`);
  }
}
