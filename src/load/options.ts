import type { RunMetrics } from './metrics.js';
import type { ConnectionModel, EventInput, Op, ResultsHeader, ResultsTrailer } from '../results/types.js';
import type { SideBySide } from './side-by-side.js';
import type { Target } from './target.js';
import type { TlsConfig } from './tls.js';

/** What a measurement is given and what it returns (the load layer's contract with its callers). */

export type { EventInput };

/** Something to do at a time during the run: a shell command or a sandbox step. */
export interface RunAction {
  /** Offset from the run's start, ms. */
  atMs: number;
  name: string;
  /** Runs the action. Its start and end are recorded as an `action` event; it may add its own events. */
  execute: (ctx: ActionContext) => Promise<Record<string, unknown> | void>;
}

export interface ActionContext {
  event: (e: EventInput) => void;
  /** Aborted when the run ends: long actions must stop then. */
  signal: AbortSignal;
}

export interface RunOptions {
  target: Target;
  password: string | undefined;
  passwordSource: string;
  label: string;
  /** The endpoint's name, when the run measures several (`--target NAME=…`): in the header. */
  endpoint?: string | undefined;
  /** Live metrics (`--metrics-port`): every final second is counted there too (metrics.ts). */
  metrics?: RunMetrics | undefined;
  /** Probes per second per op; 0 disables the op. */
  rates: Record<Op, number>;
  durationMs: number;
  workers: number;
  connection: ConnectionModel;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** The latency SLO (--slow), written to the header: answered but slower is degraded service. */
  slowMs?: number | undefined;
  maxInFlight: number;
  /** Pool model: connections per op per worker (default 10, HikariCP's default pool size). */
  poolSize?: number;
  table: string;
  readSql?: string | undefined;
  writeSql?: string | undefined;
  out: string;
  overwrite: boolean;
  scenario?: unknown;
  actions?: RunAction[];
  /** Print one progress line per second on stderr. */
  progress: boolean;
  /** After the run, look up every acknowledged write on the endpoint (default true). */
  verify?: boolean;
  /** Keep the run's rows in the probe table afterwards (default: deleted). */
  keep?: boolean;
  /** Poll mysql.rds_topology for blue/green phases where the endpoint has it (default true). */
  pollTopology?: boolean;
  /** Green (same credentials): replication lag is measured with a heartbeat written through the endpoint. */
  green?: Target | undefined;
  /** TLS for every connection (--ssl-mode, --ssl-ca); undefined: none. */
  tls?: TlsConfig | undefined;
  /** Re-fetch the password every `everyMs` during the run (--password-command): new connections use the newest. */
  passwordRefresh?: PasswordRefresh | undefined;
  /** Set by runMeasurement: the newest password, for connections opened during the run. */
  passwordNow?: (() => string | undefined) | undefined;
  /** Resolve the target host through this DNS server (IP:PORT, resolve.ts) instead of the system resolver. */
  dnsServer?: string | undefined;
  /** One of several measurements run side by side (side-by-side.ts): same start, shared timeline events. */
  sideBySide?: { group: SideBySide; index: number } | undefined;
}

export interface PasswordRefresh {
  everyMs: number;
  /** Resolves to the new password; rejects with a message that never contains it. */
  fetch: () => Promise<string>;
}

export interface RunResult {
  path: string;
  runId: string;
  header: ResultsHeader;
  trailer: ResultsTrailer;
  /** The user pressed Ctrl-C twice: the run was cut short at once. */
  abandoned: boolean;
}

export const DEFAULT_POOL_SIZE = 10;
