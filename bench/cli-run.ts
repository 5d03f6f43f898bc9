/**
 * The clients the benchmarks measure, each a process of its own (a fresh V8 heap, nothing of the benchmark in it),
 * against the bench's server, reads only: the harness as a user runs it (the downtime CLI; its CPU, every thread,
 * from /proc every 200 ms), and its yardstick mysql2 alone (driver-alone.ts). With `traceGc`, V8's
 * `--trace-gc-nvp` lines are kept for the allocation per probe (alloc.ts).
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readResults } from '../src/results/reader.js';
import type { ResultsFile } from '../src/results/types.js';
import type { Bench } from './common.js';
import { sampleChildCpu, type Sample } from './cpu-sample.js';
import type { CpuRow } from './driver-alone.js';

const execFileP = promisify(execFile);
const CLI = new URL('../src/cli.js', import.meta.url).pathname;
const DRIVER = new URL('./driver-alone.js', import.meta.url).pathname;

export interface CliOptions {
  name: string;
  rate: number;
  seconds: number;
  workers: number;
  connection?: 'pool' | 'per-probe';
  poolSize?: number;
  maxInFlight?: number;
  traceGc?: boolean;
}

export interface CliRun {
  file: ResultsFile;
  /** The process's CPU time over the run. */
  samples: Sample[];
  /** Its stdout: V8's collections with `traceGc`. */
  trace: string;
}

export async function runCli(b: Bench, o: CliOptions): Promise<CliRun> {
  const out = join(b.dir, `${o.name}-${Date.now()}.ndjson`);
  const args = [
    ...['run', '--target', b.srv.url, '--reads', String(o.rate), '--writes', '0', '--duration', `${o.seconds}s`],
    ...['--workers', String(o.workers), '--connection', o.connection ?? 'pool'],
    ...['--pool-size', String(o.poolSize ?? 32), '--max-in-flight', String(o.maxInFlight ?? 4096)],
    ...['--no-report', '--no-progress', '--no-verify', '--out', out],
  ];
  const child = spawn(process.execPath, [...(o.traceGc ? ['--trace-gc-nvp'] : []), CLI, ...args], {
    env: { ...process.env, MYSQL_PWD: b.srv.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cpu = sampleChildCpu(child.pid as number);
  let stderr = '';
  let trace = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (trace += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const samples = cpu.stop();
  if (code !== 0) throw new Error(`downtime run exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
  return { file: readResults(out), samples, trace };
}

export interface DriverJob {
  mode: 'paced' | 'per-connection';
  rate: number;
  seconds: number;
  settleS: number;
}

/** mysql2 alone (driver-alone.ts) on the bench's server: its row, and its stdout (V8's collections with `traceGc`). */
export async function runDriverAlone(
  b: Bench,
  job: DriverJob,
  traceGc = false,
): Promise<{ row: CpuRow; trace: string }> {
  const where = { host: '127.0.0.1', port: b.srv.server.port, user: b.srv.user, database: b.srv.database };
  const jobText = JSON.stringify({ ...where, ...job });
  const { stdout } = await execFileP(process.execPath, [...(traceGc ? ['--trace-gc-nvp'] : []), DRIVER, jobText], {
    env: { ...process.env, DOWNTIME_BENCH_PASSWORD: b.srv.password },
  });
  // Its row is the one line of JSON (among V8's collections with traceGc).
  const row = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{')) ?? 'null') as CpuRow;
  return { row, trace: stdout };
}
