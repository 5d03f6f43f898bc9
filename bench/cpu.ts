/**
 * CPU per probe (#16): what each probe costs the client in CPU time, at the same fixed rate, for the harness
 * (2 and 1 worker threads), mysql2 alone (the same driver, the same prepared read, paced the same way with
 * nothing around it) and sysbench's client (`oltp_point_select --rate`); and the per-probe model against
 * mysql2 alone opening a connection per query. CPU time is counted by the kernel
 * (getrusage), not read off a clock, so it holds on a shared, noisy machine where throughput ceilings do not:
 * the ratio harness ÷ mysql2 alone is the harness's own overhead.
 *
 * In-process figures (the harness, mysql2 alone) are sampled from process.cpuUsage() (the whole process: every
 * worker thread and the main thread) every 200 ms, and only the steady part counts: from `settleS` after the run's
 * first probe (1 s with --quick, 10 s in full: code that runs once a second — sealing, merging, writing — is
 * still being compiled by V8 for several seconds, and the first old-generation collections come then; a run of
 * minutes pays that once) to 0.5 s before its last, with the probes answered in those seconds. Set-up (pools, warm-up,
 * the table) and teardown are left out. sysbench's client CPU is its process's user + system time (bash
 * `times`), over every query it ran.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2';
import { fmt, openConnections, sysbenchConfig, yardstickConfig, type Bench } from './common.js';

const execFileP = promisify(execFile);

/** What the harness's read probe asks the server besides its row (the yardsticks send the same). */
const IDENTITY_COLUMNS =
  'SELECT @@server_id AS server_id, @@hostname AS hostname, @@version AS version, @@read_only AS read_only';

interface Sample {
  atMs: number;
  cpuUs: number;
}

/** Samples this process's CPU time (user + system, µs) until stopped. */
function sampleCpu(): { stop: () => Sample[] } {
  const samples: Sample[] = [];
  const take = (): void => {
    const u = process.cpuUsage();
    samples.push({ atMs: Date.now(), cpuUs: u.user + u.system });
  };
  take();
  const timer = setInterval(take, 200);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** CPU µs between the samples nearest to [fromMs, toMs], and the exact span they cover. */
function cpuBetween(samples: Sample[], fromMs: number, toMs: number): { cpuUs: number; fromMs: number; toMs: number } {
  const a = samples.find((s) => s.atMs >= fromMs) ?? (samples[0] as Sample);
  const b = [...samples].reverse().find((s) => s.atMs <= toMs) ?? (samples[samples.length - 1] as Sample);
  return { cpuUs: b.cpuUs - a.cpuUs, fromMs: a.atMs, toMs: b.atMs };
}

export interface CpuRow {
  client: string;
  rate: number;
  /** Answered per second over the measured span. */
  achieved: number;
  cpuUsPerProbe: number;
}

/** The harness at `rate` reads/s: CPU µs per answered probe over the steady part of the run. */
async function harnessCpu(
  b: Bench,
  rate: number,
  seconds: number,
  workers: number,
  connection: 'pool' | 'per-probe' = 'pool',
  settleS = 1,
): Promise<CpuRow> {
  const cpu = sampleCpu();
  const { file } = await b.measure({
    name: `cpu-${connection}-${rate}-${workers}w`,
    rates: { read: rate, write: 0 },
    durationMs: seconds * 1000,
    workers,
    connection,
    poolSize: 32,
    maxInFlight: 4096,
  });
  const samples = cpu.stop();
  const schedule = file.header.ops.read;
  if (schedule === undefined) throw new Error('no read schedule');
  // Whole seconds inside [t0 + settle, end − 0.5 s]: their answered probes against the CPU between their bounds.
  const firstSec = Math.ceil((schedule.t0Ms + settleS * 1000) / 1000);
  const lastSec = Math.floor((schedule.t0Ms + seconds * 1000 - 500) / 1000) - 1;
  const secs = file.seconds.read.filter((s) => s.source === undefined && s.sec >= firstSec && s.sec <= lastSec);
  const ok = secs.reduce((a, s) => a + s.ok, 0);
  const nSecs = Math.max(1, lastSec - firstSec + 1);
  const span = cpuBetween(samples, firstSec * 1000, (lastSec + 1) * 1000);
  // CPU per second of the sampled span (within 200 ms of those seconds) over probes answered per second.
  const cpuPerSec = span.cpuUs / ((span.toMs - span.fromMs) / 1000);
  return {
    client: `downtime${connection === 'per-probe' ? ' per-probe' : ''}, ${workers} worker${workers === 1 ? '' : 's'}`,
    rate,
    achieved: ok / nSecs,
    cpuUsPerProbe: cpuPerSec / Math.max(1, ok / nSecs),
  };
}

/**
 * mysql2 alone, paced: every millisecond the probes due so far are sent, each on a free connection of 32
 * (prepared, the harness's read probe), none queued; no timers per probe, no histograms, no threads.
 */
async function driverCpu(b: Bench, rate: number, seconds: number, settleS: number): Promise<CpuRow> {
  const sql = `${IDENTITY_COLUMNS}, (SELECT seq FROM downtime_probe WHERE run_id = ? AND seq = ?) AS seq`;
  const conns = await openConnections(b, 32);
  try {
    return await pacedRun(conns, sql, rate, seconds, settleS);
  } finally {
    for (const c of conns) c.destroy();
  }
}

async function pacedRun(
  conns: mysql.Connection[],
  sql: string,
  rate: number,
  seconds: number,
  settleS: number,
): Promise<CpuRow> {
  const free = [...conns];
  // Warm the driver's code and every connection's statement, as the harness's warm-up does.
  await Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve, reject) =>
          c.execute({ sql, values: ['warm', -1] }, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  const cpu = sampleCpu();
  const t0 = Date.now() + 100;
  const endMs = t0 + seconds * 1000;
  const answeredAt: number[] = [];
  let sent = 0;
  let missed = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const now = Date.now();
      const due = Math.floor(((Math.min(now, endMs) - t0) * rate) / 1000);
      while (sent < due) {
        sent++;
        const c = free.pop();
        if (c === undefined) {
          missed++;
          continue;
        }
        c.execute({ sql, values: ['cpu', sent] }, (err) => {
          if (err) {
            clearInterval(timer);
            return reject(err);
          }
          answeredAt.push(Date.now());
          free.push(c);
        });
      }
      if (now >= endMs && free.length === conns.length) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const samples = cpu.stop();
  const fromMs = t0 + settleS * 1000;
  const toMs = endMs - 500;
  const span = cpuBetween(samples, fromMs, toMs);
  const ok = answeredAt.filter((t) => t >= span.fromMs && t < span.toMs).length;
  if (missed > sent / 100)
    throw new Error(`mysql2 alone could not keep ${rate}/s on 32 connections (${missed} missed)`);
  return {
    client: 'mysql2 alone, paced',
    rate,
    achieved: ok / ((span.toMs - span.fromMs) / 1000),
    cpuUsPerProbe: span.cpuUs / Math.max(1, ok),
  };
}

/**
 * mysql2 alone, a connection per query (the per-probe model's yardstick): every millisecond the queries due so
 * far each open a connection, send the read as text, and quit; nothing around them. Its statement cache is
 * sized as the harness sizes its own (mysql2's default of 16,000 costs 0.5 MB per connection: connection.ts).
 */
async function driverPerConnectionCpu(b: Bench, rate: number, seconds: number, settleS: number): Promise<CpuRow> {
  const sql = IDENTITY_COLUMNS;
  const cfg = { ...yardstickConfig(b), maxPreparedStatements: 4 };
  const cpu = sampleCpu();
  const t0 = Date.now() + 1000; // a second of warming first: the driver's code, as the harness's warm-up does
  const warmFrom = Date.now();
  const endMs = t0 + seconds * 1000;
  const answeredAt: number[] = [];
  let sent = 0;
  let inFlight = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now();
      const due = Math.floor(((Math.min(now, endMs) - warmFrom) * rate) / 1000);
      while (sent < due) {
        sent++;
        inFlight++;
        const c = mysql.createConnection(cfg);
        c.on('error', () => undefined);
        c.query(sql, (err) => {
          inFlight--;
          if (err) failed++;
          else answeredAt.push(Date.now());
          c.end(() => setImmediate(() => c.destroy()));
        });
      }
      if (now >= endMs && inFlight === 0) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const samples = cpu.stop();
  const span = cpuBetween(samples, t0 + settleS * 1000, endMs - 500);
  const ok = answeredAt.filter((t) => t >= span.fromMs && t < span.toMs).length;
  if (failed > sent / 100) throw new Error(`mysql2 alone, a connection per query: ${failed} of ${sent} failed`);
  return {
    client: 'mysql2 alone, a connection per query',
    rate,
    achieved: ok / ((span.toMs - span.fromMs) / 1000),
    cpuUsPerProbe: span.cpuUs / Math.max(1, ok),
  };
}

/** sysbench oltp_point_select at a fixed rate (4 threads): its client's CPU per query. */
async function sysbenchCpu(b: Bench, rate: number, seconds: number): Promise<CpuRow> {
  const conf = sysbenchConfig(b.dir, {
    host: '127.0.0.1',
    port: b.srv.server.port,
    user: b.srv.user,
    password: b.srv.password,
    database: b.srv.database,
  });
  const args = ['oltp_point_select', conf, '--tables=1', '--table-size=10000'];
  await execFileP('sysbench', [...args, 'prepare']);
  try {
    // bash's `times` prints its children's user and system time (second line) after sysbench exits.
    const script = `sysbench "$@" --threads=4 --rate=${rate} --time=${seconds} run; times`;
    const { stdout } = await execFileP('bash', ['-c', script, 'bash', ...args]);
    const q = /queries:\s+(\d+)\s+\(([\d.]+) per sec/.exec(stdout);
    const lines = stdout.trim().split('\n');
    const t = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? '');
    if (!q || !t) throw new Error('cannot read sysbench output or its CPU times');
    const cpuS = Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]);
    return {
      client: 'sysbench oltp_point_select',
      rate,
      achieved: Number(q[2]),
      cpuUsPerProbe: (cpuS * 1e6) / Number(q[1]),
    };
  } finally {
    await execFileP('sysbench', [...args, 'cleanup']);
  }
}

export async function cpuPerProbe(b: Bench, quick: boolean): Promise<{ rows: CpuRow[]; lines: string[] }> {
  const lines: string[] = [];
  const out = (l = ''): number => lines.push(l);
  const seconds = quick ? 6 : 30;
  const settleS = quick ? 1 : 10;
  const rates = quick ? [2000] : [2000, 5000];
  const rows: CpuRow[] = [];
  out('## CPU per probe');
  out('');
  out(
    `Fixed rates, reads only, ${seconds} s each; CPU time from getrusage (the harness and mysql2 alone: this process, ` +
      `from ${settleS} s after the first probe to 0.5 s before the last; sysbench: its process). Harness: pool of 32 per worker. The last two rows are the ` +
      'per-probe model (a connection per probe) against mysql2 alone opening a connection per query, the ' +
      'ratio against the latter.',
  );
  out('');
  out('| rate/s | client | achieved/s | CPU µs per probe | ÷ mysql2 alone |');
  out('| --- | --- | --- | --- | --- |');
  for (const rate of rates) {
    // The harness first: it creates the probe table that mysql2 alone then reads.
    const two = await harnessCpu(b, rate, seconds, 2, 'pool', settleS);
    const driver = await driverCpu(b, rate, seconds, settleS);
    const one = await harnessCpu(b, rate, seconds, 1, 'pool', settleS);
    const sb = await sysbenchCpu(b, rate, seconds);
    for (const r of [driver, two, one, sb]) {
      rows.push(r);
      out(
        `| ${rate} | ${r.client} | ${fmt(r.achieved, 0)} | ${fmt(r.cpuUsPerProbe, 1)} | ${fmt(r.cpuUsPerProbe / driver.cpuUsPerProbe)} |`,
      );
    }
  }
  // The per-probe model: a new connection per probe, against mysql2 doing the same alone.
  const perProbeRate = quick ? 500 : 1000;
  const alone = await driverPerConnectionCpu(b, perProbeRate, seconds, settleS);
  const perProbe = await harnessCpu(b, perProbeRate, seconds, 1, 'per-probe', settleS);
  for (const r of [alone, perProbe]) {
    rows.push(r);
    out(
      `| ${perProbeRate} | ${r.client} | ${fmt(r.achieved, 0)} | ${fmt(r.cpuUsPerProbe, 1)} | ${fmt(r.cpuUsPerProbe / alone.cpuUsPerProbe)} |`,
    );
  }
  out('');
  return { rows, lines };
}
