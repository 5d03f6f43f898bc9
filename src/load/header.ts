import { cpus, hostname } from 'node:os';
import { HIST_DIGITS, HIST_HIGHEST_US, HIST_LOWEST_US } from '../results/histogram.js';
import { RESULTS_FORMAT, RESULTS_VERSION, type Op, type ResultsHeader } from '../results/types.js';
import { toolVersion } from '../version.js';
import { HEARTBEAT_INTERVAL_MS, heartbeatTable } from './heartbeat.js';
import { DEFAULT_POOL_SIZE, type RunOptions } from './options.js';
import { defaultReadSql, defaultWriteSql } from './probes.js';

/** The results file's first line: what was measured, how, from where, starting when. */
export function resultsHeader(
  opts: RunOptions,
  run: { runId: string; ops: Op[]; workers: number; t0Ms: number; tls: ResultsHeader['tls'] },
): ResultsHeader {
  const { runId, ops, workers, t0Ms, tls } = run;
  const side = opts.sideBySide;
  return {
    type: 'header',
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    tool: { name: 'downtime', version: toolVersion() },
    runId,
    label: opts.label,
    target: { ...opts.target },
    ...(opts.dnsServer !== undefined ? { dnsServer: opts.dnsServer } : {}),
    ...(tls !== undefined ? { tls } : {}),
    host: {
      hostname: hostname(),
      pid: process.pid,
      platform: process.platform,
      node: process.version,
      cpus: cpus().length,
    },
    startMs: t0Ms,
    durationMs: opts.durationMs,
    ops: Object.fromEntries(ops.map((op) => [op, { ratePerSec: opts.rates[op], t0Ms }])),
    timeoutMs: opts.timeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    ...(opts.slowMs !== undefined ? { slowMs: opts.slowMs } : {}),
    connection: opts.connection,
    workers,
    maxInFlight: opts.maxInFlight,
    ...(opts.connection === 'pool' ? { poolSize: opts.poolSize ?? DEFAULT_POOL_SIZE } : {}),
    resolution: 'probe',
    table: opts.table,
    readSql: opts.readSql ?? defaultReadSql(opts.table),
    writeSql: opts.writeSql ?? defaultWriteSql(opts.table),
    histogram: { unit: 'us', lowestUs: HIST_LOWEST_US, highestUs: HIST_HIGHEST_US, significantDigits: HIST_DIGITS },
    ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
    ...(opts.green
      ? { heartbeat: { green: opts.green.url, table: heartbeatTable(opts.table), intervalMs: HEARTBEAT_INTERVAL_MS } }
      : {}),
    ...(side !== undefined
      ? {
          sideBySide: {
            group: side.group.id,
            models: [...side.group.models],
            members: [...side.group.members],
            member: side.group.members[side.index] as string,
          },
        }
      : {}),
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
  };
}
