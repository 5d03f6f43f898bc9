import { randomUUID } from 'node:crypto';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { ResultsWriter } from '../results/writer.js';
import {
  OPS,
  type EventInput,
  type Op,
  type OpSchedule,
  type OpTotals,
  type ResultsHeader,
  type ResultsTrailer,
  type SecondRecord,
} from '../results/types.js';
import { errnoWords } from '../util/errno.js';
import { formatDuration } from '../util/duration.js';
import { sleepUnref } from '../util/sleep.js';
import { cleanUp, verifyWrites, type Verified } from './after-run.js';
import { BottleneckWatch } from './bottleneck.js';
import { EndpointWatcher } from './endpoint-watch.js';
import { resultsHeader } from './header.js';
import { Heartbeat } from './heartbeat.js';
import { IdentityTimeline } from './identity-timeline.js';
import { DEFAULT_POOL_SIZE, type RunOptions, type RunResult } from './options.js';
import { totalDue } from './pacer.js';
import { startPasswordRefresh } from './password-refresh.js';
import { compileSql, defaultReadSql, defaultWriteSql, type CompiledSql } from './probes.js';
import { ProgressPrinter } from './progress.js';
import type { WorkerMessage } from './protocol.js';
import { prepareRun } from './prepare.js';
import { Recorder } from './recorder.js';
import { StallLog } from './stall.js';
import { TimedActions } from './timed-actions.js';
import { TopologyPoller } from './topology-poller.js';
import { WriteLedger } from './verify.js';
import type { WorkerPool } from './workers.js';

export type { RunAction, RunOptions, RunResult } from './options.js';

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
    const started = await startMeasurement(opts, io, ops, sql, writer, undo);
    const result = await started.run();
    undo.length = 0;
    return result;
  } catch (err) {
    for (const u of undo.splice(0).reverse()) await Promise.resolve(u()).catch(() => undefined);
    writer.abandon();
    throw err;
  }
}

/** Setup connection, tables, workers warmed, endpoint watched: everything before the start is chosen. */
async function startMeasurement(
  given: RunOptions,
  io: Io,
  ops: Op[],
  sql: Record<Op, CompiledSql>,
  writer: ResultsWriter,
  undo: (() => unknown)[],
): Promise<Measurement> {
  const runId = randomUUID();
  // The password may change during the run (--password-command): every connection takes the newest.
  const password = { current: given.password };
  const opts: RunOptions = { ...given, passwordNow: () => password.current };
  const { workers, early, seeded, report, events } = await prepareRun(opts, io, ops, sql, runId, undo);
  // Rows to remove afterwards: the writes', and the seed row (not on a read-only target measured for reads).
  const rowsWritten = seeded || ops.includes('write');
  const m = new Measurement(opts, io, ops, runId, writer, workers, undo, password, rowsWritten);
  // The start's rate check (a raised pool, a rate the harness cannot carry): written once the file is open.
  for (const e of events) m.event(e);
  // Where the endpoint's name points during the run, and stale-endpoint warnings (endpoint-watch.ts). Its first
  // lookup is awaited here, before the start is chosen: nothing awaited may come between choosing the start and
  // telling the workers, or they would get it late and burst through the first probes at once.
  m.endpoint = await EndpointWatcher.start(
    opts.target.host,
    opts.dnsServer,
    opts.connectTimeoutMs,
    (e) => m.event(e),
    io.now,
    (line) => io.stderr(`downtime: warning: stale-endpoint: ${line}\n`),
  );
  undo.push(() => m.endpoint?.close());
  await m.start(report, early);
  return m;
}

type Connected = Extract<WorkerMessage, { type: 'connected' }>;

/** One measurement from its start to its trailer: the main thread's side of the run. */
class Measurement {
  endpoint: EndpointWatcher | null = null;
  private t0Ms = 0;
  private endMs = 0;
  private header: ResultsHeader | undefined;
  private reason: ResultsTrailer['reason'] = 'completed';
  private errorMessage: string | undefined;
  private fileError: string | undefined;
  private stopped = false;
  private abandoned = false;
  private abandonNow: () => void = () => undefined;
  private readonly abandonedPromise = new Promise<void>((r) => (this.abandonNow = r));
  /** Until the file is open, events wait here (the endpoint's first lookup). */
  private readonly beforeStart: EventInput[] = [];
  private sink: (e: EventInput) => void = (e) => void this.beforeStart.push(e);
  private readonly totals: Partial<Record<Op, OpTotals>> = {};
  private recorder: Recorder | undefined;
  /** Live metrics (`--metrics-port`), fed every final second. */
  private metrics: (r: SecondRecord) => void = () => undefined;
  private ledger: WriteLedger | null = null;
  private progress: ProgressPrinter | undefined;
  private actions: TimedActions | undefined;
  private stalls: StallLog | undefined;
  private topologyPoller: TopologyPoller | null = null;
  private heartbeat: Heartbeat | null = null;
  /** Seconds where the harness, not the database, held the probes back (bottleneck.ts). */
  private bottleneck: BottleneckWatch | undefined;

  constructor(
    private readonly opts: RunOptions,
    private readonly io: Io,
    private readonly ops: Op[],
    private readonly runId: string,
    private readonly writer: ResultsWriter,
    private readonly workers: WorkerPool,
    private readonly undo: (() => unknown)[],
    private readonly password: { current: string | undefined },
    private readonly rowsWritten: boolean,
  ) {
    for (const op of ops) this.totals[op] = { due: 0, ok: 0, failed: 0, dropped: 0 };
  }

  event(e: EventInput): void {
    this.sink(e);
  }

  /** Events of the shared timeline: side by side, they go into every member's file. */
  private shared = (e: EventInput): void => {
    const side = this.opts.sideBySide;
    if (side === undefined) this.event(e);
    else side.group.broadcast(e);
  };

  /**
   * Chooses the start (a whole second; side by side, the same second for every member), tells the workers,
   * writes the header and starts everything that runs beside the probes.
   */
  async start(tls: ResultsHeader['tls'], early: [number, Connected][]): Promise<void> {
    const { opts, io, writer } = this;
    const side = opts.sideBySide;
    this.t0Ms =
      side === undefined
        ? Math.ceil((io.now() + START_LEAD_MS) / 1000) * 1000
        : await side.group.ready(side.index, io.now(), START_LEAD_MS);
    this.endMs = this.t0Ms + opts.durationMs;
    // The workers learn the start first; what follows until the first timer is synchronous.
    this.workers.post({ type: 'start', t0Ms: this.t0Ms, endMs: this.endMs });
    this.header = resultsHeader(opts, {
      runId: this.runId,
      ops: this.ops,
      workers: this.workers.size,
      t0Ms: this.t0Ms,
      tls,
    });
    // From here on the file is the run's (with --force, the old one is replaced only now).
    writer.commit();
    writer.write(this.header);
    // The file refusing a line (a full disk) stops the run: what it measures could not be kept. The probes
    // in flight finish, writes are verified and the harness's rows removed; the run then fails with exit 6.
    writer.onError = (err) => {
      this.fileError = `cannot write the results file ${writer.path}: ${errnoWords(err)}`;
      io.stderr(`downtime: ${this.fileError}; stopping the run\n`);
      this.stopSending('error', this.fileError);
    };
    writer.flush();
    this.sink = (e) => writer.write({ type: 'event', ...e });
    for (const e of this.beforeStart) this.event(e);
    side?.group.addSink(side.index, this.sink);
    this.listen(early);
    await this.startSideJobs();
  }

  /** Worker messages: final seconds into the file, who answered, where the endpoint points, stalls. */
  private listen(early: [number, Connected][]): void {
    const { opts, io } = this;
    const side = opts.sideBySide;
    this.progress = new ProgressPrinter(io, this.t0Ms, this.ops, opts.progress, side ? `${opts.connection} ` : '');
    if (this.ops.includes('write')) {
      this.ledger = new WriteLedger(totalDue({ ratePerSec: opts.rates.write, t0Ms: this.t0Ms, endMs: this.endMs }));
    }
    const schedules = Object.fromEntries(this.ops.map((op) => [op, { ratePerSec: opts.rates[op], t0Ms: this.t0Ms }]));
    const recorder = new Recorder(this.workers.size, this.ops, schedules);
    this.recorder = recorder;
    const member = side !== undefined ? (side.group.members[side.index] ?? opts.connection) : 'run';
    const metrics = opts.metrics?.member(member, { label: opts.label, runId: this.runId, target: opts.target.url });
    if (metrics !== undefined) this.metrics = (r) => metrics.second(r, schedules[r.op] as OpSchedule);
    const identities = new IdentityTimeline((e) => this.event(e), this.t0Ms);
    const stalls = new StallLog(
      (e) => this.event(e),
      (line) => io.stderr(line),
      this.t0Ms,
    );
    this.stalls = stalls;
    const harness = {
      connection: opts.connection,
      workers: this.workers.size,
      poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE,
      maxInFlight: opts.maxInFlight,
    };
    const who = side !== undefined ? `${member}: ` : '';
    this.bottleneck = new BottleneckWatch(harness, opts.timeoutMs, this.t0Ms, who);
    this.workers.listen(
      (w, m) => {
        if (m.type === 'buckets') this.writeRecords(recorder.add(w, m.buckets, m.sealedThroughSec));
        else if (m.type === 'identity') identities.observe(w, m.identity, m.intendedMs, m.atMs, m.address ?? null);
        else if (m.type === 'connected') identities.connected(w, m);
        else if (m.type === 'address') this.endpoint?.observe(w, m.op, m.address, m.intendedMs, m.atMs);
        else if (m.type === 'stall') stalls.add(w, m.fromMs, m.toMs);
        // A scout beside a stuck pool was answered: the analysis ends the op's window there (endAtReach).
        else if (m.type === 'reach') {
          const detail = { op: m.op, worker: w, startedMs: m.startedMs };
          this.event({ atMs: m.atMs, kind: 'note', name: 'pool-reach', detail });
        } else if (m.type === 'done') this.workers.markDone(w);
        else if (m.type === 'error') {
          this.reason = 'error';
          this.errorMessage = m.message;
          this.workers.markDone(w);
        }
      },
      (w, message) => {
        this.reason = 'error';
        this.errorMessage = message;
        this.event({ atMs: io.now(), kind: 'warning', name: 'worker-crashed', detail: { worker: w, message } });
        this.workers.markDone(w);
      },
    );
    // What the pool's connections reported while it was opened, before the start.
    for (const [w, m] of early) identities.connected(w, m);
  }

  private writeRecords(records: SecondRecord[]): void {
    for (const r of records) {
      if (r.op === 'write') this.ledger?.add(r);
      const t = this.totals[r.op] as OpTotals;
      t.due += r.due;
      t.ok += r.ok;
      t.dropped += r.dropped;
      if (r.stalled !== undefined) t.stalled = (t.stalled ?? 0) + r.stalled;
      t.failed += Object.values(r.failed).reduce((a, b) => a + b, 0);
      this.writer.write(r);
      this.metrics(r);
      const warning = this.bottleneck?.observe(r);
      if (warning) {
        this.event(warning.event);
        this.io.stderr(warning.line);
      }
    }
    // Final seconds go to the file at once (a kill -9 cannot lose them), before they are shown.
    this.writer.flush();
    this.progress?.add(records);
  }

  /** The file's sync, password refresh, RDS phase polling, the replication heartbeat and the timed actions. */
  private async startSideJobs(): Promise<void> {
    const { opts, io, undo } = this;
    const flushTimer = setInterval(() => {
      this.stalls?.settle(io.now());
      this.writer.syncInBackground();
    }, 1000);
    undo.push(() => clearInterval(flushTimer));
    if (opts.passwordRefresh !== undefined) {
      const use = (pw: string): void => {
        this.password.current = pw;
        this.workers.post({ type: 'password', password: pw });
      };
      const warn = (line: string): void => io.stderr(line);
      undo.push(startPasswordRefresh(opts.passwordRefresh, use, (e) => this.event(e), warn, io.now));
    }
    this.event({ atMs: this.t0Ms, kind: 'run', name: 'start', detail: { runId: this.runId } });
    // RDS blue/green phases, where the endpoint has mysql.rds_topology (RDS, Aurora, the sandbox).
    if (opts.pollTopology !== false) {
      this.topologyPoller = await TopologyPoller.start(opts, this.shared, io.now, this.t0Ms);
      undo.push(() => this.topologyPoller?.close());
    }
    // Replication lag on green, where it is known (heartbeat.ts): its own connections, never fatal.
    if (opts.green) {
      this.heartbeat = Heartbeat.start({
        endpoint: opts,
        green: opts.green,
        table: opts.table,
        runId: this.runId,
        startMs: this.t0Ms,
        now: io.now,
        event: (e) => this.event(e),
        record: (r) => this.writer.write(r),
        keep: opts.keep === true,
      });
      undo.push(() => this.heartbeat?.close(Math.min(io.now(), this.endMs)));
    }
    this.actions = new TimedActions(opts.actions ?? [], this.t0Ms, this.shared, io.now);
    undo.push(() => this.actions?.cancel());
    if (this.fileError !== undefined) this.stopSending('error', this.fileError);
  }

  /** Stops sending (probes in flight finish) and cancels actions: on a signal, or when the file fails. */
  private stopSending(why: ResultsTrailer['reason'], message?: string): void {
    if (this.stopped || this.actions === undefined) return;
    this.stopped = true;
    this.reason = why;
    if (message !== undefined) this.errorMessage = message;
    this.workers.post({ type: 'stop', atMs: this.io.now() });
    this.actions.cancel();
  }

  /** Until the workers are done (or the run is abandoned, or the watchdog fires), then the end. */
  async run(): Promise<RunResult> {
    const { io, opts } = this;
    const side = opts.sideBySide;
    let interrupts = 0;
    // Signals: first stops sending, second abandons.
    const unregister = io.onSignal((signal) => {
      if (++interrupts > 1) {
        this.abandoned = true;
        this.abandonNow();
        return;
      }
      this.event({ atMs: io.now(), kind: 'run', name: 'interrupted', detail: { signal } });
      if ((side?.index ?? 0) === 0) {
        io.stderr(`downtime: ${signal}: stopping; finishing probes in flight (press Ctrl-C again to quit at once)\n`);
      }
      this.stopSending('interrupted');
    });
    // Bound the wait: every probe ends by its deadline, so workers are done soon after endMs + timeout.
    const watchdogMs = this.endMs + opts.timeoutMs + WORKER_GRACE_MS - io.now();
    let watchdog: NodeJS.Timeout | undefined;
    const watchdogPromise = new Promise<void>((r) => (watchdog = setTimeout(r, Math.max(0, watchdogMs))));
    await Promise.race([
      this.workers.done,
      this.abandonedPromise,
      watchdogPromise.then(() => {
        const left = this.workers.size - this.workers.finishedCount;
        if (left > 0) {
          this.reason = 'error';
          this.errorMessage = `${left} worker(s) did not finish in time`;
        }
      }),
    ]);
    clearTimeout(watchdog);
    this.actions?.cancel();
    unregister();
    if (!this.abandoned) await Promise.race([this.actions?.settled(), this.abandonedPromise, sleepUnref(5_000)]);
    // Side by side, the actions run in the first member: the others wait for their end events (bounded).
    if (side !== undefined) {
      if (side.index === 0) side.group.actionsSettled();
      else if (!this.abandoned) await Promise.race([side.group.actionsDone, this.abandonedPromise, sleepUnref(5_000)]);
    }
    return this.end();
  }

  /** Stops what ran beside the probes, verifies writes, removes the run's rows and writes the trailer. */
  private async end(): Promise<RunResult> {
    const { io, opts, writer } = this;
    // Seconds not sealed by every worker (an abandoned run, a worker that died) are not final: they are
    // left out rather than written with some workers' probes missing.
    for (const u of this.undo.splice(0).reverse()) await Promise.resolve(u()).catch(() => undefined);
    this.stalls?.settle(Infinity);
    const endedMs = Math.min(io.now(), this.endMs);
    this.event({ atMs: endedMs, kind: 'run', name: 'end', detail: { reason: this.reason } });
    writer.flush();
    let verified: Verified = {};
    if (!this.abandoned && this.ledger !== null && opts.verify !== false) {
      const schedule = { ratePerSec: opts.rates.write, t0Ms: this.t0Ms };
      verified = await verifyWrites(opts, this.runId, this.ledger, schedule, (e) => this.event(e), io);
    }
    // The run's rows go, whatever the verification found (a failed clean-up is only a warning).
    if (!this.abandoned && opts.keep !== true && this.rowsWritten)
      await cleanUp(opts, this.runId, (e) => this.event(e), io);
    const trailer: ResultsTrailer = {
      type: 'trailer',
      endMs: endedMs,
      reason: this.reason,
      totals: this.totals,
      ...(verified.writes !== undefined ? { writes: verified.writes } : {}),
      ...(verified.error !== undefined ? { verifyError: verified.error } : {}),
      ...(this.errorMessage !== undefined ? { error: this.errorMessage } : {}),
    };
    opts.sideBySide?.group.removeSink(opts.sideBySide.index);
    writer.write(trailer);
    writer.close();
    const t0Ms = this.t0Ms;
    const endMs = this.endMs;
    this.progress?.finish(this.totals, this.ops, (o) => totalDue({ ratePerSec: opts.rates[o], t0Ms, endMs }));
    if (writer.error !== undefined) {
      throw new DowntimeError(
        `cannot write the results file ${writer.path}: ${errnoWords(writer.error)}; the run was stopped ${formatDuration(endedMs - t0Ms)} in. ${writer.complete ? 'Everything up to then is in the file' : 'The file holds what was written before (downtime report reads it); the rest is lost'}. Free some space or choose another --out`,
        ExitCode.Output,
      );
    }
    const header = this.header as ResultsHeader;
    return { path: writer.path, runId: this.runId, header, trailer, abandoned: this.abandoned };
  }
}
