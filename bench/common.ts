import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import mysql from 'mysql2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bufferIo } from '../src/io.js';
import { runMeasurement, type RunOptions, type RunResult } from '../src/load/measurement.js';
import { readResults } from '../src/results/reader.js';
import { findOnPath } from '../src/sandbox/servers/binaries.js';
import type { ResultsFile } from '../src/results/types.js';
import { startTestServer, type TestServer } from '../test/helpers/server.js';
import { defaultWorkers } from '../src/run/args.js';
import { connectAll } from './connect.js';

export interface Bench {
  srv: TestServer;
  dir: string;
  measure(
    o: Partial<RunOptions> & { rates: RunOptions['rates']; durationMs: number; name: string },
  ): Promise<{ result: RunResult; file: ResultsFile }>;
  close(): Promise<void>;
}

/** A server of the benchmark's own, and a way to run the harness against it in-process. */
export async function openBench(): Promise<Bench> {
  const srv = await startTestServer();
  const dir = mkdtempSync(join(tmpdir(), 'downtime-bench-'));
  return {
    srv,
    dir,
    async measure(o) {
      const out = join(dir, `${o.name}-${Date.now()}.ndjson`);
      const opts: RunOptions = {
        target: { host: '127.0.0.1', port: srv.server.port, user: srv.user, database: srv.database, url: srv.url },
        password: srv.password,
        passwordSource: 'bench',
        label: o.name,
        workers: 2,
        connection: 'pool',
        timeoutMs: 2000,
        connectTimeoutMs: 2000,
        maxInFlight: 256,
        table: 'downtime_probe',
        out,
        overwrite: false,
        progress: false,
        verify: false,
        ...o,
      };
      const result = await runMeasurement(opts, bufferIo());
      return { result, file: readResults(out) };
    },
    async close() {
      await srv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function sumOf(file: ResultsFile, op: 'read' | 'write', field: 'due' | 'ok' | 'dropped'): number {
  return file.seconds[op].reduce((a, s) => a + s[field], 0);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))] as number;
}

export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

export interface SysbenchTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * sysbench's connection options in a file of their own (mode 0600, `--config-file`), so that the password is
 * on no command line (ps, /proc) and in no error message that quotes the command.
 */
export function sysbenchConfig(dir: string, t: SysbenchTarget): string {
  const path = join(dir, `sysbench-${t.port}.cfg`);
  const lines = [
    'db-driver=mysql',
    `mysql-host=${t.host}`,
    `mysql-port=${t.port}`,
    `mysql-user=${t.user}`,
    `mysql-password=${t.password}`,
    `mysql-db=${t.database}`,
  ];
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
  return `--config-file=${path}`;
}

/** Throws a one-line error unless sysbench is on the PATH (the ceiling and accuracy benchmarks need it). */
export function requireSysbench(): void {
  // PATH only: the benchmarks spawn it by name.
  if (findOnPath(['sysbench'], []) === null) {
    throw new Error(
      'sysbench is not installed: apt-get install sysbench (or leave out ceiling, fidelity and accuracy with --only)',
    );
  }
}

/** The pooled worker threads a run gets without --workers at these rates: the bench's server is on this machine. */
export function workersByDefault(rates: { read: number; write: number }): number {
  return defaultWorkers(rates, ['pool'], { serverHere: true });
}

/** How the yardsticks' own mysql2 connections reach the bench's server. */
function yardstickConfig(b: Bench): mysql.ConnectionOptions {
  return {
    host: '127.0.0.1',
    port: b.srv.server.port,
    user: b.srv.user,
    password: b.srv.password,
    database: b.srv.database,
  };
}

/** `n` mysql2 connections to the bench's server, connected (the yardsticks' own, beside the harness's). */
export function openConnections(b: Bench, n: number): Promise<mysql.Connection[]> {
  return connectAll(yardstickConfig(b), n);
}
