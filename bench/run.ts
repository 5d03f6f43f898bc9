/**
 * Benchmarks: `npm run bench` (full) or `npm run bench -- --quick`. Each starts its own server and prints
 * ratios measured side by side in the same run, because this machine is shared and noisy.
 * Results go to stdout as Markdown; bench/RESULTS.md keeps the latest with the machine and command.
 */
import { statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import mysql from 'mysql2/promise';
import { mergeEncoded } from '../src/results/histogram.js';
import { accuracy, parseCells, type CellSelection } from './accuracy.js';
import { ceiling } from './ceiling.js';
import { runCli } from './cli-run.js';
import { cpuPerProbe } from './cpu.js';
import { sleep } from '../src/util/sleep.js';
import { fmt, openBench, percentile, requireSysbench, sumOf, workersByDefault, type Bench } from './common.js';

const BENCHES = ['ceiling', 'fidelity', 'co', 'long', 'accuracy', 'cpu'] as const;
type BenchName = (typeof BENCHES)[number];
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const only = onlyArg === undefined ? undefined : onlyArg.split(',');
for (const name of only ?? []) {
  if (!(BENCHES as readonly string[]).includes(name)) {
    console.error(`--only: unknown benchmark "${name}"; use one or more of ${BENCHES.join(', ')} (comma-separated)`);
    process.exit(2);
  }
}
const cellsArg = process.argv.find((a) => a.startsWith('--cells='))?.slice(8);
let cells: CellSelection | undefined;
if (cellsArg !== undefined) {
  const parsed = parseCells(cellsArg);
  if (typeof parsed === 'string') {
    console.error(parsed);
    process.exit(2);
  }
  cells = parsed;
}
const repsArg = process.argv.find((a) => a.startsWith('--reps='))?.slice(7);
const reps = repsArg === undefined ? undefined : Number(repsArg);
if (reps !== undefined && !(Number.isInteger(reps) && reps > 0)) {
  console.error(`--reps: "${repsArg}" is not a positive whole number of runs per accuracy cell`);
  process.exit(2);
}
const wants = (name: BenchName): boolean => only === undefined || only.includes(name);

function out(line = ''): void {
  console.log(line);
}

async function fidelity(b: Bench, rate: number): Promise<void> {
  out('## Scheduling fidelity');
  out('');
  const seconds = quick ? 10 : 60;
  // The workers a run gets by default at this rate against a database on this machine.
  const rates = { read: rate, write: 0 };
  const workers = workersByDefault(rates);
  // As a user runs it (a process of its own), with the pool and in-flight cap of the ceiling it halves.
  const { file } = await runCli(b, { name: 'fidelity', rate, seconds, workers });
  const due = sumOf(file, 'read', 'due');
  const ok = sumOf(file, 'read', 'ok');
  const lags = file.seconds.read.map((s) => (s.sendLagUs?.p99 ?? 0) / 1000);
  out(
    `${rate} reads/s for ${seconds} s, ${workers} worker(s): achieved ÷ target = ${ok} ÷ ${rate * seconds} = **${fmt(ok / (rate * seconds), 4)}** (target ≥ 0.99); due ${due}`,
  );
  out(
    `p99 send lag per second: median ${fmt(percentile(lags, 50))} ms, worst second ${fmt(Math.max(...lags))} ms (target ≤ 2 ms)`,
  );
  out('');
}

/** A closed-loop client (send, wait, send…) measuring from the actual send: what CO-blind tools report. */
async function closedLoop(b: Bench, untilMs: number): Promise<number[]> {
  const conn = await mysql.createConnection({
    host: '127.0.0.1',
    port: b.srv.server.port,
    user: b.srv.user,
    password: b.srv.password,
    database: b.srv.database,
  });
  const latenciesMs: number[] = [];
  const interval = 5; // ms between queries: 200/s when the server is healthy
  while (Date.now() < untilMs) {
    const started = performance.now();
    await conn.query('SELECT @@server_id');
    latenciesMs.push(performance.now() - started);
    const wait = interval - (performance.now() - started);
    if (wait > 0) await sleep(wait);
  }
  await conn.end();
  return latenciesMs;
}

async function coordinatedOmission(b: Bench): Promise<void> {
  out('## Coordinated omission');
  out('');
  const seconds = 6;
  const measuring = b.measure({
    name: 'co',
    rates: { read: 200, write: 0 },
    durationMs: seconds * 1000,
    timeoutMs: 5000,
  });
  await sleep(1500);
  const uncorrected = closedLoop(b, Date.now() + 3500);
  await sleep(1500);
  b.srv.server.pause();
  await sleep(1000);
  b.srv.server.resume();
  const [{ file }, closed] = await Promise.all([measuring, uncorrected]);
  const h = mergeEncoded(file.seconds.read.map((s) => s.hist));
  const corrected99 = h.getValueAtPercentile(99) / 1000;
  const closed99 = percentile(closed, 99);
  out(`server paused (SIGSTOP) for 1 s under 200 probes/s:`);
  out(
    `- downtime (latency from intended time): p99 ${fmt(corrected99)} ms, max ${fmt(h.maxValue / 1000)} ms, ${h.totalCount} samples`,
  );
  out(
    `- closed-loop client (latency from actual send): p99 ${fmt(closed99)} ms, max ${fmt(Math.max(...closed))} ms, ${closed.length} samples`,
  );
  out(`- **corrected ÷ uncorrected p99 = ${fmt(corrected99 / closed99, 0)}×**`);
  out('');
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

async function longRun(b: Bench): Promise<void> {
  out('## Long run: memory and file size');
  out('');
  const seconds = quick ? 30 : 600;
  const rate = 2000;
  // The harness's workers are threads of this process: its RSS covers them (the server is another process).
  const rss: { atMs: number; mb: number }[] = [];
  const sample = (): number => rss.push({ atMs: Date.now(), mb: process.memoryUsage().rss / 2 ** 20 });
  sample();
  const sampler = setInterval(sample, 1000);
  // The workers a user gets without --workers at this rate against a server on this machine (src/run/args.ts).
  const rates = { read: rate * 0.8, write: rate * 0.2 };
  const workers = workersByDefault(rates);
  const { result } = await b.measure({ name: 'long', rates, durationMs: seconds * 1000, workers });
  clearInterval(sampler);
  const bytes = statSync(result.path).size;
  // Minutes and slope from the run's own start to its end: setup before and worker teardown after (RSS
  // falls as the worker threads exit) are shown apart.
  const { startMs } = result.header;
  const { endMs } = result.trailer;
  const inRun = rss.filter((s) => s.atMs >= startMs && s.atMs <= endMs);
  const setupMax = Math.max(...rss.filter((s) => s.atMs < startMs).map((s) => s.mb));
  const afterMb = process.memoryUsage().rss / 2 ** 20;
  out(
    `${rate} probes/s (80 % reads, pool, ${workers} worker thread(s): the default at this rate) for ${seconds} s; RSS of the harness process sampled every second, ${inRun.length} samples in the run:`,
  );
  out('');
  out('| minute of the run | RSS max (MB) | RSS min (MB) |');
  out('| --- | --- | --- |');
  const minuteOf = (s: { atMs: number }): number => Math.floor((s.atMs - startMs) / 60_000);
  for (let m = 0; m <= minuteOf({ atMs: endMs }); m++) {
    const inMinute = inRun.filter((s) => minuteOf(s) === m).map((s) => s.mb);
    if (inMinute.length > 0) out(`| ${m + 1} | ${fmt(Math.max(...inMinute), 0)} | ${fmt(Math.min(...inMinute), 0)} |`);
  }
  out('');
  const windowMs = Math.min(480_000, endMs - startMs);
  const tail = inRun
    .filter((s) => s.atMs >= endMs - windowMs)
    .map((s) => ({ x: (s.atMs - startMs) / 60_000, y: s.mb }));
  const maxMb = Math.max(...inRun.map((s) => s.mb));
  out(
    `- RSS: ${fmt(rss[0]?.mb ?? NaN, 0)} MB before the run, ${fmt(setupMax, 0)} MB max in its setup, **${fmt(maxMb, 0)} MB max in the run** (target < 200 MB), ${fmt(afterMb, 0)} MB after it; ` +
      `slope over the last ${fmt(windowMs / 60_000, 1)} min of the run (least squares, ${tail.length} samples): **${fmt(slope(tail))} MB/min** (target: flat)`,
  );
  out(
    `- results file: ${bytes} bytes, ${fmt(bytes / seconds / 1024)} KB/s at ${rate} probes/s = **${fmt(bytes / seconds / 1024 / (rate / 1000))} KB/s per 1000 probes/s** (target ≤ 10)`,
  );
  out('');
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Runs one benchmark between two lines giving the load average (the machine is shared). */
async function section(fn: () => Promise<void>): Promise<void> {
  const started = performance.now();
  const before = load();
  await fn();
  out(
    `_load average (1/5/15 min) at start ${before}, at end ${load()}; took ${fmt((performance.now() - started) / 1000, 0)} s_`,
  );
  out('');
}

async function main(): Promise<void> {
  if (wants('ceiling') || wants('fidelity') || wants('accuracy') || wants('cpu')) requireSysbench();
  out(`# downtime benchmarks${quick ? ' (--quick)' : ''}${only ? ` --only=${only.join(',')}` : ''}`);
  out('');
  out(
    `${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${fmt(totalmem() / 2 ** 30, 0)} GiB · node ${process.version}`,
  );
  out('');
  // Accuracy starts a sandbox of its own (a server behind the endpoint proxy); the others share this one.
  const b = BENCHES.some((n) => n !== 'accuracy' && wants(n)) ? await openBench() : null;
  try {
    let best = 0;
    if (b && (wants('ceiling') || wants('fidelity'))) {
      await section(async () => {
        const c = await ceiling(b, quick);
        for (const l of c.lines) out(l);
        best = c.best;
      });
    }
    if (b && wants('fidelity')) await section(() => fidelity(b, Math.max(100, Math.round(best / 2))));
    if (b && wants('co')) await section(() => coordinatedOmission(b));
    if (b && wants('long')) await section(() => longRun(b));
    if (b && wants('cpu')) {
      await section(async () => {
        for (const l of (await cpuPerProbe(b, quick)).lines) out(l);
      });
    }
    if (wants('accuracy')) await section(() => accuracy(quick, out, cells, reps));
  } finally {
    await b?.close();
  }
}

// A failure is one line (a benchmark's secrets stay out of it: sysbench gets its password in a file).
await main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
