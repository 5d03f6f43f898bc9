/**
 * A pool whose connections are stuck (handshakes begun while the address was dark, or while every byte was
 * held up; queries sent into it) answers nothing until they reach their connect timeout or probe timeout,
 * however soon the database is back: an application with this pool sees that, but it is the client's recovery,
 * not the database's outage. So while a pool is stuck, its scout opens a new connection beside it every probe
 * interval (at least 10 ms apart, a few at a time, each given up after a few typical handshakes) and says when
 * the first one was answered (its handshake, then `SELECT 1`): the database answered a client again. The
 * analysis ends the window there and reports the rest as the pool's recovery (analyze/windows.ts endAtReach). Scouts are not the pool's: they
 * never carry a probe and are closed at once.
 */

import { wallClockMs as nowMs } from '../io.js';

/** What the scout needs from its pool. */
export interface ScoutedPool {
  /**
   * If probes are waiting and a handshake of the pool is in progress: since when the pool has been stuck (epoch
   * ms: the later of when its oldest handshake began and when a connection last answered); else null.
   */
  stuckSinceMs(): number | null;
  /** Opens a connection outside the pool and asks it `SELECT 1`, each bounded by `timeoutMs`; `done` once settled. */
  openBeside(timeoutMs: number, done: (err: Error | null) => void): void;
}

/** Scouts of one pool in flight at once, at most (enough for one every `everyMs` while they last `stuckAfterMs`). */
const MAX_IN_FLIGHT = 32;
/** Scouts are at least this far apart (a pool at 1,000/s must not open 1,000 connections a second). */
const MIN_EVERY_MS = 10;
/** A handshake this many times the slowest recent one is stuck; bounded below and by half the connect timeout. */
const STUCK_FACTOR = 4;
const MIN_STUCK_MS = 25;
/** Handshake durations remembered. */
const RECENT = 16;

export class PoolScout {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  /** A scout answered since the pool last connected: nothing more to learn until the pool recovers. */
  private reached = false;
  private readonly recent: number[] = [];
  private closed = false;
  private readonly everyMs: number;

  constructor(
    private readonly pool: ScoutedPool,
    intervalMs: number,
    private readonly connectTimeoutMs: number,
    private readonly onReach: (startedMs: number, atMs: number) => void,
  ) {
    this.everyMs = Math.max(MIN_EVERY_MS, intervalMs);
  }

  /** A handshake of the pool's own succeeded, in `ms`: the pool has a connection again (it recovers with it). */
  connected(ms: number): void {
    this.reached = false;
    this.recent.push(ms);
    if (this.recent.length > RECENT) this.recent.shift();
  }

  /** Handshakes slower than this are stuck; scouts are given up after it too. */
  stuckAfterMs(): number {
    const bound = this.recent.length > 0 ? STUCK_FACTOR * Math.max(...this.recent) : MIN_STUCK_MS;
    return Math.min(Math.max(MIN_STUCK_MS, bound), Math.max(MIN_STUCK_MS, this.connectTimeoutMs / 2));
  }

  /** The pool may have become stuck (a handshake began while probes wait): watch it. */
  watch(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  private tick(): void {
    const since = this.closed ? null : this.pool.stuckSinceMs();
    if (since === null) {
      this.stopTimer();
      return;
    }
    const stuckAfter = this.stuckAfterMs();
    if (this.reached || this.inFlight >= Math.min(MAX_IN_FLIGHT, Math.ceil(stuckAfter / this.everyMs) + 1)) return;
    const startedMs = nowMs();
    if (startedMs - since < stuckAfter) return;
    this.inFlight++;
    this.pool.openBeside(stuckAfter, (err) => {
      this.inFlight--;
      if (err !== null || this.reached || this.closed) return;
      this.reached = true;
      this.onReach(startedMs, nowMs());
    });
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.closed = true;
    this.stopTimer();
  }
}
