/**
 * Benchmarks: `npm run bench` (full) or `npm run bench -- --quick`. Each starts its own server and prints
 * ratios measured side by side in the same run, because this machine is shared and noisy.
 * Results go to stdout as Markdown; bench/RESULTS.md keeps the latest with the machine and command.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { mergeEncoded } from '../src/load/histogram.js';
import { fmt, openBench, percentile, sumOf, type Bench } from './common.js';

const execFileP = promisify(execFile);
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);

function out(line = ''): void {
  console.log(line);
}

/** sysbench oltp_point_select, closed loop, on the same server: the yardstick for the ceiling. */
async function sysbenchQps(b: Bench, seconds: number, threads: number): Promise<number> {
  const args = [
    'oltp_point_select',
    '--db-driver=mysql',
    '--mysql-host=127.0.0.1',
    `--mysql-port=${b.srv.server.port}`,
    `--mysql-user=${b.srv.user}`,
    `--mysql-password=${b.srv.password}`,
    `--mysql-db=${b.srv.database}`,
    '--tables=1',
    '--table-size=10000',
  ];
  await execFileP('sysbench', [...args, 'prepare']);
  const { stdout } = await execFileP('sysbench', [...args, `--threads=${threads}`, `--time=${seconds}`, 'run']);
  await execFileP('sysbench', [...args, 'cleanup']);
  const m = /queries:\s+\d+\s+\(([\d.]+) per sec/.exec(stdout);
  if (!m) throw new Error('cannot read sysbench output');
  return Number(m[1]);
}

async function ceiling(b: Bench): Promise<number> {
  out('## Throughput ceiling');
  const threads = 4;
  const sbSeconds = quick ? 5 : 15;
  const qps = await sysbenchQps(b, sbSeconds, threads);
  out(`sysbench oltp_point_select, ${threads} threads, ${sbSeconds} s, closed loop: ${fmt(qps, 0)} qps`);
  out('');
  out('| target reads/s | achieved ok/s | ok/due | dropped | p99 send lag (worst s) | sustained |');
  out('| --- | --- | --- | --- | --- | --- |');
  let best = 0;
  const seconds = quick ? 4 : 10;
  // A ladder of absolute rates up to sysbench's figure: the highest rung sustained is the ceiling.
  const ladder = [
    500, 1000, 2000, 3000, 4000, 5000, 6500, 8000, 10_000, 13_000, 16_000, 20_000, 25_000, 32_000, 40_000,
  ];
  for (const rate of ladder.filter((r) => r <= qps)) {
    const { file } = await b.measure({
      name: `ceiling-${rate}`,
      rates: { read: rate, write: 0 },
      durationMs: seconds * 1000,
    });
    const due = sumOf(file, 'read', 'due');
    const ok = sumOf(file, 'read', 'ok');
    const dropped = sumOf(file, 'read', 'dropped');
    const lag = Math.max(...file.seconds.read.map((s) => s.sendLagUs?.p99 ?? 0)) / 1000;
    const sustained = ok / due >= 0.99 && dropped / due < 0.001;
    out(
      `| ${rate} | ${fmt(ok / seconds, 0)} | ${fmt((100 * ok) / due, 2)} % | ${dropped} | ${fmt(lag)} ms | ${sustained ? 'yes' : 'no'} |`,
    );
    if (!sustained) break;
    best = rate;
  }
  out('');
  out(
    `**ceiling ÷ sysbench = ${best} ÷ ${fmt(qps, 0)} = ${fmt(best / qps)}** (target ≥ 0.6; the harness runs open-loop with coordinated-omission-corrected latency, sysbench closed-loop)`,
  );
  out('');
  return best;
}

async function fidelity(b: Bench, rate: number): Promise<void> {
  out('## Scheduling fidelity');
  const seconds = quick ? 10 : 60;
  const { file } = await b.measure({ name: 'fidelity', rates: { read: rate, write: 0 }, durationMs: seconds * 1000 });
  const due = sumOf(file, 'read', 'due');
  const ok = sumOf(file, 'read', 'ok');
  const lags = file.seconds.read.map((s) => (s.sendLagUs?.p99 ?? 0) / 1000);
  out(
    `${rate} reads/s for ${seconds} s: achieved ÷ target = ${ok} ÷ ${rate * seconds} = **${fmt(ok / (rate * seconds), 4)}** (target ≥ 0.99); due ${due}`,
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
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await conn.end();
  return latenciesMs;
}

async function coordinatedOmission(b: Bench): Promise<void> {
  out('## Coordinated omission');
  const seconds = 6;
  const measuring = b.measure({
    name: 'co',
    rates: { read: 200, write: 0 },
    durationMs: seconds * 1000,
    timeoutMs: 5000,
  });
  await new Promise((r) => setTimeout(r, 1500));
  const uncorrected = closedLoop(b, Date.now() + 3500);
  await new Promise((r) => setTimeout(r, 1500));
  b.srv.server.pause();
  await new Promise((r) => setTimeout(r, 1000));
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

async function longRun(b: Bench): Promise<void> {
  out('## Long run: memory and file size');
  const seconds = quick ? 30 : 600;
  const rate = 2000;
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(process.memoryUsage().rss / 2 ** 20), 1000);
  const { result } = await b.measure({
    name: 'long',
    rates: { read: rate * 0.8, write: rate * 0.2 },
    durationMs: seconds * 1000,
  });
  clearInterval(sampler);
  const bytes = statSync(result.path).size;
  const third = Math.max(1, Math.floor(rss.length / 3));
  out(`${rate} probes/s (80 % reads) for ${seconds} s:`);
  out(
    `- RSS: first third max ${fmt(Math.max(...rss.slice(0, third)), 0)} MB, last third max ${fmt(Math.max(...rss.slice(-third)), 0)} MB, overall max ${fmt(Math.max(...rss), 0)} MB (target: flat, < 200 MB)`,
  );
  out(
    `- results file: ${fmt(bytes / seconds / 1024)} KB/s at ${rate} probes/s = **${fmt(bytes / seconds / 1024 / (rate / 1000))} KB/s per 1000 probes/s** (target ≤ 10)`,
  );
  out('');
}

async function main(): Promise<void> {
  out(`# downtime benchmarks${quick ? ' (--quick)' : ''}`);
  out('');
  out(
    `${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${fmt(totalmem() / 2 ** 30, 0)} GiB · node ${process.version}`,
  );
  out('');
  const b = await openBench();
  try {
    let best = 0;
    if (!only || only === 'ceiling' || only === 'fidelity') best = await ceiling(b);
    if (!only || only === 'fidelity') await fidelity(b, Math.max(100, Math.round(best / 2)));
    if (!only || only === 'co') await coordinatedOmission(b);
    if (!only || only === 'long') await longRun(b);
  } finally {
    await b.close();
  }
}

await main();
