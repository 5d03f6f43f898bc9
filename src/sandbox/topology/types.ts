/**
 * The sandbox's shapes: what the steps need of a server and of the endpoint, the steps themselves, and a
 * started sandbox — the same for an in-process sandbox and one started by `downtime sandbox up`.
 */
import type { EventInput } from '../../results/types.js';
import type { DnsServer } from '../endpoint/dns.js';
import type { FaultSpec, FaultTimes, ProxyTarget } from '../endpoint/proxy.js';
import type { ServerProvider } from '../servers/types.js';

export type Topology = 'single' | 'blue-green';
export type SandboxEvent = EventInput;
export type OnSandboxEvent = (e: SandboxEvent) => void;

/** What the steps need of a server: satisfied by an in-process MysqlServer and by a detached one. */
export interface SandboxServer {
  /** The loopback address it listens on (default 127.0.0.1). */
  readonly host?: string;
  readonly port: number;
  readonly serverId: number;
  readonly pid: number | null;
  rootQuery<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  stop(timeoutMs?: number): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
  /** What runs now (the server's `--version` line), when known. */
  readonly version?: string;
  /** Stopped: switch to the version an in-place upgrade goes to (MysqlServer.switchVersion). */
  switchVersion?(): Promise<{ from: string; to: string }>;
  /** The running version's upgrade step; absent: the tool on PATH. */
  runUpgrade?(): Promise<{ tool: string; ms: number }>;
}

/** What the steps need of the endpoint proxy: the proxy thread of an in-process sandbox, or the control channel of a detached one. */
export interface ProxyControl {
  readonly port: number;
  setTarget(t: ProxyTarget): void | Promise<void>;
  refuse(): Promise<void>;
  accept(): Promise<void>;
  dropConnections(): void | Promise<void>;
  /** Starts a fault (ending any active one); resolves once it is in force, with that moment. */
  fault(spec: FaultSpec): Promise<{ atMs: number }>;
  /** Ends the active fault: its true start and end, or null if none was active. */
  clearFault(): Promise<FaultTimes | null>;
}

/** A fault for a while: `sandbox.fault({ kind: 'blackhole', durationMs: 2000 })`. */
export type FaultStepOptions = FaultSpec & {
  /** How long the fault stays in force. */
  durationMs: number;
  /** Ends the fault early (the run ended). */
  signal?: AbortSignal;
};

export interface SandboxEndpoint {
  /** mysql://downtime@127.0.0.1:PORT/probe (dns mode: mysql://downtime@db.sandbox.test:PORT/probe) — never the password. */
  url: string;
  /** 127.0.0.1 (the proxy), or the name the sandbox's DNS server answers for (dns mode). */
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** dns mode: resolve `host` through this DNS server (IP:PORT), as `--dns-server` / RunOptions.dnsServer. */
  dnsServer?: string;
}

export interface UpgradeOptions {
  /** How long the server stays down between shutdown and start (stands for the binary swap). */
  offlineMs: number;
}

export interface SwitchoverOptions {
  /** Guardrail: refuse to start when the replica is further behind (default 5000). */
  maxLagMs?: number;
  /** How long to wait for green to apply everything blue committed (default 60000). */
  timeoutMs?: number;
  /**
   * Extra time writes stay blocked on blue before client connections are dropped (default 0). Locally the
   * switchover's own work takes milliseconds; RDS's takes tens of seconds: this stands for it in a rehearsal.
   */
  blockWritesMs?: number;
  /** At least this long the endpoint refuses connections once they are dropped (RDS renaming; default 0). */
  renameMs?: number;
  /** Test hook: awaited right after each phase is emitted, before the next action. */
  afterPhase?: (phase: string) => Promise<void> | void;
}

/** Measured timings of a step, for the detail of the action's end event. Epoch ms. */
export type StepDetail = Record<string, unknown>;

/** The timed steps, the same for an in-process sandbox and one started by `downtime sandbox up`. */
export interface SandboxSteps {
  inPlaceUpgrade(o: UpgradeOptions): Promise<StepDetail>;
  switchover(o?: SwitchoverOptions): Promise<StepDetail>;
  restart(): Promise<StepDetail>;
  killAndStart(): Promise<StepDetail>;
  failover(): Promise<StepDetail>;
  reset(): Promise<StepDetail>;
  /** Applies a network fault at the endpoint for `durationMs`, then ends it; records a `fault` event. */
  fault(o: FaultStepOptions): Promise<StepDetail>;
}

export interface Sandbox extends SandboxSteps {
  readonly topology: Topology;
  readonly endpoint: SandboxEndpoint;
  readonly blue: SandboxServer;
  readonly green?: SandboxServer;
  /** The server the endpoint points at now (blue until a switchover or failover). */
  readonly active: 'blue' | 'green';
  readonly proxy: ProxyControl;
  /** dns mode: the DNS server the endpoint name is served by. */
  readonly dns?: DnsServer;
  setOnEvent(fn: OnSandboxEvent | undefined): void;
  /** Everything down; the directory removed unless it was given. */
  stop(): Promise<void>;
}

export interface StartSandboxOptions {
  topology: Topology;
  /** Directory for the servers (kept on stop); default a temp dir (removed on stop). */
  dir?: string;
  /** Fixed ports: the endpoint on basePort, blue on basePort+1, green on basePort+2 (default: free ones). */
  basePort?: number;
  /** The endpoint's port alone (overrides basePort for the endpoint). */
  proxyPort?: number;
  /**
   * `proxy` (default): the endpoint is the proxy on 127.0.0.1, re-pointed by the steps. `dns`: no proxy;
   * blue listens on 127.0.0.1 and green on 127.0.0.2 (the same port), and the endpoint is the name
   * `db.sandbox.test` served by the sandbox's DNS server, which the steps re-point (DnsEndpoint). In-process only.
   */
  endpoint?: 'proxy' | 'dns';
  /** dns mode: TTL of the endpoint's record, seconds (default 1). */
  dnsTtlS?: number;
  onEvent?: OnSandboxEvent;
  /**
   * The servers: `from` (blue, the single server) and `to` (green; what an in-place upgrade switches to), each
   * a ServerProvider (sandbox/providers.ts resolves `mariadb:11.8`, `/opt/mysql-8.4.3`, `path`). Default: the
   * binaries on PATH for both.
   */
  servers?: { from?: ServerProvider; to?: ServerProvider };
}

/** Where a server listens, for the endpoint to point at. */
export function addressOf(s: SandboxServer): ProxyTarget {
  return { host: s.host ?? '127.0.0.1', port: s.port };
}
