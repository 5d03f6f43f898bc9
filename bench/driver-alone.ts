/**
 * mysql2 alone, the yardstick of the CPU benchmark (cpu.ts) and, paced, of the ceiling (ceiling.ts), run as a
 * process of its own: a fresh V8 heap and nothing else in it, as the harness (the downtime CLI) runs in its own.
 * Measuring it inside the benchmark's process charged it with that process's heap (the results files read so
 * far): 101.7 µs per query at 2,000/s against 55–74 µs alone, and the harness looked cheaper than its own driver.
 *
 * `node dist/bench/driver-alone.js '{"mode":"paced"|"per-connection","host":…,"port":…,"user":…,"database":…,
 * "rate":…,"seconds":…,"settleS":…}'`, the password in DOWNTIME_BENCH_PASSWORD; prints one JSON line (CpuRow).
 */
import mysql from 'mysql2';
import { compileSql, defaultReadSql } from '../src/load/probes.js';
import { connectAll } from './connect.js';
import { cpuBetween, sampleOwnCpu } from './cpu-sample.js';

/** The harness's read probe on its default table, with `?` for its values (run id, seq). */
const READ_PROBE = compileSql(defaultReadSql('downtime_probe'), '--read-sql').sql;

export interface CpuRow {
  client: string;
  rate: number;
  /** Answered per second over the measured span. */
  achieved: number;
  cpuUsPerProbe: number;
  /** Bytes V8 allocated per answered probe over the steady part (alloc.ts); null where not counted. */
  allocBytesPerProbe?: number | null;
  /** Paced: over the whole run, the probes due, those answered within the timeout, and those dropped. */
  due?: number;
  ok?: number;
  dropped?: number;
}

/** The harness's defaults the paced yardstick keeps to: its timeout, and the in-flight cap the benchmarks set. */
const TIMEOUT_MS = 2000;
const MAX_IN_FLIGHT = 4096;

interface Job {
  mode: 'paced' | 'per-connection';
  host: string;
  port: number;
  user: string;
  database: string;
  rate: number;
  seconds: number;
  settleS: number;
}

/**
 * mysql2 alone, paced: every millisecond the probes due so far are sent, each on a free connection of 32
 * (prepared, the harness's read probe; when all are busy, the next free one takes it); no timers per probe, no
 * histograms, no threads.
 */
async function paced(cfg: mysql.ConnectionOptions, rate: number, seconds: number, settleS: number): Promise<CpuRow> {
  const sql = READ_PROBE;
  const conns = await connectAll(cfg, 32);
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
        new Promise<void>((resolve, reject) => c.execute(sql, ['warm', -1], (err) => (err ? reject(err) : resolve()))),
    ),
  );
  const cpu = sampleOwnCpu();
  const t0 = Date.now() + 100;
  const endMs = t0 + seconds * 1000;
  const answeredAt: number[] = [];
  let sent = 0;
  // Probes due while every connection is busy wait for the next free one, in order, as the harness's do (its pool
  // queues them): the yardstick does the same work, only later, when the server is slow for a moment. As in the
  // harness (its default cap, and its timeout), a probe due while 4,096 are in flight is dropped, and one answered
  // more than 2 s after its intended time counts as late: the ceiling benchmark holds both to the same criterion.
  const waiting: number[] = [];
  let head = 0;
  let dropped = 0;
  let late = 0;
  const fromMs = t0 + settleS * 1000;
  const toMs = endMs - 500;
  await new Promise<void>((resolve, reject) => {
    const send = (c: mysql.Connection, seq: number): void => {
      c.execute(sql, ['cpu', seq], (err) => {
        if (err) {
          clearInterval(timer);
          return reject(err);
        }
        const now = Date.now();
        answeredAt.push(now);
        if (now - (t0 + (seq * 1000) / rate) > TIMEOUT_MS) late++;
        if (head < waiting.length) send(c, waiting[head++] as number);
        else free.push(c);
      });
    };
    const timer = setInterval(() => {
      const now = Date.now();
      const due = Math.floor(((Math.min(now, endMs) - t0) * rate) / 1000);
      for (; sent < due; sent++) {
        const c = free.pop();
        if (c !== undefined) send(c, sent);
        else if (waiting.length - head + conns.length >= MAX_IN_FLIGHT) dropped++;
        else waiting.push(sent);
      }
      if (head === waiting.length && head > 0) waiting.length = head = 0;
      if (now >= endMs && head === waiting.length && free.length === conns.length) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const samples = cpu.stop();
  const span = cpuBetween(samples, fromMs, toMs);
  const ok = answeredAt.filter((t) => t >= span.fromMs && t < span.toMs).length;
  return {
    client: 'mysql2 alone, paced',
    rate,
    achieved: ok / ((span.toMs - span.fromMs) / 1000),
    cpuUsPerProbe: span.cpuUs / Math.max(1, ok),
    due: sent,
    ok: answeredAt.length - late,
    dropped,
  };
}

/**
 * mysql2 alone, a connection per query (the per-probe model's yardstick): every millisecond the queries due so
 * far each open a connection, send the harness's read probe as text, and quit; nothing around them. Its
 * statement cache is sized as the harness sizes its own (mysql2's default of 16,000 costs 0.5 MB per
 * connection: connection.ts).
 */
async function perConnection(
  base: mysql.ConnectionOptions,
  rate: number,
  seconds: number,
  settleS: number,
): Promise<CpuRow> {
  // The harness's read probe, as its per-probe connections send it: as text, the values formatted in.
  const sql = READ_PROBE;
  const cfg = { ...base, maxPreparedStatements: 4 };
  const cpu = sampleOwnCpu();
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
        c.query(sql, ['cpu', sent], (err) => {
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

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  const cfg: mysql.ConnectionOptions = {
    host: job.host,
    port: job.port,
    user: job.user,
    password: process.env.DOWNTIME_BENCH_PASSWORD,
    database: job.database,
  };
  const row =
    job.mode === 'paced'
      ? await paced(cfg, job.rate, job.seconds, job.settleS)
      : await perConnection(cfg, job.rate, job.seconds, job.settleS);
  process.stdout.write(JSON.stringify(row) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`driver-alone: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
