import { randomUUID } from 'node:crypto';
import { hostname, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import type { Io } from '../io.js';
import { ResultsWriter } from '../results/writer.js';
import {
  OPS,
  RESULTS_FORMAT,
  RESULTS_VERSION,
  type ConnectionModel,
  type Op,
  type OpTotals,
  type ResultsHeader,
  type ResultsTrailer,
  type SecondRecord,
  type OpSchedule,
  type WriteVerification,
  intendedMs,
} from '../results/types.js';
import { toolVersion } from '../version.js';
import { HIST_DIGITS, HIST_HIGHEST_US, HIST_LOWEST_US, decodeHistogram } from '../results/histogram.js';
import { totalDue } from './pacer.js';
import { compileSql, defaultReadSql, defaultWriteSql, type CompiledSql } from './probes.js';
import { identityKey, type EventInput, type Identity } from '../results/types.js';
import type { MainMessage, WorkerConfig, WorkerMessage } from './protocol.js';
import { Recorder } from './recorder.js';
import { TopologyPoller } from './topology-poller.js';
import { HEARTBEAT_INTERVAL_MS, Heartbeat, ensureHeartbeatTable, heartbeatTable } from './heartbeat.js';
import { WriteLedger, boundLockWaits, deleteRunRows, presentSeqs } from './verify.js';
import { connectForSetup, connectOnce, ensureProbeTable, insertSeedRow } from './setup.js';
import { StallLog } from './stall.js';
import { errnoWords } from '../util/fs-atomic.js';
import { formatDuration } from '../util/duration.js';
import type { TlsConfig } from './tls.js';
import { EndpointWatcher } from './endpoint-watch.js';
import type { SideBySide } from './side-by-side.js';
import type { Target } from './target.js';

/**
 * Each worker's V8 young generation, capped (bench/RESULTS.md, long run): at 2,000 probes/s a worker's young
 * generation otherwise grows to V8's default and the process passed 200 MB. 16 MB cut the 30 s peak by 15 MB
 * with the same throughput ceiling (29,100/s both); 8 MB cut 31 MB but lowered the ceiling to 23,300/s.
 */
const WORKER_YOUNG_GENERATION_MB = 16;

export type { EventInput };

/** Something to do at a time during the run: a shell command or a sandbox step. */
export interface RunAction {
  /** Offset from the run's start, ms. */
  atMs: number;
  name: string;
  /** Runs the action. Its start and end are recorded as an `action` event; it may add its own events. */
  execute: (ctx: ActionContext) => Promise<Record<string, unknown> | void>;
}

export interface ActionContext {
  event: (e: EventInput) => void;
  /** Aborted when the run ends: long actions must stop then. */
  signal: AbortSignal;
}

export interface RunOptions {
  target: Target;
  password: string | undefined;
  passwordSource: string;
  label: string;
  /** Probes per second per op; 0 disables the op. */
  rates: Record<Op, number>;
  durationMs: number;
  workers: number;
  connection: ConnectionModel;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxInFlight: number;
  /** Pool model: connections per op per worker (default 10, HikariCP's default pool size). */
  poolSize?: number;
  table: string;
  readSql?: string | undefined;
  writeSql?: string | undefined;
  out: string;
  overwrite: boolean;
  scenario?: unknown;
  actions?: RunAction[];
  /** Print one progress line per second on stderr. */
  progress: boolean;
  /** After the run, look up every acknowledged write on the endpoint (default true). */
  verify?: boolean;
  /** Keep the run's rows in the probe table afterwards (default: deleted). */
  keep?: boolean;
  /** Poll mysql.rds_topology for blue/green phases where the endpoint has it (default true). */
  pollTopology?: boolean;
  /** Green (same credentials): replication lag is measured with a heartbeat written through the endpoint. */
  green?: Target | undefined;
  /** TLS for every connection (--ssl-mode, --ssl-ca); undefined: none. */
  tls?: TlsConfig | undefined;
  /** Re-fetch the password every `everyMs` during the run (--password-command): new connections use the newest. */
  passwordRefresh?: PasswordRefresh | undefined;
  /** Set by runMeasurement: the newest password, for connections opened during the run. */
  passwordNow?: (() => string | undefined) | undefined;
  /** Resolve the target host through this DNS server (IP:PORT, resolve.ts) instead of the system resolver. */
  dnsServer?: string | undefined;
  /** One of several measurements run side by side (side-by-side.ts): same start, shared timeline events. */
  sideBySide?: { group: SideBySide; index: number } | undefined;
}

export interface PasswordRefresh {
  everyMs: number;
  /** Resolves to the new password; rejects with a message that never contains it. */
  fetch: () => Promise<string>;
}

export interface RunResult {
  path: string;
  runId: string;
  header: ResultsHeader;
  trailer: ResultsTrailer;
  /** The user pressed Ctrl-C twice: the run was cut short at once. */
  abandoned: boolean;
}

export const DEFAULT_POOL_SIZE = 10;

/** How long after the last probe's deadline workers may take to report before they are given up on. */
const WORKER_GRACE_MS = 5_000;

/** The start is the first whole second at least this long after the workers are ready. */
const START_LEAD_MS = 200;

/**
 * Runs a measurement: checks the target, starts workers at a whole second, merges their buckets into the
 * results file (flushed every second), runs timed actions, and ends on time or on SIGINT/SIGTERM
 * (first: stop sending, finish what is in flight; second: write what is final and return at once).
 */
export async function runMeasurement(opts: RunOptions, io: Io): Promise<RunResult> {
  const ops = OPS.filter((op) => opts.rates[op] > 0);
  if (ops.length === 0) throw new DowntimeError('both --reads and --writes are 0; nothing to measure', ExitCode.Usage);
  const sql = {
    read: compileSql(opts.readSql ?? defaultReadSql(opts.table), '--read-sql'),
    write: compileSql(opts.writeSql ?? defaultWriteSql(opts.table), '--write-sql'),
  };
  // The results file is claimed before anything is connected: a file that appears at --out meanwhile, or a
  // second run given the same --out, is refused now, not once workers hold connections.
  const writer = ResultsWriter.reserve(opts.out, { overwrite: opts.overwrite });
  // What to stop if the run fails part-way (workers, watchers, timers): nothing may be left running.
  const undo: (() => unknown)[] = [];
  try {
    return await measure(opts, io, ops, sql, writer, undo);
  } catch (err) {
    for (const u of undo.splice(0).reverse()) await Promise.resolve(u()).catch(() => undefined);
    writer.abandon();
    throw err;
  }
}

async function measure(
  opts: RunOptions,
  io: Io,
  ops: Op[],
  sql: Record<Op, CompiledSql>,
  writer: ResultsWriter,
  undo: (() => unknown)[],
): Promise<RunResult> {
  const readSql = sql.read;
  const writeSql = sql.write;
  const runId = randomUUID();

  // The password may change during the run (--password-command): every connection takes the newest.
  let currentPassword = opts.password;
  opts = { ...opts, passwordNow: () => currentPassword };
  const setup = await connectForSetup(opts);
  // `preferred` is settled now: the run's connections all use TLS, or (the server offers none) none does.
  opts.tls = setup.tls;
  const setupConn = setup.conn;
  try {
    await ensureProbeTable(setupConn, opts.table, opts.target.database);
    await insertSeedRow(setupConn, opts.table, runId, io.now());
    if (opts.green) await ensureHeartbeatTable(setupConn, heartbeatTable(opts.table), opts.target.database);
  } finally {
    setupConn.destroy();
  }

  // Workers first: they load their modules and open pooled connections before the start time is
  // chosen, so the first second is not spent starting threads (which would show up as send lag).
  const workers = Math.max(1, Math.min(opts.workers, 64));
  const threads: Worker[] = [];
  const done = new Set<number>();
  let resolveAll: () => void = () => undefined;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const markDone = (w: number): void => {
    done.add(w);
    if (done.size === workers) resolveAll();
  };
  let reason: ResultsTrailer['reason'] = 'completed';
  let errorMessage: string | undefined;
  let handle: (w: number, m: WorkerMessage) => void = () => undefined;
  let onCrash: (w: number, message: string) => void = () => undefined;
  const ready = new Set<number>();
  const early: [number, Extract<WorkerMessage, { type: 'connected' }>][] = [];
  let startupFailure: string | undefined;
  const allReady = new Promise<void>((resolve) => {
    handle = (w, m) => {
      if (m.type === 'ready') ready.add(w);
      // The pool's connections, opened before the start, say who they reached: kept for the timeline.
      else if (m.type === 'connected') early.push([w, m]);
      else if (m.type === 'error') startupFailure = m.message;
      if (ready.size === workers || startupFailure !== undefined) resolve();
    };
    onCrash = (_w, message) => {
      startupFailure = message;
      resolve();
    };
  });
  for (let w = 0; w < workers; w++) {
    const cfg: WorkerConfig = {
      worker: w,
      workers,
      runId,
      ops: Object.fromEntries(
        ops.map((op) => [op, { ratePerSec: opts.rates[op], sql: op === 'read' ? readSql : writeSql }]),
      ),
      timeoutMs: opts.timeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      connection: opts.connection,
      maxInFlight: Math.max(1, Math.ceil(opts.maxInFlight / workers)),
      poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE,
      conn: { ...opts.target, password: opts.password, dnsServer: opts.dnsServer, tls: opts.tls },
      reportEveryMs: 200,
    };
    const thread = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: cfg,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    thread.on('message', (m: WorkerMessage) => handle(w, m));
    thread.on('error', (err) => onCrash(w, oneLine(err.message)));
    thread.on('exit', () => markDone(w));
    threads.push(thread);
  }
  undo.push(() => Promise.all(threads.map((t) => t.terminate())));
  const readyTimeout = delay(opts.connectTimeoutMs * 2 + 10_000);
  await Promise.race([allReady, readyTimeout]);
  if (startupFailure !== undefined || ready.size < workers) {
    throw new Error(`worker threads did not start: ${startupFailure ?? 'timed out'}`);
  }

  // Where the endpoint's name points during the run, and stale-endpoint warnings (endpoint-watch.ts). Its first
  // lookup is awaited here, before the start is chosen: nothing awaited may come between choosing the start and
  // telling the workers, or they would get it late and burst through the first probes at once.
  const beforeStart: EventInput[] = [];
  let event = (e: EventInput): void => void beforeStart.push(e);
  const endpoint = await EndpointWatcher.start(
    opts.target.host,
    opts.dnsServer,
    opts.connectTimeoutMs,
    (e) => event(e),
    io.now,
    (m) => io.stderr(`downtime: warning: stale-endpoint: ${m}\n`),
  );
  undo.push(() => endpoint?.close());

  // Start on a whole second, so that per-second records hold whole seconds of probes. Side by side, every
  // member starts on the same second, once the last is ready.
  const side = opts.sideBySide;
  let t0Ms: number;
  if (side === undefined) t0Ms = Math.ceil((io.now() + START_LEAD_MS) / 1000) * 1000;
  else t0Ms = await side.group.ready(side.index, io.now(), START_LEAD_MS);
  const endMs = t0Ms + opts.durationMs;
  // The workers learn the start first; what follows until the first timer is synchronous.
  for (const t of threads) t.postMessage({ type: 'start', t0Ms, endMs } satisfies MainMessage);
  const header: ResultsHeader = {
    type: 'header',
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    tool: { name: 'downtime', version: toolVersion() },
    runId,
    label: opts.label,
    target: { ...opts.target },
    ...(opts.dnsServer !== undefined ? { dnsServer: opts.dnsServer } : {}),
    ...(setup.report !== undefined ? { tls: setup.report } : {}),
    host: {
      hostname: hostname(),
      pid: process.pid,
      platform: process.platform,
      node: process.version,
      cpus: cpus().length,
    },
    startMs: t0Ms,
    durationMs: opts.durationMs,
    ops: Object.fromEntries(ops.map((op) => [op, { ratePerSec: opts.rates[op], t0Ms }])),
    timeoutMs: opts.timeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    connection: opts.connection,
    workers,
    maxInFlight: opts.maxInFlight,
    ...(opts.connection === 'pool' ? { poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE } : {}),
    resolution: 'probe',
    table: opts.table,
    readSql: opts.readSql ?? defaultReadSql(opts.table),
    writeSql: opts.writeSql ?? defaultWriteSql(opts.table),
    histogram: { unit: 'us', lowestUs: HIST_LOWEST_US, highestUs: HIST_HIGHEST_US, significantDigits: HIST_DIGITS },
    ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
    ...(opts.green
      ? { heartbeat: { green: opts.green.url, table: heartbeatTable(opts.table), intervalMs: HEARTBEAT_INTERVAL_MS } }
      : {}),
    ...(side !== undefined ? { sideBySide: { group: side.group.id, models: [...side.group.models] } } : {}),
  };
  // From here on the file is the run's (with --force, the old one is replaced only now).
  writer.commit();
  writer.write(header);
  let stopSending: (reason: ResultsTrailer['reason'], message?: string) => void = () => undefined;
  // The file refusing a line (a full disk) stops the run: what it measures could not be kept. The probes
  // in flight finish, writes are verified and the harness's rows removed; the run then fails with exit 6.
  let fileError: string | undefined;
  writer.onError = (err) => {
    fileError = `cannot write the results file ${writer.path}: ${errnoWords(err)}`;
    io.stderr(`downtime: ${fileError}; stopping the run\n`);
    stopSending('error', fileError);
  };
  writer.flush();

  const totals: Partial<Record<Op, OpTotals>> = {};
  for (const op of ops) totals[op] = { due: 0, ok: 0, failed: 0, dropped: 0 };
  const recorder = new Recorder(workers, ops);
  event = (e: EventInput): void => writer.write({ type: 'event', ...e });
  for (const e of beforeStart) event(e);
  // Side by side: events of the shared timeline (actions, their faults and steps, RDS phases) go to every file.
  side?.group.addSink(side.index, event);
  const shared = side === undefined ? event : (e: EventInput): void => side.group.broadcast(e);
  const progress = new ProgressPrinter(io, t0Ms, ops, opts.progress, side === undefined ? '' : `${opts.connection} `);
  const ledger = ops.includes('write')
    ? new WriteLedger(totalDue({ ratePerSec: opts.rates.write, t0Ms, endMs }))
    : null;
  const writeRecords = (records: SecondRecord[]): void => {
    for (const r of records) {
      if (r.op === 'write') ledger?.add(r);
      const t = totals[r.op] as OpTotals;
      t.due += r.due;
      t.ok += r.ok;
      t.dropped += r.dropped;
      if (r.stalled !== undefined) t.stalled = (t.stalled ?? 0) + r.stalled;
      t.failed += Object.values(r.failed).reduce((a, b) => a + b, 0);
      writer.write(r);
    }
    // Final seconds go to the file at once (a kill -9 cannot lose them), before they are shown.
    writer.flush();
    progress.add(records);
  };

  const identities = new IdentityTimeline(event, t0Ms);
  const stalls = new StallLog(event, (line) => io.stderr(line), t0Ms);
  const abort = new AbortController();
  let abandoned = false;
  handle = (w, m) => {
    if (m.type === 'buckets') writeRecords(recorder.add(w, m.buckets, m.sealedThroughSec));
    else if (m.type === 'identity') identities.observe(w, m.identity, m.intendedMs, m.atMs, m.address ?? null);
    else if (m.type === 'connected') identities.connected(w, m);
    else if (m.type === 'address') endpoint?.observe(w, m.op, m.address, m.intendedMs, m.atMs);
    else if (m.type === 'stall') stalls.add(w, m.fromMs, m.toMs);
    else if (m.type === 'done') markDone(w);
    else if (m.type === 'error') {
      reason = 'error';
      errorMessage = m.message;
      markDone(w);
    }
  };
  onCrash = (w, message) => {
    reason = 'error';
    errorMessage = message;
    event({ atMs: io.now(), kind: 'warning', name: 'worker-crashed', detail: { worker: w, message } });
    markDone(w);
  };
  // What the pool's connections reported while it was opened, before the start.
  for (const [w, m] of early) identities.connected(w, m);

  const flushTimer = setInterval(() => {
    stalls.settle(io.now());
    writer.syncInBackground();
  }, 1000);
  undo.push(() => clearInterval(flushTimer));
  const refresh = opts.passwordRefresh;
  let refreshing = false;
  const refreshTimer =
    refresh === undefined
      ? undefined
      : setInterval(() => {
          if (refreshing) return;
          refreshing = true;
          refresh
            .fetch()
            .then(
              (password) => {
                currentPassword = password;
                for (const t of threads) t.postMessage({ type: 'password', password } satisfies MainMessage);
                event({ atMs: io.now(), kind: 'note', name: 'password-refreshed', detail: {} });
              },
              (err: unknown) => {
                // Connections keep the last good password (an RDS token stays valid 15 minutes).
                const message = oneLine(err instanceof Error ? err.message : String(err));
                event({ atMs: io.now(), kind: 'warning', name: 'password-refresh-failed', detail: { message } });
                io.stderr(`downtime: warning: could not refresh the password: ${message}\n`);
              },
            )
            .finally(() => (refreshing = false));
        }, refresh.everyMs);
  undo.push(() => clearInterval(refreshTimer));
  event({ atMs: t0Ms, kind: 'run', name: 'start', detail: { runId } });
  // RDS blue/green phases, where the endpoint has mysql.rds_topology (RDS, Aurora, the sandbox).
  const topologyPoller = opts.pollTopology === false ? null : await TopologyPoller.start(opts, shared, io.now, t0Ms);
  undo.push(() => topologyPoller?.close());
  // Replication lag on green, where it is known (heartbeat.ts): its own connections, never fatal.
  const heartbeat = opts.green
    ? Heartbeat.start({
        endpoint: opts,
        green: opts.green,
        table: opts.table,
        runId,
        startMs: t0Ms,
        now: io.now,
        event,
        record: (r) => writer.write(r),
        keep: opts.keep === true,
      })
    : null;
  undo.push(() => heartbeat?.close(io.now()));

  // Timed actions.
  const running: Promise<void>[] = [];
  const actionTimers = (opts.actions ?? []).map((action) =>
    setTimeout(
      () => {
        const startedMs = io.now();
        shared({ atMs: startedMs, kind: 'action', name: action.name, detail: { phase: 'start' } });
        running.push(
          action.execute({ event: shared, signal: abort.signal }).then(
            (detail) =>
              shared({
                atMs: startedMs,
                endMs: io.now(),
                kind: 'action',
                name: action.name,
                detail: { phase: 'end', ok: true, ...(detail ?? {}) },
              }),
            (err: unknown) =>
              shared({
                atMs: startedMs,
                endMs: io.now(),
                kind: 'action',
                name: action.name,
                detail: { phase: 'end', ok: false, error: oneLine(err instanceof Error ? err.message : String(err)) },
              }),
          ),
        );
      },
      Math.max(0, t0Ms + action.atMs - io.now()),
    ),
  );

  // Signals: first stops sending, second abandons.
  let interrupts = 0;
  let abandonNow: () => void = () => undefined;
  const abandonedPromise = new Promise<void>((r) => (abandonNow = r));
  let stopped = false;
  // Stops sending (probes in flight finish) and cancels actions: on a signal, or when the file fails.
  stopSending = (why, message) => {
    if (stopped) return;
    stopped = true;
    reason = why;
    if (message !== undefined) errorMessage = message;
    const atMs = io.now();
    for (const t of threads) t.postMessage({ type: 'stop', atMs } satisfies MainMessage);
    for (const timer of actionTimers) clearTimeout(timer);
    abort.abort();
  };
  if (fileError !== undefined) stopSending('error', fileError);
  const unregister = io.onSignal((signal) => {
    interrupts++;
    if (interrupts === 1) {
      event({ atMs: io.now(), kind: 'run', name: 'interrupted', detail: { signal } });
      if ((side?.index ?? 0) === 0) {
        io.stderr(`downtime: ${signal}: stopping; finishing probes in flight (press Ctrl-C again to quit at once)\n`);
      }
      if (!stopped) stopSending('interrupted');
    } else {
      abandoned = true;
      abandonNow();
    }
  });

  // Bound the wait: every probe ends by its deadline, so workers are done soon after endMs + timeout.
  const watchdogMs = endMs + opts.timeoutMs + WORKER_GRACE_MS - io.now();
  let watchdog: NodeJS.Timeout | undefined;
  const watchdogPromise = new Promise<void>((r) => (watchdog = setTimeout(r, Math.max(0, watchdogMs))));
  await Promise.race([
    allDone,
    abandonedPromise,
    watchdogPromise.then(() => {
      if (done.size < workers) {
        reason = 'error';
        errorMessage = `${workers - done.size} worker(s) did not finish in time`;
      }
    }),
  ]);
  clearTimeout(watchdog);
  for (const timer of actionTimers) clearTimeout(timer);
  abort.abort();
  unregister();
  if (!abandoned) await Promise.race([Promise.allSettled(running), abandonedPromise, delay(5_000)]);
  // Side by side, the actions run in the first member: the others wait for their end events (bounded).
  if (side !== undefined) {
    if (side.index === 0) side.group.actionsSettled();
    else if (!abandoned) await Promise.race([side.group.actionsDone, abandonedPromise, delay(5_000)]);
  }
  await Promise.all(threads.map((t) => t.terminate()));
  // Seconds not sealed by every worker (an abandoned run, a worker that died) are not final: they are
  // left out rather than written with some workers' probes missing.
  clearInterval(flushTimer);
  clearInterval(refreshTimer);
  await topologyPoller?.close();
  await heartbeat?.close(Math.min(io.now(), endMs));
  await endpoint?.close();
  undo.length = 0;
  stalls.settle(Infinity);
  const endedMs = Math.min(io.now(), endMs);
  event({ atMs: endedMs, kind: 'run', name: 'end', detail: { reason } });
  writer.flush();
  let verified: Verified = {};
  if (!abandoned && ledger !== null && opts.verify !== false) {
    verified = await verifyWrites(opts, runId, ledger, { ratePerSec: opts.rates.write, t0Ms }, event, io);
  }
  // The run's rows go, whatever the verification found (a failed clean-up is only a warning).
  if (!abandoned && opts.keep !== true) await cleanUp(opts, runId, event, io);
  const trailer: ResultsTrailer = {
    type: 'trailer',
    endMs: endedMs,
    reason,
    totals,
    ...(verified.writes !== undefined ? { writes: verified.writes } : {}),
    ...(verified.error !== undefined ? { verifyError: verified.error } : {}),
    ...(errorMessage !== undefined ? { error: errorMessage } : {}),
  };
  side?.group.removeSink(side.index);
  writer.write(trailer);
  writer.close();
  progress.finish(totals, ops, (o) => totalDue({ ratePerSec: opts.rates[o], t0Ms, endMs }));
  if (writer.error !== undefined) {
    throw new DowntimeError(
      `cannot write the results file ${writer.path}: ${errnoWords(writer.error)}; the run was stopped ${formatDuration(endedMs - t0Ms)} in. ${writer.complete ? 'Everything up to then is in the file' : 'The file holds what was written before (downtime report reads it); the rest is lost'}. Free some space or choose another --out`,
      ExitCode.Output,
    );
  }
  return { path: writer.path, runId, header, trailer, abandoned };
}

/** What verification found: the comparison, or why there is none. */
interface Verified {
  writes?: WriteVerification;
  error?: string;
}

/**
 * Looks up every write of the run on the (final) endpoint: acknowledged but missing rows are lost writes. A
 * failure here is a warning in the file and `verifyError` in the trailer (lost writes are then unknown, and
 * the default lost_writes==0 threshold fails saying so): the measurement itself stands.
 */
async function verifyWrites(
  opts: RunOptions,
  runId: string,
  ledger: WriteLedger,
  schedule: OpSchedule,
  event: (e: EventInput) => void,
  io: Io,
): Promise<Verified> {
  let conn: Awaited<ReturnType<typeof connectOnce>> | undefined;
  try {
    conn = await connectOnce(opts);
    await boundLockWaits(conn);
    const present = await presentSeqs(conn, opts.table, runId);
    const result = ledger.compare(present, (seq) => Math.floor(intendedMs(schedule, seq) / 1000));
    const verification: WriteVerification = { ...result, checkedAt: opts.target.url };
    event({ atMs: io.now(), kind: 'note', name: 'writes-verified', detail: { ...verification } });
    if (result.lost > 0) {
      io.stderr(`downtime: ${result.lost} acknowledged write(s) are missing on ${opts.target.url}: lost writes\n`);
    }
    return { writes: verification };
  } catch (err) {
    const message = oneLine(err instanceof Error ? err.message : String(err));
    event({ atMs: io.now(), kind: 'warning', name: 'verify-failed', detail: { message } });
    io.stderr(`downtime: warning: could not verify writes: ${message}\n`);
    return { error: message };
  } finally {
    conn?.destroy();
  }
}

/** Deletes the run's rows; a failure (no DELETE grant, the server gone) is a warning: the rows stay. */
async function cleanUp(opts: RunOptions, runId: string, event: (e: EventInput) => void, io: Io): Promise<void> {
  let conn: Awaited<ReturnType<typeof connectOnce>> | undefined;
  try {
    conn = await connectOnce(opts);
    await boundLockWaits(conn);
    await deleteRunRows(conn, opts.table, runId);
  } catch (err) {
    const message = oneLine(err instanceof Error ? err.message : String(err));
    event({ atMs: io.now(), kind: 'warning', name: 'cleanup-failed', detail: { message } });
    io.stderr(`downtime: warning: could not delete the run's rows from ${opts.table} (run_id ${runId}): ${message}\n`);
  } finally {
    conn?.destroy();
  }
}

/** "12:03:41.120" (UTC). */
function clockOf(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** A change of the answering server as seen on a connection: by a read, or when a connection was opened. */
export type IdentityVia = 'read' | `connect (${Op}s)`;

/**
 * Who answered: an `identity` event each time the server answering probes changes from the last one announced
 * (the first worker to see the change announces it), and a warning when a server answers again after it was
 * replaced — a stale pool or DNS still pointing at the old instance. Changes are seen by reads (every read
 * returns who answered it) and at connect time (a pooled connection asks once when it opens; connections.ts);
 * the event says which, and the address the connection reached. A sighting older than the current server's
 * (messages of different workers cross) is not a change.
 */
export class IdentityTimeline {
  private current: string | null = null;
  private currentAtMs = -Infinity;
  private readonly seenServers = new Set<string>();
  private currentServer: string | null = null;
  private events = 0;
  private static readonly MAX_EVENTS = 1000;
  /** Per op: the handshake version and address per-probe connections last reported (no identity query). */
  private readonly handshakes = new Map<Op, string>();

  constructor(
    private readonly event: (e: EventInput) => void,
    /** The run's start: a connection opened before it (the pool, warmed) is announced at the start. */
    private readonly notBeforeMs = -Infinity,
  ) {}

  /** What a worker's new connection reported (WorkerMessage `connected`). */
  connected(
    worker: number,
    m: { op: Op; identity: Identity | null; version: string | null; address: string | null; atMs: number },
  ): void {
    if (m.identity !== null) {
      this.observe(worker, m.identity, m.atMs, m.atMs, m.address, `connect (${m.op}s)`);
      return;
    }
    // Per-probe: the handshake's version and the address only (no extra round trip); reads carry identity.
    const key = `${m.version ?? ''}\u0000${m.address ?? ''}`;
    const previous = this.handshakes.get(m.op);
    if (previous === key || this.handshakes.size > 100) return;
    this.handshakes.set(m.op, key);
    this.event({
      atMs: Math.max(m.atMs, this.notBeforeMs),
      kind: 'note',
      name: `${m.op} connections ${previous === undefined ? '' : 'now '}reach ${m.version ?? '?'}${m.address ? ` at ${m.address}` : ''} from ${clockOf(m.atMs)}`,
      detail: { op: m.op, version: m.version, address: m.address, worker, connectedAtMs: m.atMs },
    });
  }

  observe(
    worker: number,
    id: Identity,
    intendedAtMs: number,
    atMs: number,
    address: string | null = null,
    via: IdentityVia = 'read',
  ): void {
    const key = identityKey(id);
    if (key === this.current) {
      this.currentAtMs = Math.max(this.currentAtMs, atMs);
      return;
    }
    if (atMs < this.currentAtMs) return; // older news from another worker
    // Stale means another server answering again after it was replaced; the same server flipping read_only
    // (a promotion, or two workers' sightings of it crossing by a few ms) is a change, not a stale server.
    const server = `${id.serverId ?? ''}\u0000${id.hostname ?? ''}`;
    const returning = this.seenServers.has(server) && server !== this.currentServer;
    const previous = this.current;
    this.current = key;
    this.currentServer = server;
    this.currentAtMs = atMs;
    this.seenServers.add(server);
    if (++this.events > IdentityTimeline.MAX_EVENTS) {
      if (this.events === IdentityTimeline.MAX_EVENTS + 1) {
        this.event({
          atMs,
          kind: 'warning',
          name: 'identity-flapping',
          detail: { message: 'more than 1000 changes of the answering server; no more are recorded' },
        });
      }
      return;
    }
    const fromMs = Math.max(intendedAtMs, this.notBeforeMs);
    const who = `${id.hostname ?? '?'} ${id.version ?? '?'}, server_id ${id.serverId ?? '?'}${id.readOnly ? ' (read-only)' : ''}${address ? ` at ${address}` : ''}`;
    this.event({
      atMs: fromMs,
      kind: 'identity',
      name: `${previous === null ? 'answered' : 'now answered'} by ${who} from ${clockOf(intendedAtMs)}`,
      detail: { ...id, address, via, worker, answeredAtMs: atMs },
    });
    if (returning && previous !== null) {
      this.event({
        atMs: fromMs,
        kind: 'warning',
        name: 'stale-server',
        detail: {
          ...id,
          address,
          via,
          worker,
          message: `${via === 'read' ? 'reads' : `new ${via.slice(9, -1)} connections`} answered again by ${who} after it had been replaced (stale pool or DNS?)`,
        },
      });
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** One line per second on stderr, like sysbench's --report-interval. */
class ProgressPrinter {
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

export function progressLine(records: SecondRecord[], t0Ms: number): string {
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
