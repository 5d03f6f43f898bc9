import {
  connect,
  connectionLost,
  destroy,
  isDead,
  quit,
  reportConnect,
  track,
  type Connection,
  type OnConnected,
} from './connection.js';
import { wallClockMs as nowMs } from '../io.js';
import { PoolScout } from './pool-scout.js';
import type { WorkerConfig } from './protocol.js';

/** A request for a connection; cancel() withdraws it (the probe timed out while waiting). */
export interface Waiter {
  cancel(): void;
}

/** Who asked for a connection: an object (a probe: probe.ts) rather than two callbacks made for each request. */
export interface Taker {
  /** The connection, now or when one is free. */
  take(conn: Connection): void;
  /** Pool: the error of a handshake the pool tried for it. */
  fail(err: Error): void;
}

/**
 * How probes get a connection. `pool`: at most `poolSize` persistent connections reused like an
 * application's pool — a probe that finds them all busy waits for one (the wait is part of its latency,
 * as it is for the application), and a broken connection is discarded and replaced on demand.
 * `per-probe`: a new connection for every probe, as a serverless client sees DNS and connection refusal.
 */
export interface ConnectionStrategy {
  /**
   * Gives `taker` a connection, now or when one is free. Per-probe: a new connection whose handshake is
   * bounded by `connectTimeoutMs` and whose errors reach the probe's query. Pool: a connected one, or fails it
   * with the error of a handshake the pool tried for it.
   */
  acquire(connectTimeoutMs: number, taker: Taker): Waiter;
  /** Gives a connection back: healthy ones may be reused, others are destroyed. */
  release(conn: Connection, healthy: boolean): void;
  close(): void;
  /** Connections currently open (idle + in use). */
  openCount(): number;
  /**
   * Opens up to `n` idle connections ahead of time (pool only): says how many it wanted and opened, and the
   * first handshake's error (the run refuses a pool the server has no connections for: capacity.ts).
   */
  warm(n: number): Promise<WarmResult>;
  /** Pool: a new size (before the start); idle connections beyond it are closed. Per-probe: nothing. */
  resize(poolSize: number): void;
}

export interface WarmResult {
  wanted: number;
  opened: number;
  error: Error | null;
}

const NO_WAIT: Waiter = { cancel: () => undefined };

/** Handshakes in flight at once while a pool is opened ahead of the start. */
const WARM_PARALLEL = 4;

interface PoolWaiter {
  taker: Taker;
  /** When it began waiting (epoch ms). */
  sinceMs: number;
  /** Cancelled by its probe, or already served: either way no longer waiting. */
  settled: boolean;
}

/**
 * The pool owns the connections it opens, as an application's pool does: a connection is opened with the
 * configured connect timeout (not the remaining time of the probe that needed it) and handed to the oldest
 * waiting probe once its handshake is done. A probe that gives up while the handshake runs leaves the
 * connection to the next one: discarding it (as this pool once did) meant that after a backlog every new
 * connection belonged to a probe about to time out, and the pool never refilled while load lasted.
 */
export class PoolStrategy implements ConnectionStrategy {
  private idle: Connection[] = [];
  /** Connections counted against the pool size: connecting, idle or in use. */
  private open = 0;
  private connecting = 0;
  private waiters: PoolWaiter[] = [];
  /** Waiters not yet settled. */
  private pending = 0;
  private closed = false;
  /** When a connection of the pool last answered: a handshake done, or a probe released healthy (epoch ms). */
  private answeredMs = 0;
  /** When each handshake still in progress began (epoch ms). */
  private readonly handshakes = new Map<Connection, number>();
  private readonly scout: PoolScout | null;

  constructor(
    private readonly cfg: WorkerConfig['conn'],
    private poolSize: number,
    private readonly connectTimeoutMs: number,
    private readonly onConnected?: OnConnected,
    scout?: ScoutOptions,
  ) {
    this.scout =
      scout === undefined
        ? null
        : new PoolScout(
            { stuckSinceMs: () => this.stuckSinceMs(), openBeside: (ms, done) => this.openBeside(ms, done) },
            scout.intervalMs,
            connectTimeoutMs,
            scout.onReach,
          );
  }

  /**
   * If probes wait and the pool has a handshake in progress: since when it has been stuck — the later of when
   * its oldest handshake began and when a connection last answered (a handshake done, a probe answered).
   */
  private stuckSinceMs(): number | null {
    if (this.closed || this.pending === 0 || this.connecting === 0) return null;
    let oldest = Infinity;
    for (const t of this.handshakes.values()) oldest = Math.min(oldest, t);
    return Number.isFinite(oldest) ? Math.max(oldest, this.answeredMs) : null;
  }

  /**
   * A connection that is not the pool's (its scout's): a handshake and `SELECT 1` (a proxy in front of the
   * database may complete handshakes by itself; an answer to a query comes from the database), each bounded by
   * `timeoutMs`; closed as soon as it is settled.
   */
  private openBeside(timeoutMs: number, done: (err: Error | null) => void): void {
    const conn = connect(this.cfg, timeoutMs);
    let settled = false;
    const settle = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      if (err === null) quit(conn);
      else destroy(conn);
      done(err);
    };
    track(conn, () => settle(connectionLost()));
    conn.connect((err) => {
      if (err) settle(err);
      else conn.query({ sql: 'SELECT 1', timeout: Math.max(1, Math.round(timeoutMs)) }, (e) => settle(e));
    });
  }

  /**
   * Opens one connection owned by the pool. Once its handshake is done it goes to `done` if given (warm-up),
   * else to the oldest waiter; a failed handshake fails the oldest waiter with its error (failOldest).
   */
  private openOne(done?: (err: Error | null, conn: Connection) => void): void {
    this.open++;
    this.connecting++;
    let counted = true;
    let handshaking = true;
    const startedMs = nowMs();
    const handshakeDone = (err: Error | null): void => {
      if (!handshaking) return;
      handshaking = false;
      this.connecting--;
      this.handshakes.delete(conn);
      if (err) {
        if (done) done(err, conn);
        else this.failOldest(err, startedMs);
        destroy(conn); // frees its slot, if the connection is not dead already
        this.grow(); // another try for the probes still waiting
        return;
      }
      this.answeredMs = nowMs();
      this.scout?.connected(this.answeredMs - startedMs);
      if (done) done(null, conn);
      else this.release(conn, true);
      // After the connection went to its probe, whose query is then queued first: an application's pool runs
      // no identity query, and a probe waiting behind one would answer a round trip later (after an outage,
      // its window would end that much late).
      reportConnect(conn, true, this.onConnected);
    };
    const conn = track(connect(this.cfg, this.connectTimeoutMs), () => {
      if (counted) {
        counted = false;
        this.open--;
      }
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      if (handshaking) {
        // Gone before its handshake said anything (a quiet close): a failed handshake, not a slot held for
        // ever. Later in the turn, so that mysql2's own error (refused, reset…) reaches handshakeDone first.
        setImmediate(() => handshakeDone(connectionLost()));
      }
      // A slot came free: waiting probes may need a new connection.
      this.grow();
    });
    this.handshakes.set(conn, startedMs);
    conn.connect((err) => handshakeDone(err));
  }

  /** Opens connections while waiters outnumber the handshakes in progress and the pool has room. */
  private grow(): void {
    while (!this.closed && this.pending > this.connecting && this.open < this.poolSize) this.openOne();
    if (this.pending > 0 && this.connecting > 0) this.scout?.watch();
  }

  acquire(_connectTimeoutMs: number, taker: Taker): Waiter {
    while (this.idle.length > 0) {
      const c = this.idle.pop() as Connection;
      if (!isDead(c)) {
        taker.take(c);
        return NO_WAIT;
      }
    }
    const w: PoolWaiter = { taker, sinceMs: nowMs(), settled: false };
    this.waiters.push(w);
    this.pending++;
    this.grow();
    return {
      cancel: () => {
        if (w.settled) return;
        w.settled = true;
        this.pending--;
      },
    };
  }

  /**
   * A failed handshake fails the oldest waiter with its error (refused, reset…) if that probe was already waiting
   * when the handshake began: a handshake begun in an outage that gives up at its connect timeout, after the
   * database is back, must not fail a probe that came later (it never waited for that handshake).
   */
  private failOldest(err: Error, handshakeStartedMs: number): void {
    while (this.waiters[0]?.settled === true) this.waiters.shift();
    const w = this.waiters[0];
    if (w !== undefined && w.sinceMs <= handshakeStartedMs) this.nextWaiter()?.taker.fail(err);
  }

  /** The oldest waiter still waiting, taken off the queue. */
  private nextWaiter(): PoolWaiter | undefined {
    for (let w = this.waiters.shift(); w !== undefined; w = this.waiters.shift()) {
      if (w.settled) continue;
      w.settled = true;
      this.pending--;
      return w;
    }
    return undefined;
  }

  async warm(n: number): Promise<WarmResult> {
    // A bounded number of handshakes at a time: a large pool on many workers must not storm the server.
    const wanted = Math.min(n, this.poolSize);
    let left = wanted - this.open;
    let error: Error | null = null;
    const opener = async (): Promise<void> => {
      while (left > 0) {
        left--;
        const ok = await new Promise<boolean>((resolve) =>
          this.openOne((err, conn) => {
            if (err === null) this.release(conn, true);
            else error ??= err;
            resolve(err === null);
          }),
        );
        if (!ok) return; // the server refuses now: the caller decides (capacity.ts), else probes meet it
      }
    };
    await Promise.all(Array.from({ length: WARM_PARALLEL }, opener));
    return { wanted, opened: this.open, error };
  }

  resize(poolSize: number): void {
    this.poolSize = poolSize;
    while (this.open > poolSize && this.idle.length > 0) destroy(this.idle.pop() as Connection);
  }

  release(conn: Connection, healthy: boolean): void {
    if (healthy && !isDead(conn) && !this.closed) {
      this.answeredMs = nowMs();
      const w = this.nextWaiter();
      if (w) w.taker.take(conn);
      else this.idle.push(conn);
      return;
    }
    destroy(conn); // its slot frees through the dead hook, which opens another if probes wait
  }

  close(): void {
    this.closed = true;
    this.scout?.close();
    for (const w of this.waiters) w.settled = true;
    this.waiters = [];
    this.pending = 0;
    for (const c of this.idle) quit(c);
    this.idle = [];
  }

  openCount(): number {
    return this.open;
  }
}

class PerProbeStrategy implements ConnectionStrategy {
  private open = 0;
  constructor(
    private readonly cfg: WorkerConfig['conn'],
    private readonly onConnected?: OnConnected,
  ) {}

  acquire(connectTimeoutMs: number, taker: Taker): Waiter {
    this.open++;
    let counted = true;
    const raw = connect(this.cfg, connectTimeoutMs);
    reportConnect(raw, false, this.onConnected);
    taker.take(
      track(raw, () => {
        if (counted) {
          counted = false;
          this.open--;
        }
      }),
    );
    return NO_WAIT;
  }

  release(conn: Connection, healthy: boolean): void {
    if (healthy && !isDead(conn)) {
      quit(conn); // the probe's latency was already taken, so closing costs it nothing
      return;
    }
    destroy(conn);
  }

  close(): void {}

  warm(): Promise<WarmResult> {
    return Promise.resolve({ wanted: 0, opened: 0, error: null });
  }

  resize(): void {}

  openCount(): number {
    return this.open;
  }
}

/** A pool's scout (pool-scout.ts): how often it may open a connection, and whom it tells. */
export interface ScoutOptions {
  /** The op's probe interval (all workers together), ms. */
  intervalMs: number;
  onReach: (startedMs: number, atMs: number) => void;
}

export function makeStrategy(cfg: WorkerConfig, onConnected?: OnConnected, scout?: ScoutOptions): ConnectionStrategy {
  return cfg.connection === 'pool'
    ? new PoolStrategy(cfg.conn, cfg.poolSize, cfg.connectTimeoutMs, onConnected, scout)
    : new PerProbeStrategy(cfg.conn, onConnected);
}
