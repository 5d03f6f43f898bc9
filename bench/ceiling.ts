/**
 * Throughput ceiling: the highest constant probe rate the harness — the downtime CLI, a process of its own, as users
 * run it — sustains (≥ 99 % of due probes answered in time, < 0.1 % dropped), found on a ladder and bisected, and
 * divided by sysbench's closed-loop oltp_point_select qps on the same server. Two yardsticks separate what the harness
 * costs from what its driver costs: mysql2 alone paced (driver-alone.ts: the open loop the harness is, with nothing
 * around the driver, held to the same criterion and searched the same way) and mysql2 alone in a closed loop (the
 * next query as soon as an answer comes: it slows down with the server, which no paced client may).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fmt, openConnections, sumOf, sysbenchConfig, workersByDefault, type Bench } from './common.js';
import { sampleChildCpu, sampleOwnCpu, steadyCpuUs, steadyReads, type Sample } from './cpu-sample.js';
import { runCli, runDriverAlone } from './cli-run.js';

const execFileP = promisify(execFile);

export interface CeilingResult {
  /** Highest sustained rate, probes/s. */
  best: number;
  sysbenchQps: number;
  driverQps: number;
  /** mysql2 alone's ceiling, paced like the harness and held to the same criterion. */
  pacedBest: number;
  lines: string[];
}

/** What a client cost per answered query: its process's CPU (every thread), and the server's. */
interface CpuPerQuery {
  clientUs: number;
  serverUs: number | null;
}

/** Samples the server's CPU until stopped (null: its process is not known). */
function sampleServer(b: Bench): { stop: () => Sample[] | null } {
  const pid = b.srv.server.pid;
  const server = pid === null ? null : sampleChildCpu(pid);
  return { stop: () => server?.stop() ?? null };
}

const perQuery = (us: CpuPerQuery): string =>
  `${fmt(us.clientUs, 0)} µs + server ${us.serverUs === null ? '–' : `${fmt(us.serverUs, 0)} µs`}`;

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
async function driverQps(b: Bench, seconds: number, connections: number): Promise<{ qps: number; cpu: CpuPerQuery }> {
  const sql =
    'SELECT @@server_id AS server_id, @@hostname AS hostname, @@version AS version, @@read_only AS read_only, ' +
    '(SELECT id FROM sbtest1 WHERE id = ?) AS seq';
  const conns = await openConnections(b, connections);
  let n = 0;
  let startAt = 0;
  const warmUntil = Date.now() + 500;
  const endAt = warmUntil + seconds * 1000;
  const own = sampleOwnCpu();
  const server = sampleServer(b);
  await Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          const loop = (): void => {
            const now = Date.now();
            if (now >= endAt) return resolve();
            c.execute(sql, [1 + (n % 10_000)], (err) => {
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
  const samples = { own: own.stop(), server: server.stop() };
  for (const c of conns) c.destroy();
  const qps = n / ((endAt - startAt) / 1000);
  const steady = { fromMs: startAt, toMs: endAt, okPerSec: qps };
  const serverUs = samples.server === null ? null : steadyCpuUs(samples.server, steady);
  return { qps, cpu: { clientUs: steadyCpuUs(samples.own, steady), serverUs } };
}

/**
 * The next rate to try between the highest rung sustained (`lo`) and the lowest missed (`hi`): their midpoint, to
 * 100/s; null once they are within 5 % (or 100/s) of each other, or when nothing was sustained or nothing missed.
 */
export function bisectRate(lo: number, hi: number | null): number | null {
  if (lo <= 0 || hi === null || hi - lo <= Math.max(100, lo * 0.05)) return null;
  const mid = Math.round((lo + hi) / 200) * 100;
  return mid > lo && mid < hi ? mid : null;
}

/**
 * The highest rate `sustains` holds: rungs 25 % apart from 2,000/s up to `limit` (the highest one sustained bounds
 * the ceiling from below, the first one missed from above), then the gap between those two halved (bisectRate) down
 * to 5 % of the rate. `sustains` gets each rate and whether it is a bisection step (for its table row).
 */
export async function findCeiling(
  limit: number,
  sustains: (rate: number, bisecting: boolean) => Promise<boolean>,
): Promise<number> {
  let best = 0;
  let missed: number | null = null;
  for (let r = 2000; r <= limit; r = Math.round((r * 1.25) / 100) * 100) {
    if (!(await sustains(r, false))) {
      missed = r;
      break;
    }
    best = r;
  }
  for (let mid = bisectRate(best, missed); mid !== null; mid = bisectRate(best, missed)) {
    if (await sustains(mid, true)) best = mid;
    else missed = mid;
  }
  return best;
}

/** Whether a client kept up with a rate: ≥ 99 % of its due probes answered in time, < 0.1 % dropped. */
const kept = (due: number, ok: number, dropped: number): boolean => ok / due >= 0.99 && dropped / due < 0.001;

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
    const { qps: driver, cpu: driverCpu } = await driverQps(b, quick ? 4 : 10, 16);
    out(`sysbench oltp_point_select, ${threads} threads, ${sbSeconds} s, closed loop: ${fmt(sbBefore, 0)} qps`);
    out(
      `mysql2 alone, closed loop, 16 connections on one thread, prepared: ${fmt(driver, 0)} qps; CPU per query ` +
        `${perQuery(driverCpu)}`,
    );
    out('');
    out(
      'Harness: the downtime CLI, a process of its own as a user runs it, with the worker threads a run gets by ' +
        'default at each rate against a database on this machine (src/run/args.ts defaultWorkers), pool of 32 per ' +
        'worker, max in flight 4096, reads only.',
    );
    out('');
    out(
      'CPU per answered probe over the steady seconds (the first one or two left out): the harness (every thread of ' +
        'its process) and the server (/proc).',
    );
    out('');
    out(
      '| target reads/s | workers | achieved ok/s | ok/due | dropped | p99 send lag (worst s) | CPU per probe | sustained |',
    );
    out('| --- | --- | --- | --- | --- | --- | --- | --- |');
    const seconds = quick ? 4 : 10;
    const rung = async (rate: number, note: string): Promise<boolean> => {
      const server = sampleServer(b);
      const { file, samples } = await runCli(b, {
        name: `ceiling-${rate}`,
        ...{ rate, seconds, workers: workersByDefault({ read: rate, write: 0 }) },
      });
      const serverSamples = server.stop();
      const steady = steadyReads(file, seconds, quick ? 1 : 2);
      const serverUs = serverSamples === null ? null : steadyCpuUs(serverSamples, steady);
      const used = perQuery({ clientUs: steadyCpuUs(samples, steady), serverUs });
      const due = sumOf(file, 'read', 'due');
      const ok = sumOf(file, 'read', 'ok');
      const dropped = sumOf(file, 'read', 'dropped');
      const lag = Math.max(...file.seconds.read.map((s) => s.sendLagUs?.p99 ?? 0)) / 1000;
      const sustained = kept(due, ok, dropped);
      out(
        `| ${rate}${note} | ${file.header.workers} | ${fmt(ok / seconds, 0)} | ${fmt((100 * ok) / due, 2)} % | ${dropped} | ${fmt(lag)} ms | ${used} | ${sustained ? 'yes' : 'no'} |`,
      );
      return sustained;
    };
    const best = await findCeiling(sbBefore, (rate, bisecting) => rung(rate, bisecting ? ' (bisect)' : ''));
    out('');
    out(
      'mysql2 alone, paced (bench/driver-alone.ts: the open loop the harness is, with nothing around the driver; the ' +
        'same pool of 32, in-flight cap, timeout and criterion):',
    );
    out('');
    out('| target reads/s | achieved ok/s | ok/due | dropped | CPU per probe | sustained |');
    out('| --- | --- | --- | --- | --- | --- |');
    const paced = await findCeiling(sbBefore, async (rate, bisecting) => {
      // mysql2 alone paced: the open loop the harness is, with nothing around the driver, held to its criterion.
      const { row: r } = await runDriverAlone(b, { mode: 'paced', rate, seconds, settleS: 1 });
      const [due, ok, dropped] = [r.due ?? 0, r.ok ?? 0, r.dropped ?? 0];
      const sustained = kept(due, ok, dropped);
      out(
        `| ${rate}${bisecting ? ' (bisect)' : ''} | ${fmt(ok / seconds, 0)} | ${fmt((100 * ok) / due, 2)} % | ${dropped} | ` +
          `${fmt(r.cpuUsPerProbe, 0)} µs | ${sustained ? 'yes' : 'no'} |`,
      );
      return sustained;
    });
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
    out(
      `**ceiling ÷ mysql2 alone paced = ${best} ÷ ${paced} = ${fmt(best / paced)}**: the harness against the open ` +
        'loop it is, held to the same criterion (the closed loop is not: it slows down when the server does, ' +
        'and a paced client must keep up through those moments)',
    );
    out('');
    return { best, sysbenchQps: sb, driverQps: driver, pacedBest: paced, lines };
  } finally {
    await execFileP('sysbench', [...sysbenchArgs(b), 'cleanup']);
  }
}
