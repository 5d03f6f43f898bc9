import { DROPPED, OK, OPS, STALLED, type Op } from '../results/types.js';
import { wallClockMs } from '../io.js';
import type { PoolOpened } from './capacity.js';
import { classifyError } from './classify.js';
import { connectReporter } from './connection.js';
import { makeStrategy } from './connections.js';
import { newHistogram, recordUs } from '../results/histogram.js';
import { dueAtMs, dueNow, firstOwnedSeq, secondOf } from './pacer.js';
import { IdentityReader, type KeyedIdentity } from './probes.js';
import { Probe, type OpState, type ProbeHost } from './probe.js';
import { DeadlineQueue } from './deadlines.js';
import { remoteAddressOf } from './resolve.js';
import { StallMonitor, stallThresholdMs } from './stall.js';
import { preparable, warmCode } from './warm-up.js';
import { ALL_SEALED, type WorkerBucket, type WorkerConfig, type WorkerMessage } from './protocol.js';
import { Bucket, OutcomeCodes } from './buckets.js';
export { lagSummary } from './buckets.js';

/** While an op's probes keep reaching the same address, how often that is reported (endpoint-watch.ts). */
const ADDRESS_EVERY_MS = 250;

/**
 * One worker's probe engine: paces its share of each op's probes (open model), runs them, and groups
 * outcomes into per-second buckets. A bucket is sealed — final — only when every probe due in that
 * second has completed, failed or timed out; sealed buckets go to the main thread.
 */
export class ProbeEngine implements ProbeHost {
  private readonly ops: OpState[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** The delay the pacing timer was made with (ms; a refreshed timer keeps it). */
  private timerMs = 0;
  /** Inside issueDue(): a driver that answers at once must not issue the same probes again. */
  private ticking = false;
  private reportTimer: NodeJS.Timeout | null = null;
  private stopAtMs = Infinity;
  private finished = false;
  /** The highest write seq this worker saw acknowledged: reads look it up by primary key. */
  lastAckedWriteSeq = -1;
  readonly identities = new IdentityReader();
  private lastIdentityKey: string | null = null;
  /** Per op: the address its acknowledged probes last reached, and when that was last reported. */
  private readonly reached = new Map<Op, { address: string; sentMs: number }>();
  private readonly send: (m: WorkerMessage) => void;
  readonly now: () => number;
  /** The worker's own stalls: a timeout the harness could not watch on time is not the database's. */
  private readonly stalls: StallMonitor;
  private readonly stallMs: number;
  /** The outcomes' codes in this worker's buckets. */
  private readonly outcomeCodes = new OutcomeCodes();

  constructor(
    readonly cfg: WorkerConfig,
    send: (m: WorkerMessage) => void,
    now: () => number = wallClockMs,
  ) {
    this.send = send;
    this.now = now;
    this.stallMs = stallThresholdMs(cfg.timeoutMs);
    this.stalls = new StallMonitor(this.stallMs, now, (fromMs, toMs) => send({ type: 'stall', fromMs, toMs }));
    for (const op of OPS) {
      const o = cfg.ops[op];
      if (!o) continue;
      this.ops.push({
        op,
        plan: { ratePerSec: o.ratePerSec, t0Ms: Infinity, endMs: -Infinity },
        sql: o,
        strategy: makeStrategy(cfg, connectReporter(op, send), {
          intervalMs: o.ratePerSec > 0 ? 1000 / o.ratePerSec : 1000,
          onReach: (startedMs, atMs) => send({ type: 'reach', op, startedMs, atMs }),
        }),
        prepared: cfg.connection === 'pool',
        nextSeq: 0,
        nextDueMs: null,
        inFlight: 0,
        buckets: new Map(),
        deadlines: new DeadlineQueue<Probe>(now, (p) => p.expire()),
      });
    }
  }

  /**
   * Opens the pool in full ahead of the start, as a running application's pool holds its connections: the
   * first second then measures the database, not the harness's own handshakes. Returns the median latency of
   * the warm-up's probes (ms; null when none answered), from which the run checks its rate (rate-capacity.ts).
   */
  async warm(): Promise<{ pools: PoolOpened[]; latencyMs: number | null }> {
    const pools = await this.openPools();
    // The run is refused (capacity.ts): nothing more to warm.
    if (pools.some((p) => p.errorClass === 'too-many-connections')) return { pools, latencyMs: null };
    await Promise.all(
      this.ops.map(async (s) => {
        if (s.prepared) s.prepared = await preparable(s.strategy, s.sql.sql.sql, this.cfg);
      }),
    );
    const read = this.ops.find((s) => s.op === 'read') ?? this.ops[0];
    if (read === undefined) return { pools, latencyMs: null };
    const { connectTimeoutMs, timeoutMs, runId, poolSize } = this.cfg;
    const latencyMs = await warmCode({
      connectTimeoutMs,
      timeoutMs,
      runId,
      poolSize,
      strategy: read.strategy,
      // A writes-only run warms with SELECT 1 (nothing is written), as text.
      sql: read.op === 'read' ? read.sql.sql : { sql: 'SELECT 1', params: [] },
      prepared: read.op === 'read' && read.prepared,
      pooled: this.cfg.connection === 'pool',
      now: this.now,
    });
    return { pools, latencyMs };
  }

  /**
   * Raises the pools to `poolSize` before the start (the rate needs it: prepare.ts). A server without room
   * for them all gets the pools back at their old size, which it had room for.
   */
  async grow(poolSize: number): Promise<PoolOpened[]> {
    const before = this.cfg.poolSize;
    this.cfg.poolSize = poolSize;
    for (const s of this.ops) s.strategy.resize(poolSize);
    const pools = await this.openPools();
    if (pools.some((p) => p.errorClass === 'too-many-connections')) {
      this.cfg.poolSize = before;
      for (const s of this.ops) s.strategy.resize(before);
    }
    return pools;
  }

  private openPools(): Promise<PoolOpened[]> {
    return Promise.all(
      this.ops.map(async (s): Promise<PoolOpened> => {
        const r = await s.strategy.warm(Math.min(this.cfg.poolSize, this.cfg.maxInFlight));
        const errorClass = r.error === null ? null : classifyError(r.error);
        return { op: s.op, wanted: r.wanted, opened: r.opened, errorClass, message: r.error?.message ?? null };
      }),
    );
  }

  /** Starts pacing: probe seq of each op is due at t0Ms + seq / rate, up to endMs. */
  start(t0Ms: number, endMs: number): void {
    for (const s of this.ops) {
      s.plan = { ratePerSec: s.plan.ratePerSec, t0Ms, endMs };
      s.nextSeq = firstOwnedSeq(0, this.cfg.worker, this.cfg.workers);
      const due = dueAtMs(s.plan, s.nextSeq);
      s.nextDueMs = s.plan.ratePerSec > 0 && due < endMs ? due : null;
    }
    this.stalls.start();
    this.schedule();
    this.reportTimer = setInterval(() => this.report(), this.cfg.reportEveryMs);
  }

  /** Stop issuing probes due at or after `atMs`; those in flight finish (bounded by the timeout). */
  stop(atMs: number): void {
    this.stopAtMs = Math.min(this.stopAtMs, atMs);
    this.tick();
  }

  /** When the next probe of any op is due (epoch ms; Infinity: none before the stop). */
  private nextDueMs(): number {
    let next = Infinity;
    for (const s of this.ops)
      if (s.nextDueMs !== null && s.nextDueMs < this.stopAtMs) next = Math.min(next, s.nextDueMs);
    return next;
  }

  private schedule(): void {
    const next = this.nextDueMs();
    if (next === Infinity) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      for (const s of this.ops) s.nextDueMs = null;
      this.maybeFinish();
      return;
    }
    // Timers fire late, never early: a probe is sent at or just after its intended time, and the lateness is
    // part of its measured latency. None fires sooner than 1 ms: at a probe every millisecond or less the same
    // 1 ms timer is armed again (refresh), not a new one made for every wakeup.
    const delayMs = Math.max(1, next - this.now());
    if (delayMs === 1 && this.timer !== null && this.timerMs === 1) {
      this.timer.refresh();
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerMs = delayMs;
    this.timer = setTimeout(this.onTimer, delayMs);
  }

  /**
   * Sends the probes already due, from an answer's callback. Under load the event loop runs a batch of I/O
   * callbacks (answers) before it gets to the timers, and a probe due in the middle of the batch waited for the
   * batch's end; sending it from the answer that found it due takes that wait off its send lag.
   */
  sendDue(): void {
    // The armed timer stays (it is due already, and re-arms from the new schedule when it runs): re-arming it from
    // every answer at thousands a second cost more than it saved.
    if (this.timer !== null && this.now() >= this.nextDueMs()) this.issueDue();
  }

  /** The pacing timer's callback, made once (a timer is armed for every wakeup). */
  private readonly onTimer = (): void => this.tick();

  private tick(): void {
    // Inside an issueDue() whose driver answered at once, the outer one reschedules.
    if (this.issueDue()) this.schedule();
  }

  /** Issues every probe due now; false (and nothing) when already issuing. */
  private issueDue(): boolean {
    if (this.ticking) return false;
    this.ticking = true;
    try {
      this.issueDueNow();
    } finally {
      this.ticking = false;
    }
    return true;
  }

  private issueDueNow(): void {
    const nowMs = this.now();
    for (const s of this.ops) {
      if (s.nextDueMs === null) continue;
      const { workers } = this.cfg;
      const d = dueNow(s.plan, s.nextSeq, this.cfg.worker, workers, nowMs, this.stopAtMs);
      s.nextSeq = d.nextSeq;
      s.nextDueMs = d.nextDueMs;
      for (let i = 0, seq = d.firstSeq; i < d.count; i++, seq += workers) this.issue(s, seq);
    }
  }

  private bucket(s: OpState, sec: number): Bucket {
    let b = s.buckets.get(sec);
    if (!b) {
      const { workers } = this.cfg;
      b = new Bucket(sec, Math.ceil(s.plan.ratePerSec / workers) + 1, workers, this.outcomeCodes);
      s.buckets.set(sec, b);
    }
    return b;
  }

  private issue(s: OpState, seq: number): void {
    const intended = dueAtMs(s.plan, seq);
    const b = this.bucket(s, secondOf(intended));
    const issuedMs = this.now();
    const lagMs = issuedMs - intended;
    b.issued(seq, lagMs * 1000);
    /** Sent so late that a timeout would be the harness's doing. */
    const late = lagMs > this.stallMs;
    // Issued past its deadline (the harness was stalled), or into a full in-flight cap only because it is
    // late: the harness's doing, not sent. On time, a full cap is the database's (probes hang): dropped.
    if (lagMs >= this.cfg.timeoutMs || (late && s.inFlight >= this.cfg.maxInFlight)) {
      b.settled(seq, STALLED, -1);
      return;
    }
    if (s.inFlight >= this.cfg.maxInFlight) {
      b.settled(seq, DROPPED, -1);
      return;
    }
    s.inFlight++;
    b.inFlight++;
    new Probe(this, s, b, seq, intended, issuedMs, late).start();
  }

  /** A probe's outcome, into its bucket (Probe calls it once, when the probe answered, failed or timed out). */
  record(p: Probe, result: string, seen: KeyedIdentity | null): void {
    const { s, b, seq, intendedMs: intended } = p;
    let outcome = result;
    const endMs = this.now();
    s.inFlight--;
    b.inFlight--;
    // A timeout the harness could not watch on time (it was stalled at the deadline, or sent the probe that
    // late) says nothing about the database: the answer may have come, unseen.
    if (outcome === 'timeout' && (p.late || this.stalls.blindAt(Math.min(p.deadlineMs, endMs)))) outcome = STALLED;
    // When the answer came, from the intended time: an outage ends when an answer comes back (windows.ts).
    b.settled(seq, outcome, outcome === OK ? Math.round((endMs - intended) * 1000) : -1);
    if (outcome === OK) {
      if (b.hist === null) b.hist = newHistogram();
      // Latency counts from the intended time (a slow database cannot hide behind a late send), except when
      // the harness itself sent the probe late (stalled): then from when it was sent, or its own stall
      // would show as the database's latency.
      recordUs(b.hist, (endMs - (p.late ? p.issuedMs : intended)) * 1000);
      if (s.op === 'write' && seq > this.lastAckedWriteSeq) this.lastAckedWriteSeq = seq;
      const address = remoteAddressOf(p.conn);
      this.noteAddress(s.op, address, intended, endMs);
      if (seen !== null) {
        if (seen.key !== this.lastIdentityKey) {
          this.lastIdentityKey = seen.key;
          this.send({ type: 'identity', identity: seen.identity, intendedMs: intended, atMs: endMs, address });
        }
        const server = b.servers.get(seen.key);
        if (server) server.count++;
        else b.servers.set(seen.key, { ...seen.identity, count: 1 });
      }
    }
    if (b.inFlight === 0 && s.nextDueMs === null) this.maybeFinish();
  }

  /** Reports where an op's acknowledged probes go: on a change, and every 250 ms (stale-endpoint checks). */
  private noteAddress(op: Op, address: string | null, intendedMs: number, atMs: number): void {
    if (address === null) return;
    const last = this.reached.get(op);
    if (last !== undefined && last.address === address && atMs - last.sentMs < ADDRESS_EVERY_MS) return;
    this.reached.set(op, { address, sentMs: atMs });
    this.send({ type: 'address', op, address, intendedMs, atMs });
  }

  /** Highest second whose probes (of this worker) are all final. */
  private sealedThrough(): number {
    let sealed = ALL_SEALED;
    for (const s of this.ops) {
      if (s.nextDueMs !== null) sealed = Math.min(sealed, secondOf(s.nextDueMs) - 1);
      for (const b of s.buckets.values()) if (b.inFlight > 0) sealed = Math.min(sealed, b.sec - 1);
    }
    return sealed;
  }

  /** Sends every sealed bucket to the main thread. */
  report(): void {
    const sealed = this.sealedThrough();
    const out: WorkerBucket[] = [];
    for (const s of this.ops) {
      for (const [sec, b] of s.buckets) {
        if (sec > sealed) continue;
        s.buckets.delete(sec);
        out.push(b.toWire(s.op));
      }
    }
    if (out.length > 0 || sealed === ALL_SEALED) this.send({ type: 'buckets', buckets: out, sealedThroughSec: sealed });
  }

  private maybeFinish(): void {
    if (this.finished) return;
    for (const s of this.ops) if (s.nextDueMs !== null || s.inFlight > 0) return;
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null; // cleared: refresh() would not arm it again
    if (this.reportTimer !== null) clearInterval(this.reportTimer);
    this.stalls.stop();
    for (const s of this.ops) s.deadlines.close();
    this.report();
    for (const s of this.ops) s.strategy.close();
    this.send({ type: 'done' });
  }

  /** Connections open across ops (for leak checks). */
  openConnections(): number {
    return this.ops.reduce((n, s) => n + s.strategy.openCount(), 0);
  }
}
