/**
 * Everything before a measurement's start is chosen: the setup connection (in its turn, side by side), the
 * harness's tables, the seed row, the probe statements checked once, room for the pools, and the worker threads
 * started with their pools open. Refused before the start, it removes the rows it wrote.
 */
import type { Io } from '../io.js';
import type { EventInput, Op } from '../results/types.js';
import {
  checkCapacity,
  checkPoolsOpened,
  readConnectionLimits,
  roomPerPool,
  type ConnectionLimits,
  type PoolNeed,
} from './capacity.js';
import { ensureHeartbeatTable, heartbeatTable } from './heartbeat.js';
import { DEFAULT_POOL_SIZE, type RunOptions } from './options.js';
import { checkProbeStatements, removeRunRows } from './preflight.js';
import type { CompiledSql } from './probes.js';
import type { WorkerConfig } from './protocol.js';
import {
  SERVER_ROOM_SHARE,
  autoPoolSize,
  capacityPerSec,
  carries,
  inFlightCapPerWorker,
  median,
  shortfallWarning,
  sizedNote,
  type Harness,
  type OpRate,
  type SizeCap,
} from './rate-capacity.js';
import { connectForSetup, ensureProbeTable, insertSeedRow } from './setup.js';
import { WorkerPool } from './workers.js';

export interface Prepared {
  workers: WorkerPool;
  /** What the pools' connections reported while they were opened (for the identity timeline). */
  early: Awaited<ReturnType<WorkerPool['ready']>>['early'];
  /** The seed row was written (not on a read-only target measured for reads). */
  seeded: boolean;
  /** TLS as the setup connection settled it, for the header. */
  report: Awaited<ReturnType<typeof connectForSetup>>['report'];
  /** What the rate check said at the start (a raised pool, a rate the harness cannot carry): for the file. */
  events: EventInput[];
}

/** `opts.tls` is settled here (`preferred` → what the server offers); `undo` gets the workers' termination. */
export async function prepareRun(
  opts: RunOptions,
  io: Io,
  ops: Op[],
  sql: Record<Op, CompiledSql>,
  runId: string,
  undo: (() => unknown)[],
): Promise<Prepared> {
  const side = opts.sideBySide;
  const setupDone = side !== undefined ? await side.group.setupTurn(side.index) : () => undefined;
  let setup: Awaited<ReturnType<typeof connectForSetup>>;
  try {
    setup = await connectForSetup(opts);
  } catch (err) {
    setupDone();
    throw err;
  }
  // `preferred` is settled now: the run's connections all use TLS, or (the server offers none) none does.
  opts.tls = setup.tls;
  let seeded = false;
  let workers: WorkerPool;
  let early: Awaited<ReturnType<WorkerPool['ready']>>['early'];
  let events: EventInput[];
  try {
    await ensureProbeTable(setup.conn, opts.table, opts.target.database);
    seeded = await insertSeedRow(setup.conn, opts.table, runId, io.now());
    await checkProbeStatements(setup.conn, {
      table: opts.table,
      runId,
      nowMs: io.now(),
      ops,
      sql,
      custom: { read: opts.readSql !== undefined, write: opts.writeSql !== undefined },
      verify: opts.verify ?? true,
    });
    if (opts.green) await ensureHeartbeatTable(setup.conn, heartbeatTable(opts.table), opts.target.database);
    setupDone();
    const configs = workerConfigs(opts, ops, sql, runId);
    const need = poolNeed(configs, ops);
    const where = `${opts.target.host}:${opts.target.port}`;
    const limits = need !== null ? await readConnectionLimits(setup.conn) : null;
    if (need !== null && limits !== null) checkCapacity(need, limits, where);
    // Workers first: they load their modules and open pooled connections before the start time is
    // chosen, so the first second is not spent starting threads (which would show up as send lag).
    workers = new WorkerPool(configs);
    undo.push(async () => {
      const left = await workers.terminate();
      // The results are complete by now: a thread that would not exit is the harness's trouble, said as such.
      if (left > 0) {
        io.stderr(
          `downtime: warning: ${left} worker thread(s) did not exit within 5 s of being stopped (the harness's own trouble, not the database's; the results are complete); left behind\n`,
        );
      }
    });
    const readyMs = opts.connectTimeoutMs * 2 + 10_000;
    const ready = await workers.ready(readyMs);
    if (need !== null) checkPoolsOpened(ready.pools, need, where);
    early = ready.early;
    const fit = { workers, readyMs, need, limits, latencyMs: median(ready.latenciesMs) };
    events = await fitRate(opts, io, ops, fit, early);
  } catch (err) {
    // Refused before the start: the rows this run wrote go (the seed row).
    if (seeded) await removeRunRows(setup.conn, opts.table, runId);
    throw err;
  } finally {
    setupDone();
    setup.conn.destroy();
  }
  return { workers, early, seeded, report: setup.report, events };
}

/**
 * The start's rate check (rate-capacity.ts), once the pools are warm: an op the harness cannot carry at the
 * measured latency gets one warning line; a pool left at its default is raised instead (within the in-flight
 * cap and half the server's free connections), with one info line. Never refuses: the run goes on.
 */
async function fitRate(
  opts: RunOptions,
  io: Io,
  ops: Op[],
  fit: {
    workers: WorkerPool;
    readyMs: number;
    need: PoolNeed | null;
    limits: ConnectionLimits | null;
    latencyMs: number | null;
  },
  early: Prepared['early'],
): Promise<EventInput[]> {
  const { latencyMs } = fit;
  if (latencyMs === null) return []; // no warm-up probe answered: the run meets that itself
  const h: Harness = {
    connection: opts.connection,
    workers: fit.workers.size,
    poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE,
    maxInFlight: opts.maxInFlight,
  };
  const rates: OpRate[] = ops.map((op) => ({ op, ratePerSec: opts.rates[op] }));
  let short = rates.filter((r) => !carries(h, r.ratePerSec, latencyMs));
  if (short.length === 0) return [];
  const side = opts.sideBySide;
  const who = side !== undefined ? `${side.group.members[side.index] ?? opts.connection}: ` : '';
  const events: EventInput[] = [];
  let sized: { fromPoolSize: number; cappedBy: SizeCap | null } | undefined;
  if (opts.connection === 'pool' && opts.poolSize === undefined && fit.need !== null) {
    const room = fit.limits === null ? null : roomPerPool(fit.need, fit.limits, SERVER_ROOM_SHARE);
    const size = autoPoolSize(h, short, latencyMs, room);
    if (size.poolSize > h.poolSize) {
      fit.workers.post({ type: 'grow', poolSize: size.poolSize });
      const grown = await fit.workers.ready(fit.readyMs);
      early.push(...grown.early);
      // The server took another client's connections meanwhile: the workers went back to the old size.
      const refused = grown.pools.some((p) => p.errorClass === 'too-many-connections');
      sized = { fromPoolSize: h.poolSize, cappedBy: refused ? 'server' : size.cappedBy };
      if (!refused) {
        h.poolSize = size.poolSize;
        opts.poolSize = size.poolSize; // as if given: the header says the size the run used
        short = short.filter((r) => !carries(h, r.ratePerSec, latencyMs));
      }
      if (short.length === 0) {
        const message = sizedNote(h, sized.fromPoolSize, rates, latencyMs);
        io.stderr(`downtime: ${who}${message}\n`);
        events.push({
          atMs: io.now(),
          kind: 'note',
          name: 'pool-sized',
          detail: { fromPoolSize: sized.fromPoolSize, poolSize: h.poolSize, latencyMs, message },
        });
      }
    }
  }
  for (const r of short) {
    const message = shortfallWarning(h, r, latencyMs, sized);
    io.stderr(`downtime: warning: rate-capacity: ${who}${message}\n`);
    const detail = {
      op: r.op,
      ratePerSec: r.ratePerSec,
      latencyMs,
      capacityPerSec: Math.floor(capacityPerSec(h, latencyMs)),
      message,
    };
    events.push({ atMs: io.now(), kind: 'warning', name: 'rate-capacity', detail });
  }
  return events;
}

/** The connections the pools open before the start (pool model), or null (per-probe: none). */
function poolNeed(configs: WorkerConfig[], ops: Op[]): PoolNeed | null {
  const first = configs[0];
  if (first === undefined || first.connection !== 'pool') return null;
  return { workers: configs.length, ops: ops.length, perPool: Math.min(first.poolSize, first.maxInFlight) };
}

function workerConfigs(opts: RunOptions, ops: Op[], sql: Record<Op, CompiledSql>, runId: string): WorkerConfig[] {
  const workers = Math.max(1, Math.min(opts.workers, 64));
  return Array.from({ length: workers }, (_, w) => ({
    worker: w,
    workers,
    runId,
    ops: Object.fromEntries(ops.map((op) => [op, { ratePerSec: opts.rates[op], sql: sql[op] }])),
    timeoutMs: opts.timeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    connection: opts.connection,
    maxInFlight: inFlightCapPerWorker(opts.maxInFlight, workers),
    poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE,
    conn: { ...opts.target, password: opts.password, dnsServer: opts.dnsServer, tls: opts.tls },
    reportEveryMs: 200,
  }));
}
