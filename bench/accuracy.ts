/**
 * Measurement accuracy: outages injected with the sandbox endpoint proxy's faults (refuse, reset, blackhole;
 * 50 ms to 10 s) under 100 and 1000 probes/s per op, reads and writes, per-probe and pool clients. For each
 * measured window, the error of its start and end against the fault event's true start and end (taken
 * where the proxy applies the fault), in ms and in probe intervals (1000 / rate ms). Missed, split and
 * stray windows are counted, not dropped.
 *
 * Side by side: sysbench oltp_point_select through the same endpoint during the same fault (the harness
 * probing alongside), and what its per-second report shows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, type Outage } from '../src/analyze/index.js';
import { bufferIo, wallClockMs } from '../src/io.js';
import { runMeasurement, type RunOptions } from '../src/load/measurement.js';
import { parseTargetUrl } from '../src/scenario/target-url.js';
import { readResults } from '../src/results/reader.js';
import type { ConnectionModel, Op, ResultsFile } from '../src/results/types.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { sleep } from '../src/util/sleep.js';
import { fmt, percentile, sysbenchConfig } from './common.js';

type Kind = 'refuse' | 'reset' | 'blackhole';
const KINDS: Kind[] = ['refuse', 'reset', 'blackhole'];
/** Probe timeout and connect timeout: a blackholed probe fails this long after its intended time. */
const TIMEOUT_MS = 1000;
/** The fault starts this long into the run: past the first second, where a per-probe harness warms up. */
const FAULT_AT_MS = 2500;
/** After the fault: a timeout for the last swallowed probes, and a margin to see recovery. */
const TAIL_MS = TIMEOUT_MS + 2000;
/** Windows overlapping [fault start − this, fault end + timeout + this] belong to the fault; others are stray. */
const MARGIN_MS = 1000;

type Out = (line?: string) => void;

interface Cell {
  model: ConnectionModel;
  kind: Kind;
  rate: number;
  lengthMs: number;
  op: Op;
  /** Windows overlapping the fault. */
  found: number;
  /** Windows elsewhere in the run. */
  stray: number;
  /** A pool meets a closed port only when it opens a connection: no window is required. */
  incidental: boolean;
  startErrMs: number | null;
  endErrMs: number | null;
  measuredMs: number | null;
  injectedMs: number;
  classes: string;
  /** The harness's largest send lag in the run (ms). */
  sendLagMs: number;
  /** How the run ended (trailer reason): anything but `completed` is shown. */
  reason: string;
}

function options(sandbox: Sandbox, model: ConnectionModel, rate: number, out: string, lengthMs: number): RunOptions {
  return {
    target: parseTargetUrl(sandbox.endpoint.url).target,
    password: sandbox.endpoint.password,
    passwordSource: 'bench',
    label: out,
    rates: { read: rate, write: rate },
    durationMs: Math.ceil((FAULT_AT_MS + 1000 + lengthMs + TAIL_MS) / 1000) * 1000,
    workers: 2,
    connection: model,
    timeoutMs: TIMEOUT_MS,
    connectTimeoutMs: TIMEOUT_MS,
    // Room for every probe of a blackhole's timeout at 1000/s: the window should not be made of drops.
    maxInFlight: 2048,
    table: 'downtime_probe',
    out,
    overwrite: false,
    progress: false,
    verify: false,
  };
}

/** Runs the harness with one fault `FAULT_AT_MS` into the run; returns the file and the fault's true times. */
async function faultRun(
  sandbox: Sandbox,
  opts: RunOptions,
  kind: Kind,
  lengthMs: number,
): Promise<{ file: ResultsFile; atMs: number; endMs: number; reason: string }> {
  // A uniform phase within a second: the run starts on a whole second and probes are due every 1000 / rate
  // ms from it, so a fault at a round offset would begin exactly when a probe is due and hide the error.
  const phaseMs = Math.random() * 1000;
  const result = await runMeasurement(
    {
      ...opts,
      actions: [
        {
          atMs: FAULT_AT_MS + phaseMs,
          name: `${kind} ${lengthMs} ms`,
          execute: async (ctx) => {
            sandbox.setOnEvent(ctx.event);
            return sandbox.fault({ kind, durationMs: lengthMs, signal: ctx.signal });
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
  return { file, atMs: ev.atMs, endMs: ev.endMs, reason };
}

function cellsOf(
  file: ResultsFile,
  f: { atMs: number; endMs: number; reason: string },
  base: Omit<
    Cell,
    | 'op'
    | 'found'
    | 'stray'
    | 'startErrMs'
    | 'endErrMs'
    | 'measuredMs'
    | 'injectedMs'
    | 'classes'
    | 'sendLagMs'
    | 'reason'
  >,
): Cell[] {
  const outages = analyze(file).outages;
  const cells: Cell[] = [];
  for (const op of ['read', 'write'] as Op[]) {
    const mine = outages.filter((o) => o.op === op);
    const near = (o: Outage): boolean => o.endMs >= f.atMs - MARGIN_MS && o.startMs <= f.endMs + TIMEOUT_MS + MARGIN_MS;
    const found = mine.filter(near);
    const first = found[0];
    const last = found[found.length - 1];
    const classes: Record<string, number> = {};
    for (const w of found) for (const [k, n] of Object.entries(w.errors)) classes[k] = (classes[k] ?? 0) + n;
    cells.push({
      ...base,
      op,
      found: found.length,
      stray: mine.length - found.length,
      // The span from the first window's start to the last one's end: a split outage is one fault.
      startErrMs: first ? first.startMs - f.atMs : null,
      endErrMs: last ? last.endMs - f.endMs : null,
      measuredMs: first && last ? last.endMs - first.startMs : null,
      injectedMs: f.endMs - f.atMs,
      classes: Object.entries(classes)
        .map(([k, n]) => `${k} ${n}`)
        .join(', '),
      sendLagMs: Math.max(0, ...file.seconds[op].map((s) => s.sendLagUs?.max ?? 0)) / 1000,
      reason: f.reason,
    });
  }
  return cells;
}

function summarize(cells: Cell[], out: Out): void {
  out(
    '| model | fault | rate/op | edge | n | signed median (ms) | abs median (ms) | abs p90 (ms) | abs max (ms) | abs median / p90 / max (intervals) | windows found / expected (missed, split, stray) | cells with stray windows; worst send lag (ms) |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const keys = [...new Set(cells.map((c) => `${c.model}|${c.kind}|${c.rate}`))];
  for (const key of keys) {
    const group = cells.filter((c) => `${c.model}|${c.kind}|${c.rate}` === key);
    const [model, kind, rate] = [group[0]!.model, group[0]!.kind, group[0]!.rate];
    const interval = 1000 / rate;
    const expected = group.filter((c) => !c.incidental).length;
    const got = group.filter((c) => c.found > 0).length;
    const missed = group.filter((c) => !c.incidental && c.found === 0).length;
    const split = group.filter((c) => c.found > 1).length;
    const stray = group.reduce((a, c) => a + c.stray, 0);
    const windows = `${got} / ${expected}${group.some((c) => c.incidental) ? ' (incidental)' : ''} (${missed}, ${split}, ${stray})`;
    const strayCells = new Set(group.filter((c) => c.stray > 0).map((c) => c.lengthMs)).size;
    const notCompleted = new Set(group.filter((c) => c.reason !== 'completed').map((c) => c.lengthMs)).size;
    const health =
      `${strayCells} of ${group.length / 2}; ${fmt(Math.max(...group.map((c) => c.sendLagMs)), 0)}` +
      (notCompleted > 0 ? `; ${notCompleted} run(s) not completed` : '');
    for (const edge of ['start', 'end'] as const) {
      const errs = group.map((c) => (edge === 'start' ? c.startErrMs : c.endErrMs)).filter((e) => e !== null);
      const abs = errs.map(Math.abs);
      const [m, p, x] = [percentile(abs, 50), percentile(abs, 90), abs.length ? Math.max(...abs) : NaN];
      out(
        `| ${model} | ${kind} | ${rate} | ${edge} | ${errs.length} | ${fmt(percentile(errs, 50), 1)} | ${fmt(m, 1)} | ${fmt(p, 1)} | ${fmt(x, 1)} | ${fmt(m / interval)} / ${fmt(p / interval)} / ${fmt(x / interval)} | ${edge === 'start' ? windows : ''} | ${edge === 'start' ? health : ''} |`,
      );
    }
  }
  out('');
}

function cellTable(cells: Cell[], out: Out): void {
  out(
    '| model | fault | length (ms) | rate/op | op | windows (stray) | start err (ms) | end err (ms) | measured ÷ injected (ms) | classes | max send lag (ms) | run end |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of cells) {
    out(
      `| ${c.model} | ${c.kind} | ${c.lengthMs} | ${c.rate} | ${c.op} | ${c.found}${c.incidental ? ' (incidental)' : ''} (${c.stray}) | ${c.startErrMs === null ? '—' : fmt(c.startErrMs, 1)} | ${c.endErrMs === null ? '—' : fmt(c.endErrMs, 1)} | ${c.measuredMs === null ? '—' : fmt(c.measuredMs, 0)} ÷ ${fmt(c.injectedMs, 0)} | ${c.classes} | ${fmt(c.sendLagMs, 1)} | ${c.reason} |`,
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
  const runS = Math.ceil((FAULT_AT_MS + 1000 + lengthMs + TAIL_MS) / 1000) + 3;
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
    options(sandbox, 'per-probe', 100, outFile, lengthMs),
    kind,
    lengthMs,
  );
  const exit = await exited;
  clearTimeout(killer);
  const harness = cellsOf(
    file,
    { atMs, endMs, reason },
    { model: 'per-probe', kind, rate: 100, lengthMs, incidental: false },
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
      `- harness ${c.op}s: ${c.found} window(s), ${c.measuredMs === null ? 'none' : `${fmt(c.measuredMs, 0)} ms`} (start ${c.startErrMs === null ? '—' : fmt(c.startErrMs, 1)} ms, end ${c.endErrMs === null ? '—' : fmt(c.endErrMs, 1)} ms from the true edges; ${c.classes || 'no failures'})`,
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
async function controlRun(sandbox: Sandbox, model: ConnectionModel, rate: number, outFile: string): Promise<string> {
  const opts = options(sandbox, model, rate, outFile, 1000);
  await runMeasurement(opts, bufferIo());
  const file = readResults(outFile);
  const summary = analyze(file);
  const parts = (['read', 'write'] as Op[]).map((op) => {
    const s = summary.ops[op];
    const lag = Math.max(0, ...file.seconds[op].map((x) => x.sendLagUs?.max ?? 0)) / 1000;
    const p99 = Math.max(0, ...file.seconds[op].map((x) => x.sendLagUs?.p99 ?? 0)) / 1000;
    return `${s?.windows ?? 0} | ${s?.failed ?? 0} + ${s?.dropped ?? 0} of ${s?.due ?? 0} | ${fmt(p99, 1)} / ${fmt(lag, 1)}`;
  });
  return `| ${model} | ${rate} | ${fmt(opts.durationMs / 1000, 0)} s | ${parts.join(' | ')} |`;
}

/** A subset of the matrix (`--cells=pool:blackhole,reset:1000:50,200`): fault cells only, no control or sysbench. */
export interface CellSelection {
  model: ConnectionModel;
  kinds: Kind[];
  rates: number[];
  lengths: number[];
}

/** Parses `--cells=MODEL:KINDS:RATES:LENGTHS` (lists comma-separated); a one-line message on anything else. */
export function parseCells(arg: string): CellSelection | string {
  const [model, kinds, rates, lengths, ...rest] = arg.split(':');
  const usage = `--cells takes MODEL:KINDS:RATES:LENGTHS, e.g. --cells=pool:blackhole,reset:1000:50,200 (models pool, per-probe; kinds ${KINDS.join(', ')})`;
  if (rest.length > 0 || kinds === undefined || rates === undefined || lengths === undefined) return usage;
  if (model !== 'pool' && model !== 'per-probe') return `${usage}; "${model}" is not a model`;
  const ks = kinds.split(',');
  const bad = ks.find((k) => !(KINDS as string[]).includes(k));
  if (bad !== undefined) return `${usage}; "${bad}" is not a fault`;
  const positive = (list: string): number[] | null => {
    const ns = list.split(',').map(Number);
    return ns.every((n) => Number.isInteger(n) && n > 0) ? ns : null;
  };
  const rs = positive(rates);
  const ls = positive(lengths);
  if (rs === null) return `${usage}; "${rates}" are not rates`;
  if (ls === null) return `${usage}; "${lengths}" are not lengths in ms`;
  return { model, kinds: ks as Kind[], rates: rs, lengths: ls };
}

/** The same runs without a fault, per model and rate. */
async function controls(
  sandbox: Sandbox,
  models: ConnectionModel[],
  rates: number[],
  dir: string,
  out: Out,
): Promise<void> {
  out('### Control: the same runs without a fault');
  out('');
  out(
    '| model | rate/op | length | read windows | read failed + dropped of due | read send lag worst-second p99 / max (ms) | write windows | write failed + dropped of due | write send lag worst-second p99 / max (ms) |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const model of models) {
    for (const rate of rates) {
      const outFile = join(dir, `control-${model}-${rate}.ndjson`);
      out(await controlRun(sandbox, model, rate, outFile));
      rmSync(outFile, { force: true });
      await sleep(500);
    }
  }
  out('');
}

export async function accuracy(quick: boolean, out: Out, select?: CellSelection): Promise<void> {
  out('## Measurement accuracy against injected outages');
  out('');
  const lengths = select?.lengths ?? (quick ? [200, 1000] : [50, 200, 1000, 3000, 10_000]);
  const rates = select?.rates ?? (quick ? [100] : [100, 1000]);
  const models: ConnectionModel[] = select ? [select.model] : quick ? ['per-probe'] : ['per-probe', 'pool'];
  const kinds = select?.kinds ?? KINDS;
  out(
    `Sandbox server behind the endpoint proxy (its own thread in this process); per cell one run, reads and writes each at the rate, ` +
      `2 worker threads, probe and connect timeout ${TIMEOUT_MS} ms, fault ${FAULT_AT_MS}–${FAULT_AT_MS + 1000} ms into the run (uniform phase against the probe schedule). ` +
      `Lengths ${lengths.join(', ')} ms; rates ${rates.join(', ')} probes/s per op; models ${models.join(', ')}.`,
  );
  out('');
  const dir = mkdtempSync(join(tmpdir(), 'downtime-accuracy-'));
  const sandbox = await startSandbox({ topology: 'single' });
  try {
    if (!select) await controls(sandbox, models, rates, dir, out);
    const cells: Cell[] = [];
    for (const model of models) {
      for (const kind of kinds) {
        for (const rate of rates) {
          for (const lengthMs of lengths) {
            const outFile = join(dir, `${model}-${kind}-${rate}-${lengthMs}.ndjson`);
            const f = await faultRun(sandbox, options(sandbox, model, rate, outFile, lengthMs), kind, lengthMs);
            cells.push(
              ...cellsOf(f.file, f, { model, kind, rate, lengthMs, incidental: model === 'pool' && kind === 'refuse' }),
            );
            // DOWNTIME_BENCH_KEEP=1 keeps the results files (their directory is printed at the end).
            if (!process.env.DOWNTIME_BENCH_KEEP) rmSync(outFile, { force: true });
            // Let connections the fault left behind time out and close before the next cell.
            await sleep(500);
          }
        }
      }
    }
    out('### Boundary error distribution');
    out('');
    out(
      'Error = measured edge − true edge (positive: late). Start and end, reads and writes, all lengths pooled per row. ' +
        '"expected" counts cells that must show a window (a pool meets refuse only when it opens a connection: incidental).',
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
