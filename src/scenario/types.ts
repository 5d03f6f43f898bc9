/**
 * A scenario after parsing: every value typed, every duration in ms, every default filled.
 * Nothing downstream re-checks a scenario; if it has a ParsedScenario, the input was good.
 * The file format is documented in docs/scenarios.md; the JSON Schema is in ./schema.ts.
 */

import type { ConnectionModel } from '../results/types.js';

/** Local sandbox topologies: a source with a replica behind a proxy, or one server. */
export const SANDBOX_KINDS = ['blue-green', 'single'] as const;
export type SandboxKind = (typeof SANDBOX_KINDS)[number];

export const CONNECTION_MODELS: readonly ConnectionModel[] = ['pool', 'per-probe'];
/** load.connection's values: a model, or two side by side. */
export const CONNECTION_CHOICES = ['pool', 'per-probe', 'pool,per-probe', 'per-probe,pool'] as const;

/**
 * Where the password for `target` comes from. The scenario never holds the password itself:
 * a file path, an environment variable name or a command whose stdout is the password.
 * `file` is kept as written (`~/` means the home directory of whoever runs it).
 */
export type PasswordSource =
  | { from: 'file'; path: string }
  | { from: 'env'; name: string }
  /** `refreshMs`: re-run the command this often during the run (an IAM token expires); default 10m. */
  | { from: 'command'; command: string; refreshMs?: number };

/** The MySQL client's --ssl-mode values. */
export const SSL_MODE_VALUES = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const;

/** TLS to the target (`tls:`): the MySQL client's --ssl-mode, and a CA bundle to verify the server with. */
export interface TlsSpec {
  mode?: (typeof SSL_MODE_VALUES)[number];
  /** PEM CA bundle, as written (`~/` is the home directory). */
  ca?: string;
}

/** What the probes talk to: a local sandbox the run starts itself, or an existing server. */
export type ScenarioDb =
  | {
      kind: 'sandbox';
      sandbox: SandboxKind;
      /**
       * The server now (`from`) and the one to upgrade to (`to`), as written: an image (mariadb:10.11), a server
       * directory, or `path`. Absent: the server binaries on PATH, and `to` the same as `from` (a restart).
       */
      from?: string;
      to?: string;
    }
  | {
      kind: 'target';
      /** mysql://USER@HOST[:PORT]/DATABASE as written (never with a password: the parser refuses that). */
      url: string;
      /** Undefined: the run falls back to its usual sources (MYSQL_PWD, a prompt). */
      password: PasswordSource | undefined;
      /** Green (target's replica), mysql://USER@HOST[:PORT]/DATABASE without a password: replication lag is measured. */
      green?: string | undefined;
      /** Undefined: the defaults (preferred, or the flags). */
      tls?: TlsSpec | undefined;
    };

/** Sandbox steps and their options (durations in ms). */
export interface StepOptionsByName {
  /** Stop the server, stay down `offlineMs` (the upgrade's offline phase), start it again and upgrade the data. */
  'in-place-upgrade': { offlineMs: number };
  /** Blue/green switchover: wait until replica lag <= maxLagMs (give up after timeoutMs), then move the endpoint. */
  switchover: {
    maxLagMs: number;
    timeoutMs: number;
    /** Extra time writes stay blocked before connections are dropped (RDS's switchover work; default 0). */
    blockWritesMs: number;
    /** At least this long the endpoint refuses connections (RDS renaming instances and endpoints; default 0). */
    renameMs: number;
  };
  /** Clean shutdown and start of the server behind the endpoint. */
  restart: Record<string, never>;
  /** kill -9 of the server behind the endpoint, then start it again. */
  kill: Record<string, never>;
  /** Unplanned failover: kill -9 the source and promote the replica without waiting for lag. */
  failover: Record<string, never>;
  /** A network fault at the endpoint proxy for `durationMs` (docs/fault-matrix.md). */
  fault: {
    kind: FaultStepKind;
    durationMs: number;
    /** `latency` only: added to each chunk, both directions. */
    latencyMs: number | undefined;
    /** `latency` only: ± uniform spread, at most latencyMs. */
    jitterMs: number | undefined;
    /** `bandwidth` only. */
    bytesPerSec: number | undefined;
    /** `halfOpen` only: the direction whose bytes are swallowed (default toClient). */
    drop: HalfOpenDrop | undefined;
  };
}
export const FAULT_STEP_KINDS = ['refuse', 'reset', 'blackhole', 'latency', 'bandwidth', 'halfOpen'] as const;
export type FaultStepKind = (typeof FAULT_STEP_KINDS)[number];
/** A halfOpen fault's direction; the first is the default. */
export const HALF_OPEN_DROPS = ['toClient', 'toServer'] as const;
export type HalfOpenDrop = (typeof HALF_OPEN_DROPS)[number];
export type StepName = keyof StepOptionsByName;
export const STEP_NAMES: readonly StepName[] = [
  'in-place-upgrade',
  'switchover',
  'restart',
  'kill',
  'failover',
  'fault',
];
/** Steps that need a replica, i.e. `sandbox: blue-green`. */
export const STEPS_NEEDING_REPLICA: readonly StepName[] = ['switchover', 'failover'];

/** A step with its options, discriminated by `name`. */
export type StepSpec = { [K in StepName]: { name: K; options: StepOptionsByName[K] } }[StepName];

interface ActionBase {
  /** Position in the file's `actions` list (0-based), for messages and event details. */
  index: number;
  /** Offset from the run start, ms; always < durationMs. */
  atMs: number;
  /** Label for charts and events; defaults to the step name, or `action N` (1-based) for a command. */
  name: string;
}

/** A shell command run at `atMs`; killed after `timeoutMs` (if set) and at the end of the run in any case. */
export interface CommandAction extends ActionBase {
  kind: 'run';
  command: string;
  timeoutMs: number | undefined;
}

/** A sandbox step run at `atMs`. */
export interface StepAction extends ActionBase {
  kind: 'step';
  step: StepSpec;
}

export type ScenarioAction = CommandAction | StepAction;

export interface LoadSpec {
  /** Read probes per second across all workers; 0 turns read probes off. */
  readsPerSec: number;
  /** Write probes per second across all workers; 0 turns write probes off. */
  writesPerSec: number;
  /** Worker threads; undefined means "the default" (the CPU count, decided by the run). */
  workers: number | undefined;
  /** The client model, or the first of two measured side by side. */
  connection: ConnectionModel;
  /** Every client model measured ("pool,per-probe": both side by side, one results file each). */
  connections: readonly ConnectionModel[];
  /** A probe slower than this has failed (class `timeout`). */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** The latency SLO: an answer slower than this is degraded service (not downtime); undefined: none. */
  slowMs: number | undefined;
  /** Resolve the target's host through this DNS server (IP:PORT) for every new connection; undefined: the system resolver. */
  dnsServer: string | undefined;
  /** Cap on probes in flight per op; a due probe beyond it is recorded as `dropped`. */
  maxInFlight: number;
  /** The harness's table: a plain identifier, safe to put in SQL unquoted. */
  table: string;
  /** Overrides of the probe statements; undefined means the built-in ones. */
  readSql: string | undefined;
  writeSql: string | undefined;
}

export interface ReportSpec {
  /** Directory for the rendered report; undefined: the results file's path without its extension (reportDirFor). */
  out: string | undefined;
  /** Whether `run` renders the report when it ends. */
  enabled: boolean;
}

export interface ParsedScenario {
  /** Where it came from (a file path, or e.g. "--scenario flags"), for messages. */
  source: string;
  /** The run label; a slug, safe in file names. */
  name: string;
  description: string | undefined;
  db: ScenarioDb;
  /** Several endpoints watched in one run (targets:); undefined: the one target or sandbox endpoint. */
  targets?: ScenarioTarget[];
  durationMs: number;
  load: LoadSpec;
  /** In file order (not sorted by time). */
  actions: ScenarioAction[];
  /** Threshold expressions as written (trimmed), checked by the threshold parser given to parseScenario. */
  thresholds: string[];
  report: ReportSpec;
  /**
   * The results file (NDJSON); undefined: `reports/<name>-<UTC time>.ndjson` (see scenarioOutputs), so that
   * running a scenario again does not collide with the last run's file.
   */
  out: string | undefined;
}

/** One endpoint of targets: a URL (with target:'s credentials) or a server of the sandbox; its own rates. */
export interface ScenarioTarget {
  name: string;
  url?: string;
  sandbox?: 'endpoint' | 'blue' | 'green';
  readsPerSec?: number;
  writesPerSec?: number;
}

/** Hook for the real threshold parser (src/analyze): returns an error message, or undefined when valid. */
export type ThresholdValidator = (text: string) => string | undefined;

export interface ParseScenarioOptions {
  /** Prefix of the error message and `ParsedScenario.source`, usually the file path. */
  source: string;
  validateThreshold?: ThresholdValidator;
}

/** Defaults, in one place: the parser, the JSON Schema and docs/scenarios.md all use these. */
export const SCENARIO_DEFAULTS = {
  readsPerSec: 100,
  writesPerSec: 50,
  connection: 'pool' as ConnectionModel,
  timeoutMs: 2000,
  /** The connect timeout defaults to load.timeout (as `downtime run` does). */
  maxInFlight: 256,
  table: 'downtime_probe',
  reportEnabled: true,
  /** Default results file: `reports/<name>-<UTC time>.ndjson`. */
  outDir: 'reports',
  inPlaceUpgradeOfflineMs: 10_000,
  switchoverMaxLagMs: 1000,
  switchoverTimeoutMs: 60_000,
  /** password.command is re-run this often (RDS IAM tokens live 15 minutes). */
  passwordRefreshMs: 10 * 60_000,
} as const;

/**
 * Limits that catch typos (an extra zero) before they turn into a harness that cannot keep up: the same for
 * flags and scenario files, checked by ./rules.ts.
 */
export const SCENARIO_LIMITS = {
  maxRatePerSec: 100_000,
  maxWorkers: 64,
  maxInFlight: 100_000,
  /** --pool-size (no scenario key yet): connections per op per worker. */
  maxPoolSize: 1000,
  minDurationMs: 1000,
  maxDurationMs: 7 * 24 * 3_600_000,
  /** Probe and connect timeouts: below 10 ms every probe would fail; above an hour is no probe. */
  minTimeoutMs: 10,
  maxTimeoutMs: 3_600_000,
  /** A latency SLO (--slow) finer than a millisecond is below what a round trip over a network can promise. */
  minSlowMs: 1,
  /** A password command re-run (RDS IAM tokens live 15 minutes). */
  minPasswordRefreshMs: 1000,
  maxPasswordRefreshMs: 24 * 3_600_000,
  maxNameLength: 64,
} as const;
