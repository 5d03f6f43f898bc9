/**
 * Measurement accuracy: outages injected through the sandbox (refuse, reset, blackhole and a latency spike
 * above the timeout at the endpoint proxy; the server stopped and started) under 100 and 1000 probes/s per
 * op, reads and writes, per-probe and pool clients, with probe (= connect) timeouts of 500 ms and 2 s. For
 * each measured window, the error of its start and end against the outage's true start and end (taken where
 * the proxy applies the fault, or where the server stops and starts accepting), in ms and in probe intervals
 * (1000 / rate ms), under two definitions side by side:
 * - new (what analyze() gives): a window ends at the earliest answer after its failures (intended time +
 *   latency of that answer, from the records' `edges`);
 * - old: it ends at the intended time of the first successful probe after its failures (what analyze()
 *   gives for the same file with its `edges` left out: files without them are read that way).
 * Both start at the intended time of the first failed probe. Missed, split and stray windows are counted,
 * not dropped. The target (issue #13): every edge within one probe interval + 20 ms of the truth.
 *
 * Side by side: sysbench oltp_point_select through the same endpoint during the same fault (the harness
 * probing alongside), and what its per-second report shows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, type Outage } from '../src/analyze/index.js';
import { bufferIo, wallClockMs } from '../src/io.js';
import { runMeasurement, type RunOptions } from '../src/load/measurement.js';
import type { ActionContext } from '../src/load/options.js';
import { parseTargetUrl } from '../src/scenario/target-url.js';
import { readResults } from '../src/results/reader.js';
import type { ConnectionModel, Op, ResultsFile } from '../src/results/types.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { sleep } from '../src/util/sleep.js';
import { fmt, percentile, sysbenchConfig } from './common.js';

type Kind = 'refuse' | 'reset' | 'blackhole' | 'latency' | 'stop-start';
const KINDS: Kind[] = ['refuse', 'reset', 'blackhole', 'latency', 'stop-start'];
const MODELS: ConnectionModel[] = ['per-probe', 'pool'];
/** Probe timeouts of the matrix (the connect timeout is the same). */
const TIMEOUTS_MS = [500, 2000];
/** The sysbench comparison's probe timeout (as in its earlier results). */
const SIDE_TIMEOUT_MS = 1000;
/** A latency spike holds every chunk this many timeouts: every probe that meets it times out. */
const LATENCY_TIMEOUTS = 1.5;
/** stop-start: room in the run for the server's start, which comes on top of the time it is kept down. */
const START_ALLOWANCE_MS = 3000;
/** The fault starts this long into the run: past the first second, where a per-probe harness warms up. */
const FAULT_AT_MS = 2500;
/** Windows overlapping [fault start − this, fault end + longest hold + this] belong to the fault; others are stray. */
const MARGIN_MS = 1000;

type Out = (line?: string) => void;

/** How long after its end a fault can still make a probe fail: a held chunk, a stalled handshake. */
function holdMs(kind: Kind, timeoutMs: number): number {
  return kind === 'latency' ? LATENCY_TIMEOUTS * timeoutMs : timeoutMs;
}

/** One definition's view of one fault in one op. */
interface Edges {
  /** Windows overlapping the fault. */
  found: number;
  /** Windows elsewhere in the run. */
  stray: number;
  startErrMs: number | null;
  endErrMs: number | null;
  measuredMs: number | null;
}

interface Cell {
  model: ConnectionModel;
  kind: Kind;
  rate: number;
  timeoutMs: number;
  lengthMs: number;
  op: Op;
  /** A pool meets a closed port only when it opens a connection: no window is required. */
  incidental: boolean;
  /** The end at the earliest answer after the failures (analyze()). */
  neu: Edges;
  /** The end at the intended time of the first success after the failures (analyze() without `edges`). */
  old: Edges;
  injectedMs: number;
  classes: string;
  /** The harness's largest send lag in the run (ms). */
  sendLagMs: number;
  /** How the run ended (trailer reason): anything but `completed` is shown. */
  reason: string;
  /**
   * stop-start: how far apart the last accepted and the first refused connect to the server were (the true
   * start lies in between; the first refused one is taken).
   */
  startUncertainMs: number | null;
}

function options(
  sandbox: Sandbox,
  model: ConnectionModel,
  rate: number,
  out: string,
  lengthMs: number,
  timeoutMs: number,
  kind: Kind,
): RunOptions {
  const tailMs = holdMs(kind, timeoutMs) + 2000 + (kind === 'stop-start' ? START_ALLOWANCE_MS : 0);
  return {
    target: parseTargetUrl(sandbox.endpoint.url).target,
    password: sandbox.endpoint.password,
    passwordSource: 'bench',
    label: out,
    rates: { read: rate, write: rate },
    durationMs: Math.ceil((FAULT_AT_MS + 1000 + lengthMs + tailMs) / 1000) * 1000,
    workers: 2,
    connection: model,
    timeoutMs,
    connectTimeoutMs: timeoutMs,
    // Room for every probe of a blackhole's timeout at 1000/s: the window should not be made of drops.
    maxInFlight: Math.max(2048, Math.ceil((rate * timeoutMs * 2) / 1000)),
    table: 'downtime_probe',
    out,
    overwrite: false,
    progress: false,
    verify: false,
  };
}

/** Connects to host:port once: true if it was accepted (at the TCP level), false if refused. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * When the server at host:port first spoke to a client: connects (again every ~1 ms while refused or closed
 * unanswered) and takes the moment its first bytes — the greeting of the MySQL protocol — arrive. A server
 * that has just started listens before it serves: a connect then succeeds (the kernel's backlog), but the
 * greeting comes once the server takes connections (1–5 ms later for a fresh MariaDB here, 13–34 ms with the
 * machine busy). Null if nothing greeted within `giveUpMs`.
 */
async function firstGreeting(host: string, port: number, giveUpMs: number): Promise<number | null> {
  const deadline = wallClockMs() + giveUpMs;
  while (wallClockMs() < deadline) {
    const at = await new Promise<number | null>((resolve) => {
      const s = connect({ host, port });
      const done = (v: number | null): void => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(Math.max(1, deadline - wallClockMs()), () => done(null));
      s.once('data', () => done(wallClockMs()));
      s.once('error', () => done(null));
      s.once('close', () => done(null));
    });
    if (at !== null) return at;
    await sleep(1);
  }
  return null;
}

/**
 * Polls host:port (a TCP connect every ~1 ms) until it refuses: the moment a server stopped listening lies
 * between the last accepted attempt and the first refused one (both taken when the attempt began).
 */
async function watchListenerClose(
  host: string,
  port: number,
  giveUpMs: number,
): Promise<{ closedAtMs: number; lastOpenAtMs: number } | null> {
  let lastOpenAtMs = wallClockMs();
  const deadline = lastOpenAtMs + giveUpMs;
  for (;;) {
    const t = wallClockMs();
    if (!(await accepts(host, port))) return { closedAtMs: t, lastOpenAtMs };
    lastOpenAtMs = t;
    if (t > deadline) return null;
    await sleep(1);
  }
}

/**
 * The server behind the endpoint stopped (SIGTERM, graceful) and started again, as the sandbox's restart step
 * does it (server stopped; endpoint refuses and drops its connections; server started; endpoint accepts), but
 * kept down `downMs` from the moment it stopped listening. Records a `fault` event `stop-start` whose atMs is
 * when the server stopped accepting connections (a TCP connect to it refused) and whose endMs is when clients
 * could be served again: the later of the endpoint accepting (after the server listens) and the server's first
 * greeting (firstGreeting); the detail has the moments in between.
 */
async function stopStart(sandbox: Sandbox, downMs: number, ctx: ActionContext): Promise<Record<string, unknown>> {
  const server = sandbox.blue;
  const host = server.host ?? '127.0.0.1';
  const watching = watchListenerClose(host, server.port, 30_000);
  const sigtermAtMs = wallClockMs();
  const stopping = server.stop();
  const closed = await watching;
  await stopping;
  const exitedAtMs = wallClockMs();
  let startingAtMs = NaN;
  let acceptingAtMs = NaN;
  let acceptAskedAtMs = NaN;
  try {
    await sandbox.proxy.refuse();
    await sandbox.proxy.dropConnections();
    const refusingAtMs = wallClockMs();
    const downFromMs = closed?.closedAtMs ?? sigtermAtMs;
    await sleep(Math.max(0, downFromMs + downMs - wallClockMs()));
    startingAtMs = wallClockMs();
    await server.start();
    acceptAskedAtMs = wallClockMs();
    // The endpoint accepts as soon as the server listens (as the sandbox's restart does), and clients' connects
    // wait in the server's backlog; the outage ends when the server serves them, seen as its first greeting.
    const greeting = firstGreeting(host, server.port, 30_000);
    await sandbox.proxy.accept();
    acceptingAtMs = wallClockMs();
    const greetedAtMs = await greeting;
    const detail = {
      sigtermAtMs,
      lastAcceptedAtMs: closed?.lastOpenAtMs,
      exitedAtMs,
      refusingAtMs,
      startingAtMs,
      serverAcceptingAtMs: acceptAskedAtMs,
      endpointAcceptingAtMs: acceptingAtMs,
      serverGreetedAtMs: greetedAtMs ?? undefined,
      requestedDownMs: downMs,
    };
    const endMs = Math.max(acceptingAtMs, greetedAtMs ?? acceptingAtMs);
    ctx.event({ atMs: downFromMs, endMs, kind: 'fault', name: 'stop-start', detail });
    return detail;
  } finally {
    // Whatever happened, the endpoint is left serving a running server.
    if (Number.isNaN(acceptingAtMs)) {
      if (Number.isNaN(acceptAskedAtMs)) await server.start().catch(() => undefined);
      await sandbox.proxy.accept();
    }
  }
}

/** Runs the harness with one fault `FAULT_AT_MS` into the run; returns the file and the fault's true times. */
async function faultRun(
  sandbox: Sandbox,
  opts: RunOptions,
  kind: Kind,
  lengthMs: number,
): Promise<{ file: ResultsFile; atMs: number; endMs: number; reason: string; startUncertainMs: number | null }> {
  // A uniform phase within a second: the run starts on a whole second and probes are due every 1000 / rate
  // ms from it, so a fault at a round offset would begin exactly when a probe is due and hide the error.
  const phaseMs = Math.random() * 1000;
  const latencyMs = LATENCY_TIMEOUTS * opts.timeoutMs;
  const result = await runMeasurement(
    {
      ...opts,
      actions: [
        {
          atMs: FAULT_AT_MS + phaseMs,
          name: kind === 'latency' ? `latency ${latencyMs} ms for ${lengthMs} ms` : `${kind} ${lengthMs} ms`,
          execute: async (ctx) => {
            if (kind === 'stop-start') return stopStart(sandbox, lengthMs, ctx);
            sandbox.setOnEvent(ctx.event);
            const spec =
              kind === 'latency' ? { kind, latencyMs, durationMs: lengthMs } : { kind, durationMs: lengthMs };
            return sandbox.fault({ ...spec, signal: ctx.signal });
          },
        },
      ],
    },
    bufferIo(),
  );
  sandbox.setOnEvent(undefined);
  const file = readResults(opts.out);
  const ev = file.events.find((e) => e.kind === 'fault');
  if (ev?.endMs === undefined) throw new Error(`${kind} ${lengthMs} ms: no fault event with an end in ${opts.out}`);
  const reason = result.trailer.error ? `${result.trailer.reason}: ${result.trailer.error}` : result.trailer.reason;
  const lastAccepted = ev.detail?.lastAcceptedAtMs;
  const startUncertainMs = typeof lastAccepted === 'number' ? ev.atMs - lastAccepted : null;
  return { file, atMs: ev.atMs, endMs: ev.endMs, reason, startUncertainMs };
}

/** The same file as one without `edges`, which analyze() reads with the old definition of a window's end. */
function withoutEdges(file: ResultsFile): ResultsFile {
  const strip = (op: Op): ResultsFile['seconds'][Op] =>
    file.seconds[op].map((s) => {
      const c = { ...s };
      delete c.edges;
      return c;
    });
  return { ...file, seconds: { read: strip('read'), write: strip('write') } };
}

function edgesOf(outages: Outage[], op: Op, near: (o: Outage) => boolean, f: { atMs: number; endMs: number }): Edges {
  const mine = outages.filter((o) => o.op === op);
  const found = mine.filter(near);
  const first = found[0];
  const last = found[found.length - 1];
  return {
    found: found.length,
    stray: mine.length - found.length,
    // The span from the first window's start to the last one's end: a split outage is one fault.
    startErrMs: first ? first.startMs - f.atMs : null,
    endErrMs: last ? last.endMs - f.endMs : null,
    measuredMs: first && last ? last.endMs - first.startMs : null,
  };
}

function cellsOf(
  file: ResultsFile,
  f: { atMs: number; endMs: number; reason: string; startUncertainMs?: number | null },
  base: Pick<Cell, 'model' | 'kind' | 'rate' | 'timeoutMs' | 'lengthMs' | 'incidental'>,
): Cell[] {
  const neu = analyze(file).outages;
  const old = analyze(withoutEdges(file)).outages;
  const near = (o: Outage): boolean =>
    o.endMs >= f.atMs - MARGIN_MS && o.startMs <= f.endMs + holdMs(base.kind, base.timeoutMs) + MARGIN_MS;
  const cells: Cell[] = [];
  for (const op of ['read', 'write'] as Op[]) {
    const classes: Record<string, number> = {};
    for (const w of neu.filter((o) => o.op === op && near(o)))
      for (const [k, n] of Object.entries(w.errors)) classes[k] = (classes[k] ?? 0) + n;
    cells.push({
      ...base,
      op,
      neu: edgesOf(neu, op, near, f),
      old: edgesOf(old, op, near, f),
      injectedMs: f.endMs - f.atMs,
      classes: Object.entries(classes)
        .map(([k, n]) => `${k} ${n}`)
        .join(', '),
      sendLagMs: Math.max(0, ...file.seconds[op].map((s) => s.sendLagUs?.max ?? 0)) / 1000,
      reason: f.reason,
      startUncertainMs: f.startUncertainMs ?? null,
    });
  }
  return cells;
}

/** The target: within one probe interval + 20 ms of the truth. */
const targetMs = (rate: number): number => 1000 / rate + 20;
type Def = 'neu' | 'old';
const keyOf = (c: Cell): string => `${c.kind}|${c.model}|${c.rate}|${c.timeoutMs}`;

/** Whether every run of a cell meets the target under one definition: "met", "missed (…)" or "n/a". */
function verdict(group: Cell[], def: Def): string {
  const first = group[0] as Cell;
  const target = targetMs(first.rate);
  const missed = group.filter((c) => !c.incidental && c[def].found === 0).length;
  const errs = group.flatMap((c) => [c[def].startErrMs, c[def].endErrMs]).filter((e) => e !== null);
  if (errs.length === 0) return first.incidental ? 'n/a' : `missed (${missed} of ${group.length} not found)`;
  const worst = Math.max(...errs.map(Math.abs));
  const over = group.filter((c) =>
    [c[def].startErrMs, c[def].endErrMs].some((e) => e !== null && Math.abs(e) > target),
  ).length;
  if (missed === 0 && over === 0) return 'met';
  const why = [
    ...(missed > 0 ? [`${missed} of ${group.length} not found`] : []),
    ...(over > 0 ? [`${over} of ${group.length} over, worst ${fmt(worst, 0)} ms`] : []),
  ];
  return `**missed** (${why.join('; ')})`;
}

function windowsOf(group: Cell[], def: Def): string {
  const expected = group.filter((c) => !c.incidental).length;
  const got = group.filter((c) => c[def].found > 0).length;
  const missed = group.filter((c) => !c.incidental && c[def].found === 0).length;
  const split = group.filter((c) => c[def].found > 1).length;
  const stray = group.reduce((a, c) => a + c[def].stray, 0);
  return `${got} / ${expected}${group.some((c) => c.incidental) ? ' (incidental)' : ''} (${missed}, ${split}, ${stray})`;
}

function dist(values: number[], digits = 1): string {
  const abs = values.map(Math.abs);
  if (abs.length === 0) return '—';
  return `${fmt(percentile(abs, 50), digits)} / ${fmt(percentile(abs, 90), digits)} / ${fmt(Math.max(...abs), digits)}`;
}

function summarize(cells: Cell[], out: Out): void {
  out(
    '| fault | model | rate/op | timeout (ms) | edge | n | new \\|err\\| p50 / p90 / max (ms) | old \\|err\\| p50 / p90 / max (ms) | signed median new / old (ms) | max new / old (intervals) | target (ms) | within target: new / old | windows new / old: found / expected (missed, split, stray) | worst send lag (ms) |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const keys = [...new Set(cells.map(keyOf))];
  for (const key of keys) {
    const group = cells.filter((c) => keyOf(c) === key);
    const { kind, model, rate, timeoutMs } = group[0] as Cell;
    const interval = 1000 / rate;
    const notCompleted = group.filter((c) => c.reason !== 'completed').length / 2;
    const health =
      fmt(Math.max(...group.map((c) => c.sendLagMs)), 0) +
      (notCompleted > 0 ? `; ${notCompleted} run(s) not completed` : '');
    for (const edge of ['start', 'end'] as const) {
      const errs = (def: Def): number[] =>
        group.map((c) => (edge === 'start' ? c[def].startErrMs : c[def].endErrMs)).filter((e) => e !== null);
      const [n, o] = [errs('neu'), errs('old')];
      const maxIv = (v: number[]): string => (v.length ? fmt(Math.max(...v.map(Math.abs)) / interval) : '—');
      out(
        `| ${kind} | ${model} | ${rate} | ${timeoutMs} | ${edge} | ${n.length} | ${dist(n)} | ${dist(o)} | ${fmt(percentile(n, 50), 1)} / ${fmt(percentile(o, 50), 1)} | ${maxIv(n)} / ${maxIv(o)} | ` +
          (edge === 'start'
            ? `${fmt(targetMs(rate), 0)} | ${verdict(group, 'neu')} / ${verdict(group, 'old')} | ${windowsOf(group, 'neu')} / ${windowsOf(group, 'old')} | ${health} |`
            : '| | | |'),
      );
    }
  }
  out('');
}

/** Faults down, model × rate × timeout across: new / old verdicts at a glance. */
function targetMatrix(cells: Cell[], out: Out): void {
  const cols = [...new Set(cells.map((c) => `${c.model}|${c.rate}|${c.timeoutMs}`))];
  const label = (col: string): string => {
    const [m, r, t] = col.split('|');
    return `${m} ${r}/s, ${Number(t) / 1000} s`;
  };
  out(`| fault | ${cols.map(label).join(' | ')} |`);
  out(`| --- | ${cols.map(() => '---').join(' | ')} |`);
  for (const kind of [...new Set(cells.map((c) => c.kind))]) {
    const row = cols.map((col) => {
      const group = cells.filter((c) => c.kind === kind && `${c.model}|${c.rate}|${c.timeoutMs}` === col);
      if (group.length === 0) return '';
      const short = (v: string): string => (v === 'met' ? 'met' : v === 'n/a' ? 'n/a' : 'missed');
      return `${short(verdict(group, 'neu'))} / ${short(verdict(group, 'old'))}`;
    });
    out(`| ${kind} | ${row.join(' | ')} |`);
  }
  out('');
}

function cellTable(cells: Cell[], out: Out): void {
  out(
    '| fault | model | rate/op | timeout (ms) | op | windows new / old (stray) | start err (ms) (true start uncertain by) | end err new / old (ms) | measured new ÷ injected (ms) | classes | max send lag (ms) | run end |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const e = (v: number | null): string => (v === null ? '—' : fmt(v, 1));
  for (const c of cells) {
    const start =
      c.neu.startErrMs === c.old.startErrMs ? e(c.neu.startErrMs) : `${e(c.neu.startErrMs)} / ${e(c.old.startErrMs)}`;
    const uncertain = c.startUncertainMs === null ? '' : ` (${fmt(c.startUncertainMs, 1)})`;
    out(
      `| ${c.kind} | ${c.model} | ${c.rate} | ${c.timeoutMs} | ${c.op} | ${c.neu.found} / ${c.old.found}${c.incidental ? ' (incidental)' : ''} (${c.neu.stray} / ${c.old.stray}) | ${start}${uncertain} | ${e(c.neu.endErrMs)} / ${e(c.old.endErrMs)} | ${c.neu.measuredMs === null ? '—' : fmt(c.neu.measuredMs, 0)} ÷ ${fmt(c.injectedMs, 0)} | ${c.classes} | ${fmt(c.sendLagMs, 1)} | ${c.reason} |`,
    );
  }
  out('');
}

interface SysbenchSecond {
  /** Wall-clock ms when the report line arrived: the end of its second. */
  atMs: number;
  qps: number;
  errPerSec: number;
  reconnPerSec: number;
}

/**
 * sysbench oltp_point_select through the endpoint while the harness runs one fault: the per-second report
 * lines with the time each arrived. sysbench may hang (a blackholed connection never times out on its
 * own) or exit on an error it does not ignore: both are findings, so the exit is reported, not thrown.
 */
async function sysbenchDuring(sandbox: Sandbox, kind: Kind, lengthMs: number, dir: string, out: Out): Promise<void> {
  const e = sandbox.endpoint;
  const args = ['oltp_point_select', sysbenchConfig(dir, e), '--tables=1', '--table-size=10000'];
  const runS = Math.ceil((FAULT_AT_MS + 1000 + lengthMs + SIDE_TIMEOUT_MS + 2000) / 1000) + 3;
  // 4 threads at 1000 queries/s in all: sysbench's --rate keeps it from taking the CPU the harness and the
  // proxy thread need (closed loop it does ~80k qps here). 5 s after --time it is shut down.
  const runArgs = [
    ...args,
    '--threads=4',
    '--rate=1000',
    `--time=${runS}`,
    '--report-interval=1',
    '--mysql-ignore-errors=all',
    '--forced-shutdown=5',
    'run',
  ];
  const seconds: SysbenchSecond[] = [];
  let stderr = '';
  const messages: string[] = [];
  let startedAtMs = 0;
  const child = spawn('sysbench', runArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.includes('Threads started')) startedAtMs = wallClockMs();
      // sysbench prints its errors and warnings on stdout.
      if (/FATAL|ALERT|WARNING|error/i.test(line) && !line.startsWith('[')) messages.push(line.trim());
      const m = /\[ *\d+s \].*qps: ([\d.]+).*err\/s: ([\d.]+) reconn\/s: ([\d.]+)/.exec(line);
      if (m)
        seconds.push({ atMs: wallClockMs(), qps: Number(m[1]), errPerSec: Number(m[2]), reconnPerSec: Number(m[3]) });
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // Bounded: killed if still there 15 s after its --time.
  const killer = setTimeout(() => child.kill('SIGKILL'), (runS + 15) * 1000);
  await sleep(500);
  const outFile = join(dir, `sysbench-${kind}-${lengthMs}.ndjson`);
  const { file, atMs, endMs, reason } = await faultRun(
    sandbox,
    options(sandbox, 'per-probe', 100, outFile, lengthMs, SIDE_TIMEOUT_MS, kind),
    kind,
    lengthMs,
  );
  const exit = await exited;
  clearTimeout(killer);
  const harness = cellsOf(
    file,
    { atMs, endMs, reason },
    { model: 'per-probe', kind, rate: 100, timeoutMs: SIDE_TIMEOUT_MS, lengthMs, incidental: false },
  );

  out(`### ${kind} ${lengthMs} ms (true length ${fmt(endMs - atMs, 0)} ms)`);
  out('');
  out(
    `sysbench: 4 threads, --rate=1000, --time=${runS}, exit ${exit.signal ?? exit.code}${startedAtMs === 0 ? ' (never started its threads)' : ''}; ` +
      `harness alongside: per-probe, 100/s per op`,
  );
  out('');
  out('| sysbench second (ends at fault start +) | qps | err/s | reconn/s |');
  out('| --- | --- | --- | --- |');
  for (const s of seconds) {
    const rel = (s.atMs - atMs) / 1000;
    if (rel < -3) continue;
    out(`| ${fmt(rel, 1)} s | ${fmt(s.qps, 0)} | ${fmt(s.errPerSec, 1)} | ${fmt(s.reconnPerSec, 1)} |`);
  }
  out('');
  // What one would read off the report: seconds with no query at all, and seconds below half the rate or with errors.
  const during = seconds.filter((s) => s.atMs > atMs - 1000);
  const zero = during.filter((s) => s.qps === 0).length;
  const degraded = during.filter((s) => s.qps < 500 || s.errPerSec > 0).length;
  const lastSecond = seconds[seconds.length - 1];
  const recovered = seconds.some((s) => s.atMs > endMs + 1000 && s.qps >= 500);
  out(
    `- read off sysbench: **${zero} s with 0 qps**, ${degraded} s below half its rate or with errors` +
      `${recovered ? '' : `; it had not recovered by its last report (${lastSecond ? fmt((lastSecond.atMs - atMs) / 1000, 1) : '—'} s after the fault began)`}`,
  );
  for (const c of harness) {
    out(
      `- harness ${c.op}s: ${c.neu.found} window(s), ${c.neu.measuredMs === null ? 'none' : `${fmt(c.neu.measuredMs, 0)} ms`} (start ${c.neu.startErrMs === null ? '—' : fmt(c.neu.startErrMs, 1)} ms, end ${c.neu.endErrMs === null ? '—' : fmt(c.neu.endErrMs, 1)} ms (old definition ${c.old.endErrMs === null ? '—' : fmt(c.old.endErrMs, 1)} ms) from the true edges; ${c.classes || 'no failures'})`,
    );
  }
  const said = [
    ...new Set([
      ...messages,
      ...stderr
        .trim()
        .split('\n')
        .filter((l) => l !== ''),
    ]),
  ];
  if (exit.code !== 0 || said.length > 0) {
    out(
      `- sysbench's exit: ${exit.signal ?? exit.code}; it said (${said.length} distinct lines, first 3): ` +
        (said.slice(0, 3).join(' / ').replaceAll(e.password, '***') || 'nothing'),
    );
  }
  out('');
}

/** The same run without a fault: any window here is the harness, proxy or machine, not a fault. */
async function controlRun(
  sandbox: Sandbox,
  model: ConnectionModel,
  rate: number,
  timeoutMs: number,
  outFile: string,
): Promise<string> {
  const opts = options(sandbox, model, rate, outFile, 1000, timeoutMs, 'reset');
  await runMeasurement(opts, bufferIo());
  const file = readResults(outFile);
  const summary = analyze(file);
  const parts = (['read', 'write'] as Op[]).map((op) => {
    const s = summary.ops[op];
    const lag = Math.max(0, ...file.seconds[op].map((x) => x.sendLagUs?.max ?? 0)) / 1000;
    const p99 = Math.max(0, ...file.seconds[op].map((x) => x.sendLagUs?.p99 ?? 0)) / 1000;
    return `${s?.windows ?? 0} | ${s?.failed ?? 0} + ${s?.dropped ?? 0} of ${s?.due ?? 0} | ${fmt(p99, 1)} / ${fmt(lag, 1)}`;
  });
  return `| ${model} | ${rate} | ${timeoutMs} | ${fmt(opts.durationMs / 1000, 0)} s | ${parts.join(' | ')} |`;
}

/**
 * A subset of the matrix (`--cells=pool:blackhole,latency:1000:3000:500`): fault cells only, no control or
 * sysbench.
 */
export interface CellSelection {
  models: ConnectionModel[];
  kinds: Kind[];
  rates: number[];
  lengths: number[];
  /** Absent: both of the matrix's timeouts. */
  timeouts?: number[];
}

/** Parses `--cells=MODELS:KINDS:RATES:LENGTHS[:TIMEOUTS]` (lists comma-separated); a one-line message on anything else. */
export function parseCells(arg: string): CellSelection | string {
  const [models, kinds, rates, lengths, timeouts, ...rest] = arg.split(':');
  const usage = `--cells takes MODELS:KINDS:RATES:LENGTHS[:TIMEOUTS], e.g. --cells=pool:blackhole,latency:1000:3000:500 (models pool, per-probe; kinds ${KINDS.join(', ')}; timeouts in ms, default ${TIMEOUTS_MS.join(',')})`;
  if (rest.length > 0 || models === undefined || kinds === undefined || rates === undefined || lengths === undefined)
    return usage;
  const ms = models.split(',');
  const badModel = ms.find((m) => !(MODELS as string[]).includes(m));
  if (badModel !== undefined) return `${usage}; "${badModel}" is not a model`;
  const ks = kinds.split(',');
  const bad = ks.find((k) => !(KINDS as string[]).includes(k));
  if (bad !== undefined) return `${usage}; "${bad}" is not a fault`;
  const positive = (list: string): number[] | null => {
    const ns = list.split(',').map(Number);
    return ns.every((n) => Number.isInteger(n) && n > 0) ? ns : null;
  };
  const rs = positive(rates);
  const ls = positive(lengths);
  const ts = timeouts === undefined ? undefined : positive(timeouts);
  if (rs === null) return `${usage}; "${rates}" are not rates`;
  if (ls === null) return `${usage}; "${lengths}" are not lengths in ms`;
  if (ts === null) return `${usage}; "${timeouts}" are not timeouts in ms`;
  return {
    models: ms as ConnectionModel[],
    kinds: ks as Kind[],
    rates: rs,
    lengths: ls,
    ...(ts !== undefined ? { timeouts: ts } : {}),
  };
}

/** The same runs without a fault, per model and rate (with the shortest timeout: the one that fails first). */
async function controls(
  sandbox: Sandbox,
  models: ConnectionModel[],
  rates: number[],
  timeoutMs: number,
  dir: string,
  out: Out,
): Promise<void> {
  out('### Control: the same runs without a fault');
  out('');
  out(
    '| model | rate/op | timeout (ms) | length | read windows | read failed + dropped of due | read send lag worst-second p99 / max (ms) | write windows | write failed + dropped of due | write send lag worst-second p99 / max (ms) |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const model of models) {
    for (const rate of rates) {
      const outFile = join(dir, `control-${model}-${rate}.ndjson`);
      out(await controlRun(sandbox, model, rate, timeoutMs, outFile));
      rmSync(outFile, { force: true });
      await sleep(500);
    }
  }
  out('');
}

/**
 * The matrix: `reps` runs of every fault × model × rate × timeout × length (repetitions outermost, so that a
 * busy stretch of the shared machine spreads over the cells instead of ruining one).
 */
export async function accuracy(quick: boolean, out: Out, select?: CellSelection, repsArg?: number): Promise<void> {
  out('## Measurement accuracy against injected outages');
  out('');
  const lengths = select?.lengths ?? (quick ? [1000] : [3000]);
  const rates = select?.rates ?? (quick ? [100] : [100, 1000]);
  const models: ConnectionModel[] = select?.models ?? (quick ? ['per-probe'] : MODELS);
  const kinds = select?.kinds ?? KINDS;
  const timeouts = select?.timeouts ?? (quick ? [TIMEOUTS_MS[0] as number] : TIMEOUTS_MS);
  const reps = repsArg ?? (quick ? 1 : 2);
  out(
    `Sandbox server behind the endpoint proxy (its own thread in this process); ${reps} run(s) per cell, reads and writes each at the rate, ` +
      `2 worker threads, probe timeout = connect timeout, fault ${FAULT_AT_MS}–${FAULT_AT_MS + 1000} ms into the run (uniform phase against the probe schedule). ` +
      `Faults ${kinds.join(', ')} (latency: every chunk held ${LATENCY_TIMEOUTS} × the timeout; stop-start: the server kept down that long from when it stopped listening, then started); ` +
      `lengths ${lengths.join(', ')} ms; rates ${rates.join(', ')} probes/s per op; models ${models.join(', ')}; timeouts ${timeouts.join(', ')} ms.`,
  );
  out('');
  const dir = mkdtempSync(join(tmpdir(), 'downtime-accuracy-'));
  const sandbox = await startSandbox({ topology: 'single' });
  try {
    if (!select) await controls(sandbox, models, rates, Math.min(...timeouts), dir, out);
    const cells: Cell[] = [];
    for (let rep = 0; rep < reps; rep++) {
      for (const model of models) {
        for (const kind of kinds) {
          for (const rate of rates) {
            for (const timeoutMs of timeouts) {
              for (const lengthMs of lengths) {
                const outFile = join(dir, `${model}-${kind}-${rate}-${timeoutMs}-${lengthMs}-${rep}.ndjson`);
                const opts = options(sandbox, model, rate, outFile, lengthMs, timeoutMs, kind);
                const f = await faultRun(sandbox, opts, kind, lengthMs);
                const incidental = model === 'pool' && kind === 'refuse';
                cells.push(...cellsOf(f.file, f, { model, kind, rate, timeoutMs, lengthMs, incidental }));
                // DOWNTIME_BENCH_KEEP=1 keeps the results files (their directory is printed at the end).
                if (!process.env.DOWNTIME_BENCH_KEEP) rmSync(outFile, { force: true });
                // Let connections the fault left behind time out and close before the next cell.
                await sleep(500);
              }
            }
          }
        }
      }
    }
    // Grouped by cell (the runs were made repetition by repetition).
    const order = (c: Cell): string =>
      [KINDS.indexOf(c.kind), MODELS.indexOf(c.model), c.rate, c.timeoutMs, c.lengthMs]
        .map((x) => String(x).padStart(6, '0'))
        .join('|');
    cells.sort((a, b) => order(a).localeCompare(order(b)));
    out('### Within the target?');
    out('');
    out(
      `Target (issue #13): both edges within one probe interval + 20 ms of the truth (30 ms at 100/s, 21 ms at 1000/s), in every run, every outage found. ` +
        `Each entry: new definition (end at the earliest answer) / old (end at the first success's intended time).`,
    );
    out('');
    targetMatrix(cells, out);
    out('### Boundary error distribution');
    out('');
    out(
      'Error = measured edge − true edge (positive: late). Reads and writes of every run pooled per row. ' +
        'Windows: found / expected (missed, split, stray); "incidental": a pool meets refuse only when it opens a connection, no window is required.',
    );
    out('');
    summarize(cells, out);
    out('### Every cell');
    out('');
    cellTable(cells, out);
    if (select) return;
    out('### sysbench side by side');
    out('');
    const side: [Kind, number][] = quick
      ? [
          ['refuse', 3000],
          ['reset', 3000],
          ['blackhole', 3000],
        ]
      : [
          ['refuse', 3000],
          ['reset', 3000],
          ['blackhole', 3000],
          ['refuse', 10_000],
          ['reset', 10_000],
          ['blackhole', 10_000],
        ];
    const e = sandbox.endpoint;
    const prep = ['oltp_point_select', sysbenchConfig(dir, e), '--tables=1', '--table-size=10000', 'prepare'];
    await new Promise<void>((resolve, reject) =>
      spawn('sysbench', prep, { stdio: 'ignore' }).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`sysbench prepare exited ${code}`)),
      ),
    );
    for (const [kind, lengthMs] of side) {
      await sysbenchDuring(sandbox, kind, lengthMs, dir, out);
      await sleep(1000);
    }
  } finally {
    await sandbox.stop();
    if (process.env.DOWNTIME_BENCH_KEEP) out(`Results files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
