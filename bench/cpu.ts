/**
 * CPU per probe (#16): what each probe costs the client in CPU time, at the same fixed rate, for the harness
 * (2 and 1 worker threads), mysql2 alone (the same driver, the same prepared read, paced the same way with
 * nothing around it) and sysbench's client (`oltp_point_select --rate`); and the per-probe model against
 * mysql2 alone opening a connection per query. CPU time is counted by the kernel, not read off a clock, so it
 * holds on a shared, noisy machine where throughput ceilings do not: the ratio harness ÷ mysql2 alone is the
 * harness's own overhead.
 *
 * Each client runs in a process of its own, as a user runs it: the harness is the downtime CLI, mysql2 alone is
 * driver-alone.ts. Their CPU (every thread) is sampled every 200 ms, and only the steady part counts: from
 * `settleS` after the run's first probe (1 s with --quick, 8 s in full: code that runs once a second — sealing,
 * merging, writing — is still being compiled by V8 for several seconds, and the first old-generation collections
 * come then; a run of minutes pays that once) to 0.5 s before its last, with the probes answered in those
 * seconds. Set-up (pools, warm-up, the table) and teardown are left out. sysbench's client CPU is its process's
 * user + system time (bash `times`), over every query it ran.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { median as lowerMedian } from '../src/load/rate-capacity.js';
import { fmt, sysbenchConfig, type Bench } from './common.js';
import { allocatedPerSecond } from './alloc.js';
import { steadyCpuUs, steadyReads } from './cpu-sample.js';
import { runCli, runDriverAlone } from './cli-run.js';
import type { CpuRow } from './driver-alone.js';

const execFileP = promisify(execFile);

/**
 * The harness at `rate` reads/s, as a user runs it (the downtime CLI, a process of its own): CPU µs per answered
 * probe over the steady part of the run, from /proc (every thread of the process).
 */
async function harnessCpu(
  b: Bench,
  rate: number,
  seconds: number,
  workers: number,
  connection: 'pool' | 'per-probe',
  settleS: number,
): Promise<CpuRow> {
  const { file, samples, trace } = await runCli(b, {
    name: `cpu-${connection}-${rate}-${workers}w`,
    ...{ rate, seconds, workers, connection, traceGc: true },
  });
  const steady = steadyReads(file, seconds, settleS);
  return {
    client: `downtime${connection === 'per-probe' ? ' per-probe' : ''}, ${workers} worker${workers === 1 ? '' : 's'}`,
    rate,
    achieved: steady.okPerSec,
    cpuUsPerProbe: steadyCpuUs(samples, steady),
    allocBytesPerProbe: allocPerProbe(trace, settleS, steady.okPerSec),
  };
}

/** Bytes V8 allocated per answered probe over the steady part of a client's `--trace-gc-nvp` output. */
function allocPerProbe(trace: string, settleS: number, answeredPerSec: number): number | null {
  const perSec = allocatedPerSecond(trace, settleS + 1, 1);
  return perSec === null ? null : perSec / Math.max(1, answeredPerSec);
}

/** mysql2 alone (driver-alone.ts) in a process of its own: `paced` on 32 connections, or a connection per query. */
async function driverCpu(
  b: Bench,
  mode: 'paced' | 'per-connection',
  rate: number,
  seconds: number,
  settleS: number,
): Promise<CpuRow> {
  const { row, trace } = await runDriverAlone(b, { mode, rate, seconds, settleS }, true);
  return { ...row, allocBytesPerProbe: allocPerProbe(trace, settleS, row.achieved) };
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

/**
 * Table rows for clients measured in rounds beside their yardstick (`runs[0]`): per client, the median CPU per
 * probe over its runs, and the median of its ratios to the yardstick's run of the same round, with their range.
 */
/** The (lower) median of a non-empty list. */
const median = (xs: number[]): number => lowerMedian(xs) ?? NaN;

function roundRows(rate: number, runs: CpuRow[][]): string[] {
  const yardstick = runs[0] as CpuRow[];
  return runs.map((clientRuns) => {
    const first = clientRuns[0] as CpuRow;
    const ratios = clientRuns.map((r, k) => r.cpuUsPerProbe / (yardstick[k] as CpuRow).cpuUsPerProbe);
    const spread = ratios.length > 1 ? ` (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})` : '';
    return (
      `| ${rate} | ${first.client} | ${fmt(median(clientRuns.map((r) => r.achieved)), 0)} | ` +
      `${clientRuns.map((r) => fmt(r.cpuUsPerProbe, 1)).join(', ')} | ${fmt(median(ratios))}${spread} | ` +
      `${allocCell(clientRuns, yardstick)} |`
    );
  });
}

/** KB V8 allocated per probe (median of the runs), and its ratio to the yardstick's. */
function allocCell(runs: CpuRow[], yardstick: CpuRow[]): string {
  const kb = (rs: CpuRow[]): number | null => {
    const xs = rs.flatMap((r) => (typeof r.allocBytesPerProbe === 'number' ? [r.allocBytesPerProbe / 1024] : []));
    return xs.length === 0 ? null : median(xs);
  };
  const mine = kb(runs);
  const theirs = kb(yardstick);
  if (mine === null) return '—';
  return theirs === null ? fmt(mine, 2) : `${fmt(mine, 2)} (${fmt(mine / theirs)})`;
}

export async function cpuPerProbe(b: Bench, quick: boolean): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  const out = (l = ''): number => lines.push(l);
  const seconds = quick ? 6 : 25;
  const settleS = quick ? 1 : 8;
  // Rounds: each client once per round, in the same order, so that every ratio compares runs minutes apart at most
  // (two runs of the same build a quarter of an hour apart gave 1.20× and 1.04× at 2,000/s).
  const rounds = quick ? 1 : 3;
  const rates = quick ? [2000] : [2000, 5000];
  out('## CPU per probe');
  out('');
  out(
    `Fixed rates, reads only, ${seconds} s per run, ${rounds} round(s) of each client; CPU time from the kernel ` +
      `(the harness CLI and mysql2 alone each a process of its own, from ${settleS} s after the first probe to ` +
      '0.5 s before the last; sysbench: its process, one run). Harness: pool of 32 per worker. CPU per probe of ' +
      'each run; the ratio is the median of each run against mysql2 alone in the same round (range). The last ' +
      'rows are the per-probe model (a connection per probe) against mysql2 alone opening a connection per query. ' +
      'KB allocated: what V8 counted on every thread of the process over the same part (alloc.ts), the median ' +
      "of the runs (÷ mysql2 alone's): it does not drift with the machine's load as CPU time does.",
  );
  out('');
  out('| rate/s | client | achieved/s | CPU µs per probe (each run) | ÷ mysql2 alone | KB allocated per probe |');
  out('| --- | --- | --- | --- | --- | --- |');
  for (const rate of rates) {
    const runs: CpuRow[][] = [[], [], []];
    for (let k = 0; k < rounds; k++) {
      // The harness first: it creates the probe table that mysql2 alone then reads.
      runs[2]?.push(await harnessCpu(b, rate, seconds, 2, 'pool', settleS));
      runs[0]?.push(await driverCpu(b, 'paced', rate, seconds, settleS));
      runs[1]?.push(await harnessCpu(b, rate, seconds, 1, 'pool', settleS));
    }
    for (const l of roundRows(rate, runs)) out(l);
    const sb = await sysbenchCpu(b, rate, seconds);
    const driverMedian = median(runs[0]?.map((r) => r.cpuUsPerProbe) ?? []);
    out(
      `| ${rate} | ${sb.client} | ${fmt(sb.achieved, 0)} | ${fmt(sb.cpuUsPerProbe, 1)} | ` +
        `${fmt(sb.cpuUsPerProbe / driverMedian)} | — |`,
    );
  }
  // The per-probe model: a new connection per probe, against mysql2 doing the same alone.
  const perProbeRate = quick ? 500 : 1000;
  const perProbe: CpuRow[][] = [[], []];
  for (let k = 0; k < rounds; k++) {
    perProbe[0]?.push(await driverCpu(b, 'per-connection', perProbeRate, seconds, settleS));
    perProbe[1]?.push(await harnessCpu(b, perProbeRate, seconds, 1, 'per-probe', settleS));
  }
  for (const l of roundRows(perProbeRate, perProbe)) out(l);
  out('');
  return { lines };
}
