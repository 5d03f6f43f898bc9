import type mysql from 'mysql2/promise';
import { DowntimeError, oneLine } from '../errors.js';
import type { EventRecord, LagRecord } from '../results/types.js';
import { classifyError } from './classify.js';
import { connectOnce, type ConnectOptions } from './setup.js';
import type { Target } from './target.js';

import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, READ, UPSERT, heartbeatTable } from './heartbeat-table.js';
import { LagRecorder } from './lag-recorder.js';

export { HEARTBEAT_INTERVAL_MS, ensureHeartbeatTable, heartbeatTable } from './heartbeat-table.js';
export { LagRecorder } from './lag-recorder.js';

/**
 * Replication lag on blue/green, pt-heartbeat style: every 100 ms the main thread writes a heartbeat row
 * (the run id, a sequence, the writer's wall clock in µs and the writer's server_id) through the endpoint —
 * blue until a switchover — and every 100 ms, half an interval later, reads it on green. Lag = how long the
 * oldest heartbeat that blue had acknowledged (before the read was sent) and green does not show yet has been
 * waiting: the reader's clock when the read returned − that heartbeat's send time; 0 when green shows the
 * latest acknowledged heartbeat. Both ends are this host's clock, so no skew enters. Unlike pt-heartbeat's
 * "now − timestamp of the row", a heartbeat row that only gets old because writes fail (a switchover's write
 * block) is not lag: green has everything blue acknowledged.
 *
 * After a switchover the endpoint is green: the heartbeat is then written on green itself, and a lag read
 * there says nothing about replication. Such reads (row's server_id = the reader's @@server_id) are
 * counted as `selfWritten`, not as lag samples.
 *
 * Two connections of its own (never the probe workers'); every failure is counted per second by error
 * class and the connection is opened again on the next tick: heartbeat trouble never stops the run.
 */
export interface HeartbeatOptions {
  /** The endpoint (heartbeats are written through it), with its credentials. */
  endpoint: ConnectOptions;
  /** Green, read with the same credentials. */
  green: Target;
  table: string;
  runId: string;
  /** The run's start (the first record's second) and the clock. */
  startMs: number;
  now: () => number;
  event: (e: Omit<EventRecord, 'type'>) => void;
  record: (r: LagRecord) => void;
  /** Leave the heartbeat row in place afterwards (--keep). */
  keep?: boolean;
}

/** A side (writer or reader) of the heartbeat: one connection, one statement every interval, never two at once. */
class Loop {
  conn: mysql.Connection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;
  private k = 0;

  constructor(
    private readonly connectOpts: ConnectOptions,
    private readonly startMs: number,
    private readonly now: () => number,
    private readonly tick: (conn: mysql.Connection, atMs: number) => Promise<void>,
    private readonly fail: (atMs: number, cls: string, message: string) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Due every interval from the start; a tick still running when the next is due makes it skip.
    const nowMs = this.now();
    while (this.startMs + this.k * HEARTBEAT_INTERVAL_MS < nowMs - HEARTBEAT_INTERVAL_MS / 2) this.k++;
    const due = this.startMs + this.k * HEARTBEAT_INTERVAL_MS;
    this.k++;
    this.timer = setTimeout(
      () => {
        this.busy = this.run().then(() => this.schedule());
      },
      Math.max(0, due - nowMs),
    );
  }

  private async run(): Promise<void> {
    const atMs = this.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('heartbeat timed out'), { code: 'HEARTBEAT_TIMEOUT' })),
        HEARTBEAT_TIMEOUT_MS,
      );
    });
    let lost = false;
    try {
      await Promise.race([
        (async () => {
          // A connection the server (or the endpoint) closed while idle is replaced before use, not failed on.
          if (this.conn !== null && closed(this.conn)) {
            this.conn.destroy();
            this.conn = null;
          }
          if (this.conn === null) {
            const c = await connectOnce(this.connectOpts).catch((err: unknown) => {
              // connectOnce wraps the driver's error in a one-line DowntimeError; keep its class.
              throw Object.assign(new Error((err as Error).message), { cls: classOf(err) });
            });
            // Connected only after this tick gave up (or the heartbeat stopped): not kept, never leaked.
            if (lost || this.stopped) {
              c.destroy();
              return;
            }
            this.conn = c;
          }
          await this.tick(this.conn, atMs);
        })(),
        timeout,
      ]);
    } catch (err) {
      lost = true;
      this.conn?.destroy();
      this.conn = null;
      this.fail(atMs, classOf(err), oneLine((err as Error).message ?? String(err)));
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.busy;
  }

  close(): void {
    this.conn?.destroy();
    this.conn = null;
  }
}

/** mysql2 marks a connection that met a fatal error or was ended (its core connection's state). */
function closed(conn: mysql.Connection): boolean {
  const core = (
    conn as unknown as { connection?: { _fatalError?: unknown; _closing?: boolean; stream?: { destroyed?: boolean } } }
  ).connection;
  return core !== undefined && (core._fatalError != null || core._closing === true || core.stream?.destroyed === true);
}

function classOf(err: unknown): string {
  const e = err as { cls?: unknown; code?: unknown };
  if (typeof e.cls === 'string') return e.cls;
  if (e.code === 'HEARTBEAT_TIMEOUT') return 'timeout';
  if (/closed state/.test(String((err as Error).message))) return 'lost-connection';
  if (err instanceof DowntimeError) {
    const m = err.message;
    if (/connection refused/.test(m)) return 'refused';
    if (/cannot resolve/.test(m)) return 'dns';
    if (/handshake/.test(m)) return /within/.test(m) ? 'timeout' : 'lost-connection';
    if (/too many connections/.test(m)) return 'too-many-connections';
    if (/refused the credentials|may not use/.test(m)) return 'access-denied';
    return 'connect';
  }
  return classifyError(err);
}

interface Acked {
  seq: number;
  /** When the write was sent, and when blue acknowledged it (epoch ms, this host's clock). */
  sentMs: number;
  ackMs: number;
}

/** Acknowledged heartbeats kept while green has not shown them (10 minutes' worth). */
const MAX_UNSEEN = 6000;

/**
 * The heartbeat writer (through the endpoint) and reader (on green), from the run's start until close().
 * Lag records for every second go to `record`; the first failure of each side and class is an event.
 */
export class Heartbeat {
  private readonly table: string;
  private readonly lag: LagRecorder;
  private readonly writer: Loop;
  private readonly reader: Loop;
  private seq = 0;
  private readonly warned = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;
  /** Heartbeats blue acknowledged that green has not shown yet, oldest first. */
  private readonly acked: Acked[] = [];
  private writerServerId: number | null = null;
  /** The connection writerServerId was asked on. */
  private writerConn: mysql.Connection | null = null;

  private constructor(private readonly o: HeartbeatOptions) {
    this.table = heartbeatTable(o.table);
    this.lag = new LagRecorder(o.startMs, o.record);
    const quick = { connectTimeoutMs: Math.min(o.endpoint.connectTimeoutMs, HEARTBEAT_TIMEOUT_MS) };
    this.writer = new Loop(
      { ...o.endpoint, ...quick },
      o.startMs,
      o.now,
      (c, atMs) => this.write(c, atMs),
      (atMs, cls, message) => this.failed('write', atMs, cls, message),
    );
    // Half an interval after each write: a read then usually finds the latest heartbeat, not the one before.
    this.reader = new Loop(
      { ...o.endpoint, ...quick, target: o.green },
      o.startMs + HEARTBEAT_INTERVAL_MS / 2,
      o.now,
      (c, atMs) => this.read(c, atMs),
      (atMs, cls, message) => this.failed('read', atMs, cls, message),
    );
  }

  /**
   * Starts writing and reading at `startMs` (the table exists: ensureHeartbeatTable ran before the run).
   * Failures (green unreachable, the endpoint down) are not fatal: the loops keep trying and count them.
   */
  static start(o: HeartbeatOptions): Heartbeat {
    const h = new Heartbeat(o);
    h.writer.start();
    h.reader.start();
    // Seconds are final once over: a sample belongs to the second it was taken in.
    h.flushTimer = setInterval(() => h.lag.flushThrough(Math.floor(o.now() / 1000) - 1), 1000);
    return h;
  }

  private async write(c: mysql.Connection, atMs: number): Promise<void> {
    // Asked once per connection: a new one (after a switchover) may have reached another server.
    if (this.writerServerId === null || this.writerConn !== c) {
      this.writerServerId = null;
      const [rows] = await c.query('SELECT @@server_id AS id');
      this.writerServerId = Number((rows as { id: unknown }[])[0]?.id);
      this.writerConn = c;
    }
    const seq = ++this.seq;
    const sentMs = this.o.now();
    try {
      await c.query(UPSERT(this.table), [this.o.runId, seq, Math.round(sentMs * 1000), this.writerServerId]);
    } catch (err) {
      this.writerServerId = null; // ask again on the next connection (a switchover moves the endpoint)
      throw err;
    }
    this.acked.push({ seq, sentMs, ackMs: this.o.now() });
    // Bounded: a replica that stays behind for hours keeps the oldest missing heartbeat, which is what counts.
    if (this.acked.length > MAX_UNSEEN) this.acked.splice(1, 1);
    void atMs;
  }

  private async read(c: mysql.Connection, atMs: number): Promise<void> {
    const issuedMs = this.o.now();
    const [rows] = await c.query(READ(this.table), [this.o.runId]);
    const nowMs = this.o.now();
    const row = (rows as { seq: unknown; sent_us: unknown; server_id: unknown; me: unknown }[])[0];
    if (row === undefined) {
      // Not replicated yet (or deleted): no lag can be read, and it is not an error of the connection.
      this.lag.error(atMs, 'read', 'no-heartbeat-row');
      return;
    }
    if (Number(row.server_id) === Number(row.me)) {
      this.lag.selfWritten(nowMs);
      if (!this.warned.has('self')) {
        this.warned.add('self');
        this.o.event({
          atMs: nowMs,
          kind: 'note',
          name: 'heartbeat now written on green itself',
          detail: {
            serverId: Number(row.me),
            message:
              'the endpoint now writes to green (a switchover): replication lag is no longer measured; seconds count selfWritten reads',
          },
        });
      }
      return;
    }
    // Green has every heartbeat up to the one it shows: those are no longer missing.
    const seen = Number(row.seq);
    let drop = 0;
    while (drop < this.acked.length && (this.acked[drop] as Acked).seq <= seen) drop++;
    if (drop > 0) this.acked.splice(0, drop);
    // Lag: how long the oldest heartbeat blue acknowledged (before this read was sent) has been missing on
    // green; 0 when green has all of them — also while writes fail (a switchover's write block), when the
    // heartbeat row merely gets old.
    const missing = this.acked.find((a) => a.ackMs <= issuedMs);
    this.lag.sample(nowMs, missing === undefined ? 0 : nowMs - missing.sentMs);
  }

  private failed(side: 'read' | 'write', atMs: number, cls: string, message: string): void {
    this.lag.error(atMs, side, cls);
    if (side === 'write') this.writerServerId = null;
    const key = `${side}\u0000${cls}`;
    if (this.warned.has(key) || this.warned.size > 20) return;
    this.warned.add(key);
    this.o.event({
      atMs,
      kind: 'warning',
      name: `heartbeat-${side}-failed`,
      detail: {
        class: cls,
        message: `heartbeat ${side} ${side === 'read' ? 'on green' : 'through the endpoint'}: ${message}`,
      },
    });
  }

  /** Stops both sides, writes the lag records through `endMs`, and deletes the run's heartbeat row unless kept. */
  async close(endMs: number): Promise<void> {
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    await Promise.all([this.writer.stop(), this.reader.stop()]);
    this.lag.flushThrough(Math.ceil(endMs / 1000) - 1);
    this.reader.close();
    if (this.o.keep !== true) {
      // Bounded: an endpoint that swallows packets must not hold up the end of the run.
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          (async () => {
            const c = this.writer.conn ?? (await connectOnce(this.o.endpoint));
            this.writer.conn = c;
            await c.query(`DELETE FROM \`${this.table}\` WHERE run_id = ?`, [this.o.runId]);
          })(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('timed out after 3 s')), 3000);
          }),
        ]);
      } catch (err) {
        this.o.event({
          atMs: this.o.now(),
          kind: 'warning',
          name: 'cleanup-failed',
          detail: { message: `heartbeat row: ${oneLine((err as Error).message)}` },
        });
      } finally {
        clearTimeout(timer);
      }
    }
    this.writer.close();
  }
}
