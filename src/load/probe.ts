import type mysql from 'mysql2';
import { OK, type Op } from '../results/types.js';
import type { Bucket } from './buckets.js';
import { classifyError } from './classify.js';
import type { Connection } from './connection.js';
import type { ConnectionStrategy, Taker, Waiter } from './connections.js';
import type { Deadlined, DeadlineQueue } from './deadlines.js';
import type { OpPlan } from './pacer.js';
import { bindParams, type IdentityReader, type KeyedIdentity } from './probes.js';
import type { WorkerConfig } from './protocol.js';
import { isFatal, sendProbe } from './warm-up.js';

/** One op of a worker's engine (engine.ts): its pacing, its SQL, its connections and its probes in flight. */
export interface OpState {
  op: Op;
  plan: OpPlan;
  sql: WorkerConfig['ops'][Op] & object;
  strategy: ConnectionStrategy;
  /**
   * Pooled connections send probes as prepared statements (binary protocol), as applications with
   * statement caching do and as sysbench does: the server parses each probe once per connection.
   * Per-probe connections, and SQL the server cannot prepare, use the text protocol.
   */
  prepared: boolean;
  nextSeq: number;
  /** Intended time of the next unissued seq, or null when this op issues no more. */
  nextDueMs: number | null;
  inFlight: number;
  buckets: Map<number, Bucket>;
  /** The deadlines of its probes in flight: one timer for them all. */
  deadlines: DeadlineQueue<Probe>;
}

/** What a probe needs of its worker's engine (engine.ts). */
export interface ProbeHost {
  readonly cfg: WorkerConfig;
  now(): number;
  /** The seq a read probe looks up: the highest write this worker saw acknowledged. */
  readonly lastAckedWriteSeq: number;
  readonly identities: IdentityReader;
  /** Records a probe's outcome; called once per probe. */
  record(p: Probe, outcome: string, seen: KeyedIdentity | null): void;
  /** After any answer: the probes due meanwhile go now. */
  sendDue(): void;
}

/**
 * One probe in flight, as one object: it waits for a connection (it is the pool's Taker), sends its query and
 * takes the answer, or meets its deadline first (its op's DeadlineQueue). Its methods are the callbacks, so a
 * probe costs an object and one closure for the driver's answer, not a closure and a timer for each step.
 */
export class Probe implements Taker, Deadlined {
  prevDue: Deadlined | null = null;
  nextDue: Deadlined | null = null;
  /** The deadline counts from the intended time: a probe that starts late has less time, as its client would. */
  readonly deadlineMs: number;
  conn: Connection | null = null;
  private done = false;
  private waiter: Waiter | null = null;
  /** When its query was written (epoch ms; -1: not yet): a pooled timed-out probe's connection is judged by it. */
  private sentMs = -1;
  /** Pool: the timer that discards a timed-out probe's connection if its query never answers. */
  private orphan: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: ProbeHost,
    readonly s: OpState,
    readonly b: Bucket,
    readonly seq: number,
    readonly intendedMs: number,
    readonly issuedMs: number,
    /** Sent so late that a timeout would be the harness's doing. */
    readonly late: boolean,
  ) {
    this.deadlineMs = intendedMs + host.cfg.timeoutMs;
  }

  /** Into its op's deadline queue, then asks for a connection (now, or when one is free). */
  start(): void {
    this.s.deadlines.add(this);
    // Per-probe: the probe's own handshake gets the time it has left. The pool opens its connections with the
    // whole connect timeout and ignores this (a probe that gives up leaves the handshake to the next one).
    const connectTimeoutMs = Math.max(1, Math.min(this.host.cfg.connectTimeoutMs, this.deadlineMs - this.host.now()));
    this.waiter = this.s.strategy.acquire(connectTimeoutMs, this);
  }

  take(c: Connection): void {
    if (this.done) {
      this.s.strategy.release(c, true); // handed over after the probe gave up waiting
      return;
    }
    this.conn = c;
    const { s, host } = this;
    const seq = s.op === 'read' ? host.lastAckedWriteSeq : this.seq;
    const values = bindParams(s.sql.sql, host.cfg.runId, seq, Math.round(this.intendedMs));
    this.sentMs = host.now();
    sendProbe(s.prepared, c, s.sql.sql.sql, values, (err, rows) => this.answered(err, rows));
  }

  fail(err: Error): void {
    this.end(classifyError(err), null);
  }

  /** Its deadline passed (it is out of the queue already). */
  expire(): void {
    this.end('timeout', null);
    const { conn, s } = this;
    if (conn === null) this.waiter?.cancel();
    else if (this.host.cfg.connection !== 'pool' || this.sentMs < 0) s.strategy.release(conn, false);
    else {
      // The probe has failed, but the connection is judged by its own query: one that answers within the timeout
      // from when it was sent goes back to the pool (after a backlog the oldest probes get the first connections
      // with almost no time left; discarding those kept the pool from refilling). One that does not answer is
      // hung, and is never reused.
      const waitMs = Math.max(0, this.sentMs + this.host.cfg.timeoutMs - this.host.now());
      this.orphan = setTimeout(() => s.strategy.release(conn, false), waitMs);
    }
  }

  private end(outcome: string, seen: KeyedIdentity | null): void {
    if (this.done) return;
    this.done = true;
    this.s.deadlines.remove(this);
    this.host.record(this, outcome, seen);
  }

  private answered(err: mysql.QueryError | null, rows: unknown): void {
    this.settle(this.conn as Connection, err, rows);
    this.host.sendDue(); // any answer is a wakeup: the probes due meanwhile go now (engine.ts sendDue)
  }

  private settle(c: Connection, err: mysql.QueryError | null, rows: unknown): void {
    const { s, host } = this;
    if (this.done) {
      // Timed out already. Pool: the answer came within the connection's own bound, so it is reusable unless the
      // error broke it. Otherwise the connection was discarded.
      if (this.orphan !== null) {
        clearTimeout(this.orphan);
        this.orphan = null;
        s.strategy.release(c, !isFatal(err));
      }
      return;
    }
    if (err) {
      this.end(classifyError(err), null);
      // A server error (e.g. read-only) leaves the connection usable; a fatal one does not.
      s.strategy.release(c, !isFatal(err));
      return;
    }
    // The deadline's timer may not have run yet on a busy event loop: slower than the timeout is a failure.
    if (host.now() - this.intendedMs > host.cfg.timeoutMs) this.end('timeout', null);
    else if (s.op !== 'read') this.end(OK, null);
    else {
      const row = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
      this.end(OK, host.identities.read(row));
    }
    s.strategy.release(c, true);
  }
}
