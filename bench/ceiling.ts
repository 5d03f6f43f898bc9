/**
 * Throughput ceiling: the highest constant probe rate the harness sustains (achieved ≥ 99 % of target,
 * dropped < 0.1 %), divided by sysbench's closed-loop oltp_point_select qps on the same server. A second
 * yardstick, mysql2 itself in a closed loop (the same driver the harness uses, no pacing, no measurement),
 * separates what the harness costs from what the driver costs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fmt, openConnections, sumOf, sysbenchConfig, workersByDefault, type Bench } from './common.js';

const execFileP = promisify(execFile);

export interface CeilingResult {
  /** Highest sustained rate, probes/s. */
  best: number;
  sysbenchQps: number;
  driverQps: number;
  lines: string[];
}

function sysbenchArgs(b: Bench): string[] {
  return [
    'oltp_point_select',
    sysbenchConfig(b.dir, {
      host: '127.0.0.1',
      port: b.srv.server.port,
      user: b.srv.user,
      password: b.srv.password,
      database: b.srv.database,
    }),
    '--tables=1',
    '--table-size=10000',
  ];
}

/** sysbench oltp_point_select, closed loop, prepared statements (its default), on the same server. */
async function sysbenchQps(b: Bench, seconds: number, threads: number): Promise<number> {
  const { stdout } = await execFileP('sysbench', [
    ...sysbenchArgs(b),
    `--threads=${threads}`,
    `--time=${seconds}`,
    'run',
  ]);
  const m = /queries:\s+\d+\s+\(([\d.]+) per sec/.exec(stdout);
  if (!m) throw new Error('cannot read sysbench output');
  return Number(m[1]);
}

/**
 * mysql2 in a closed loop on `connections` connections of one thread: each sends the harness's own read
 * probe as a prepared statement and the next as soon as the answer arrives. No timers, no histograms.
 */
async function driverQps(b: Bench, seconds: number, connections: number): Promise<number> {
  const sql =
    'SELECT @@server_id AS server_id, @@hostname AS hostname, @@version AS version, @@read_only AS read_only, ' +
    '(SELECT id FROM sbtest1 WHERE id = ?) AS seq';
  const conns = await openConnections(b, connections);
  let n = 0;
  let startAt = 0;
  const warmUntil = Date.now() + 500;
  const endAt = warmUntil + seconds * 1000;
  await Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          const loop = (): void => {
            const now = Date.now();
            if (now >= endAt) return resolve();
            c.execute({ sql, values: [1 + (n % 10_000)] }, (err) => {
              if (err) return reject(err);
              if (Date.now() >= warmUntil) {
                if (startAt === 0) startAt = Date.now();
                n++;
              }
              loop();
            });
          };
          loop();
        }),
    ),
  );
  for (const c of conns) c.destroy();
  return n / ((endAt - startAt) / 1000);
}

export async function ceiling(b: Bench, quick: boolean): Promise<CeilingResult> {
  const lines: string[] = [];
  const out = (l = ''): number => lines.push(l);
  out('## Throughput ceiling');
  out('');
  const threads = 4;
  const sbSeconds = quick ? 5 : 15;
  await execFileP('sysbench', [...sysbenchArgs(b), 'prepare']);
  try {
    const sbBefore = await sysbenchQps(b, sbSeconds, threads);
    const driver = await driverQps(b, quick ? 4 : 10, 16);
    out(`sysbench oltp_point_select, ${threads} threads, ${sbSeconds} s, closed loop: ${fmt(sbBefore, 0)} qps`);
    out(`mysql2 alone, closed loop, 16 connections on one thread, prepared: ${fmt(driver, 0)} qps`);
    out('');
    out(
      'Harness: the worker threads a run gets by default at each rate against a database on this machine ' +
        '(src/run/args.ts defaultWorkers), pool of 32 per worker, max in flight 4096, reads only.',
    );
    out('');
    out('| target reads/s | workers | achieved ok/s | ok/due | dropped | p99 send lag (worst s) | sustained |');
    out('| --- | --- | --- | --- | --- | --- | --- |');
    let best = 0;
    const seconds = quick ? 4 : 10;
    // Rungs 25 % apart up to sysbench's figure: the highest rung sustained is the ceiling.
    const ladder: number[] = [];
    for (let r = 2000; r <= sbBefore; r = Math.round((r * 1.25) / 100) * 100) ladder.push(r);
    for (const rate of ladder) {
      const { file } = await b.measure({
        name: `ceiling-${rate}`,
        rates: { read: rate, write: 0 },
        durationMs: seconds * 1000,
        workers: workersByDefault({ read: rate, write: 0 }),
        poolSize: 32,
        maxInFlight: 4096,
      });
      const due = sumOf(file, 'read', 'due');
      const ok = sumOf(file, 'read', 'ok');
      const dropped = sumOf(file, 'read', 'dropped');
      const lag = Math.max(...file.seconds.read.map((s) => s.sendLagUs?.p99 ?? 0)) / 1000;
      const sustained = ok / due >= 0.99 && dropped / due < 0.001;
      out(
        `| ${rate} | ${file.header.workers} | ${fmt(ok / seconds, 0)} | ${fmt((100 * ok) / due, 2)} % | ${dropped} | ${fmt(lag)} ms | ${sustained ? 'yes' : 'no'} |`,
      );
      if (!sustained) break;
      best = rate;
    }
    const sbAfter = await sysbenchQps(b, sbSeconds, threads);
    const sb = (sbBefore + sbAfter) / 2;
    out('');
    out(`sysbench again after the ladder: ${fmt(sbAfter, 0)} qps (mean of both: ${fmt(sb, 0)})`);
    out('');
    out(
      `**ceiling ÷ sysbench = ${best} ÷ ${fmt(sb, 0)} = ${fmt(best / sb)}** (target ≥ 0.6); ` +
        `ceiling ÷ mysql2 alone = ${fmt(best / driver)}; mysql2 alone ÷ sysbench = ${fmt(driver / sb)}`,
    );
    out('');
    return { best, sysbenchQps: sb, driverQps: driver, lines };
  } finally {
    await execFileP('sysbench', [...sysbenchArgs(b), 'cleanup']);
  }
}
