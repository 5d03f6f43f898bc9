/**
 * Everything before a measurement's start is chosen: the setup connection (in its turn, side by side), the
 * harness's tables, the seed row, the probe statements checked once, room for the pools, and the worker threads
 * started with their pools open. Refused before the start, it removes the rows it wrote.
 */
import type { Io } from '../io.js';
import type { Op } from '../results/types.js';
import { checkCapacity, checkPoolsOpened, readConnectionLimits, type PoolNeed } from './capacity.js';
import { ensureHeartbeatTable, heartbeatTable } from './heartbeat.js';
import { DEFAULT_POOL_SIZE, type RunOptions } from './options.js';
import { checkProbeStatements, removeRunRows } from './preflight.js';
import type { CompiledSql } from './probes.js';
import type { WorkerConfig } from './protocol.js';
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
    if (need !== null) checkCapacity(need, await readConnectionLimits(setup.conn), where);
    // Workers first: they load their modules and open pooled connections before the start time is
    // chosen, so the first second is not spent starting threads (which would show up as send lag).
    workers = new WorkerPool(configs);
    undo.push(() => workers.terminate());
    const ready = await workers.ready(opts.connectTimeoutMs * 2 + 10_000);
    if (need !== null) checkPoolsOpened(ready.pools, need, where);
    early = ready.early;
  } catch (err) {
    // Refused before the start: the rows this run wrote go (the seed row).
    if (seeded) await removeRunRows(setup.conn, opts.table, runId);
    throw err;
  } finally {
    setupDone();
    setup.conn.destroy();
  }
  return { workers, early, seeded, report: setup.report };
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
    maxInFlight: Math.max(1, Math.ceil(opts.maxInFlight / workers)),
    poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE,
    conn: { ...opts.target, password: opts.password, dnsServer: opts.dnsServer, tls: opts.tls },
    reportEveryMs: 200,
  }));
}
