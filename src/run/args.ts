import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { validateThreshold } from '../analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import type { RunOptions } from '../load/options.js';
import { parseDnsServer } from '../load/resolve.js';
import type { Target } from '../load/target.js';
import type { ConnectionModel } from '../results/types.js';
import { resolveCredentials } from '../scenario/password.js';
import {
  checkConnection,
  checkMaxInFlight,
  checkPoolSize,
  checkRate,
  checkRunDuration,
  checkSlow,
  checkTable,
  checkThreshold,
  checkTimeout,
  checkWorkers,
  durationText,
  must,
} from '../scenario/rules.js';
import { targetFromFlag } from '../scenario/target-url.js';
import { SCENARIO_DEFAULTS } from '../scenario/types.js';
import { makeDirs } from '../util/fs-atomic.js';
import { utcStamp } from '../util/time.js';
import { passwordFlags, runTls } from './credentials.js';

/**
 * Flags of `downtime run`, as yargs gives them (untrusted until parsed). Flags have no yargs defaults:
 * undefined means "not given on the command line", so that a scenario's value applies; the defaults
 * for flag-only runs are filled in here (RUN_DEFAULTS).
 */
export interface RunArgs {
  /** Scenario file (YAML/JSON); its values apply unless a flag is given explicitly. */
  scenario?: string;
  target?: string;
  reads?: number;
  writes?: number;
  duration?: string;
  out?: string;
  force?: boolean;
  workers?: number;
  connection?: string;
  timeout?: string;
  connectTimeout?: string;
  /** The latency SLO: answered but slower is degraded service (reported apart from downtime). */
  slow?: string;
  /** IPv4[:port] of a DNS server to resolve the target's host through (resolve.ts). */
  dnsServer?: string;
  maxInFlight?: number;
  table?: string;
  readSql?: string;
  writeSql?: string;
  passwordFile?: string;
  /** A command whose stdout is the password (an IAM token); re-run every --password-refresh. */
  passwordCommand?: string;
  passwordRefresh?: string;
  /** Ask for the password on the terminal (no echo). */
  passwordPrompt?: boolean;
  /** TLS: disabled | preferred | required | verify-ca | verify-identity. */
  sslMode?: string;
  sslCa?: string;
  label?: string;
  progress?: boolean;
  report?: boolean;
  verify?: boolean;
  keep?: boolean;
  poolSize?: number;
  threshold?: string[] | string;
  /** Green's address (same credentials as the target): replication lag is measured with a heartbeat. */
  greenTarget?: string;
  /** Serve live metrics for Prometheus on this port (127.0.0.1 unless --metrics-host). */
  metricsPort?: number;
  metricsHost?: string;
  /** A sandbox's servers: now (--from) and after the upgrade (--to); an image, a server directory, or path. */
  from?: string;
  to?: string;
  /** Not a flag: which of these values came from DOWNTIME_* variables (src/run/env.ts), key → variable. */
  envNames?: Partial<Record<string, string>>;
}

/** Defaults of flag-only runs; the same as a scenario's (SCENARIO_DEFAULTS). */
export const RUN_DEFAULTS = {
  reads: SCENARIO_DEFAULTS.readsPerSec,
  writes: SCENARIO_DEFAULTS.writesPerSec,
  duration: '60s',
  connection: SCENARIO_DEFAULTS.connection,
  timeout: '2s',
  maxInFlight: SCENARIO_DEFAULTS.maxInFlight,
  table: SCENARIO_DEFAULTS.table,
} as const;

/**
 * Probes per second one pooled worker thread carries with room to spare: on 2 cores shared with the server, one
 * worker answered every probe up to 16,000/s, and sent them later at 8,000/s than two workers did
 * (bench/RESULTS.md, "Workers by default").
 */
const POOL_PROBES_PER_WORKER = 8000;

/** Whether a host is this machine (a loopback address): a database there competes with the workers for the cores. */
export function isThisMachine(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Worker threads when --workers is not given. Pooled probes: as many as the rate needs at
 * POOL_PROBES_PER_WORKER each, at most the CPU count — half of it when the database runs on this machine (its
 * server needs cores too: two workers and a local server on 2 cores lost probes at 16,000/s where one did not).
 * A thread more costs CPU per probe for nothing (at 5,000/s, 2 workers spent 1.44× the CPU per probe of mysql2
 * alone, one 1.07×: medians of 3 rounds) and memory (each has its own heap). Per-probe connections (a handshake
 * per probe) keep one per CPU.
 */
export function defaultWorkers(
  rates: { read: number; write: number },
  connections: readonly ConnectionModel[],
  { cpus = availableParallelism(), serverHere = false }: { cpus?: number; serverHere?: boolean } = {},
): number {
  if (connections.some((c) => c !== 'pool')) return cpus;
  const most = serverHere ? Math.max(1, Math.floor(cpus / 2)) : cpus;
  return Math.max(1, Math.min(most, Math.ceil((rates.read + rates.write) / POOL_PROBES_PER_WORKER)));
}

/** --green-target: green's address; it is read with the target's credentials, so it may not hold a password. */
export function greenFlag(text: string | undefined): Target | undefined {
  return text === undefined || text === '' ? undefined : targetFromFlag(text, '--green-target');
}

/**
 * A run probes reads, writes or both: 0 leaves an op out (a reader endpoint, a read replica: --writes 0), but not
 * both. Checked after the scenario's values and the flags are combined.
 */
export function checkRates(rates: { read: number; write: number }): { read: number; write: number } {
  if (rates.read === 0 && rates.write === 0) {
    throw new DowntimeError(
      '--reads and --writes are both 0: nothing to measure; set at least one above 0 (e.g. --writes 0 for a read replica)',
      ExitCode.Usage,
    );
  }
  return rates;
}

/** --slow, checked against the probe timeout it must stay below (a probe slower than the timeout has failed). */
export function slowFlag(text: string | undefined, timeoutMs: number, fallback?: number): number | undefined {
  const slowMs = text !== undefined ? must(checkSlow(text, '--slow')) : fallback;
  const name = text !== undefined ? '--slow' : "the scenario's load.slow";
  if (slowMs !== undefined && slowMs >= timeoutMs) {
    throw new DowntimeError(
      `${name} ${durationText(slowMs)} is not below the probe timeout ${durationText(timeoutMs)}: a probe slower than the timeout has failed, not slowed; lower --slow or raise --timeout`,
      ExitCode.Usage,
    );
  }
  return slowMs;
}

/** --threshold values (repeatable), each checked by the threshold parser. */
export function thresholdFlags(values: RunArgs['threshold']): string[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list.map((v) => must(checkThreshold(v, '--threshold', validateThreshold)));
}

/** Turns flags into typed run options (a run without a scenario), or throws one DowntimeError naming the first problem. */
export function parseRunArgs(args: RunArgs, io: Io): RunOptions {
  if (args.from !== undefined || args.to !== undefined) {
    throw new DowntimeError(
      '--from and --to choose the servers of a sandbox scenario (sandbox: …); with --target the server is yours',
      ExitCode.Usage,
    );
  }
  if (args.target === undefined || args.target === '') {
    throw new DowntimeError(
      '--target is required (or name a scenario file), e.g. --target mysql://app@db.example:3306/probe',
      ExitCode.Usage,
    );
  }
  const target = targetFromFlag(args.target, '--target');
  const urlPassword = undefined;
  const rates = checkRates({
    read: must(checkRate(args.reads ?? RUN_DEFAULTS.reads, '--reads')),
    write: must(checkRate(args.writes ?? RUN_DEFAULTS.writes, '--writes')),
  });
  const durationMs = must(checkRunDuration(args.duration ?? RUN_DEFAULTS.duration, '--duration'));
  const timeoutMs = must(checkTimeout(args.timeout ?? RUN_DEFAULTS.timeout, '--timeout'));
  const connectTimeoutMs =
    args.connectTimeout === undefined ? timeoutMs : must(checkTimeout(args.connectTimeout, '--connect-timeout'));
  const connections = must(checkConnection(args.connection ?? RUN_DEFAULTS.connection, '--connection'));
  const workers = must(
    checkWorkers(
      args.workers ?? defaultWorkers(rates, connections, { serverHere: isThisMachine(target.host) }),
      '--workers',
    ),
  );
  const inFlight = must(checkMaxInFlight(args.maxInFlight ?? RUN_DEFAULTS.maxInFlight, '--max-in-flight'));
  passwordFlags(args);
  const creds = resolveCredentials({ passwordFile: args.passwordFile, urlPassword, env: io.env });
  const tls = runTls(args, undefined, io);
  const out = resolve(io.cwd, args.out ?? join('reports', `run-${utcStamp(io.now())}.ndjson`));
  return {
    target,
    password: creds.password,
    passwordSource: creds.source,
    label: args.label ?? 'run',
    rates,
    durationMs,
    workers,
    connection: connections[0] as ConnectionModel,
    timeoutMs,
    connectTimeoutMs,
    slowMs: slowFlag(args.slow, timeoutMs),
    maxInFlight: inFlight,
    table: must(checkTable(args.table ?? RUN_DEFAULTS.table, '--table')),
    readSql: args.readSql,
    writeSql: args.writeSql,
    out,
    overwrite: args.force ?? false,
    progress: args.progress ?? true,
    verify: args.verify ?? true,
    keep: args.keep ?? false,
    poolSize: args.poolSize === undefined ? undefined : must(checkPoolSize(args.poolSize, '--pool-size')),
    tls,
    green: greenFlag(args.greenTarget),
    ...dnsServerOption(args.dnsServer !== undefined ? parseDnsServer(args.dnsServer) : undefined),
  };
}

/**
 * The default output folder (reports/) is made when missing; a folder the user named is not: a typo there
 * should be an error, not a new directory.
 */
export function makeDefaultDir(file: string): void {
  try {
    // Not mkdirSync's { recursive: true }: under /proc that loops forever.
    makeDirs(dirname(file));
  } catch {
    // left for the writer to report, with its one-line message
  }
}

/** --metrics-port / --metrics-host: where to serve live metrics, or undefined. */
export function metricsFlags(
  args: Pick<RunArgs, 'metricsPort' | 'metricsHost'>,
): { host: string; port: number } | undefined {
  if (args.metricsPort === undefined) {
    if (args.metricsHost !== undefined) {
      throw new DowntimeError('--metrics-host applies only with --metrics-port', ExitCode.Usage);
    }
    return undefined;
  }
  const port = args.metricsPort;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DowntimeError(
      `--metrics-port must be a TCP port from 1 to 65535 (got ${String(port)}), e.g. --metrics-port 9464`,
      ExitCode.Usage,
    );
  }
  return { host: args.metricsHost ?? '127.0.0.1', port };
}

/** Flags that replace a scenario's value when given. */
export const RUN_OVERRIDABLE = [
  'target',
  'reads',
  'writes',
  'duration',
  'out',
  'workers',
  'connection',
  'timeout',
  'connectTimeout',
  'slow',
  'dnsServer',
  'maxInFlight',
  'table',
  'readSql',
  'writeSql',
  'passwordFile',
  'passwordCommand',
  'passwordRefresh',
  'passwordPrompt',
  'sslMode',
  'sslCa',
  'label',
  'report',
  'from',
  'to',
] as const satisfies readonly (keyof RunArgs)[];

export function dnsServerOption(server: string | undefined): { dnsServer?: string } {
  return server !== undefined ? { dnsServer: server } : {};
}

/** `maxInFlight` → `--max-in-flight`. */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
