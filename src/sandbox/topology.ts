import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import { wallClockMs } from '../io.js';
import type { EventInput } from '../results/types.js';
import { startProxyThread, type ThreadedProxy } from './endpoint/proxy-thread.js';
import { validateFault, type FaultSpec, type FaultTimes, type ProxyTarget } from './endpoint/proxy.js';
import { startDnsServer, type DnsServer } from './endpoint/dns.js';
import { startServer } from './servers/local-process.js';
import type { MysqlServer } from './servers/types.js';
import { runUpgrade } from './servers/upgrade.js';
import { dialectFor, mariadbDialect, TOPOLOGY_TABLE, type ReplicaStatus, type SqlDialect } from './dialect.js';

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
}

export const APP_USER = 'downtime';
export const APP_DATABASE = 'probe';
export const REPL_USER = 'downtime_repl';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sleeps `ms`, or less if `signal` aborts. */
function sleepUnless(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function replicaStatus(s: SandboxServer, sql: SqlDialect): Promise<ReplicaStatus | null> {
  const rows = await s.rootQuery<Record<string, unknown>[]>(sql.showReplicaStatus());
  return sql.readReplicaStatus(rows[0]);
}

/** Points `replica` at `source` with GTIDs and waits until both replication threads run. */
export async function startReplication(
  source: SandboxServer,
  replica: SandboxServer,
  repl: { user: string; password: string },
  timeoutMs = 20_000,
  sql: SqlDialect = mariadbDialect,
): Promise<void> {
  await replica.rootQuery(
    sql.changeSource({ host: source.host ?? '127.0.0.1', port: source.port, user: repl.user, password: repl.password }),
  );
  await replica.rootQuery(sql.startReplica());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await replicaStatus(replica, sql);
    if (st?.ioRunning === 'Yes' && st.sqlRunning === 'Yes') return;
    if (Date.now() > deadline) {
      throw new DowntimeError(
        `replication from port ${source.port} to ${replica.port} did not start: ${oneLine(st?.lastIoError || st?.lastSqlError || 'threads not running')}`,
        ExitCode.Sandbox,
      );
    }
    await sleep(50);
  }
}

/** Waits until `replica` has applied every transaction `source` has written to its binlog. */
export async function waitCaughtUp(
  source: SandboxServer,
  replica: SandboxServer,
  timeoutMs: number,
  sql: SqlDialect = mariadbDialect,
): Promise<string> {
  const rows = await source.rootQuery<{ pos: string }[]>(sql.gtidPosition());
  const pos = rows[0]?.pos ?? '';
  const res = await replica.rootQuery<{ r: number | null }[]>(sql.waitForGtid(pos, timeoutMs / 1000));
  if (Number(res[0]?.r) !== 0) {
    throw new DowntimeError(
      `the replica on port ${replica.port} did not apply GTID position ${pos} within ${timeoutMs} ms; check ${sql.showReplicaStatus()} on it`,
      ExitCode.Sandbox,
    );
  }
  return pos;
}

/**
 * An emulation of RDS's `mysql.rds_topology` during a blue/green deployment: one row per environment
 * (`id, endpoint, port, role, status, version`), roles BLUE_GREEN_DEPLOYMENT_SOURCE / _TARGET, status
 * AVAILABLE → SWITCHOVER_INITIATED → SWITCHOVER_IN_PROGRESS → SWITCHOVER_IN_POST_PROCESSING →
 * SWITCHOVER_COMPLETED (then only the target row is left), as blue/green-aware drivers poll it.
 * Each server keeps its own copy, written with sql_log_bin=0: a write on green must not enter
 * its binlog (it would fork its GTID history from blue's), and blue's must not replicate over green's.
 */
export { TOPOLOGY_TABLE };
export const TOPOLOGY_STATUSES = [
  'AVAILABLE',
  'SWITCHOVER_INITIATED',
  'SWITCHOVER_IN_PROGRESS',
  'SWITCHOVER_IN_POST_PROCESSING',
  'SWITCHOVER_COMPLETED',
] as const;
export type TopologyStatus = (typeof TOPOLOGY_STATUSES)[number];

export async function createTopologyTable(
  servers: SandboxServer[],
  blue: SandboxServer,
  green: SandboxServer,
  sql: SqlDialect = mariadbDialect,
): Promise<void> {
  const statements = sql.createTopology([
    { id: blue.serverId, endpoint: blue.host ?? '127.0.0.1', port: blue.port, role: 'BLUE_GREEN_DEPLOYMENT_SOURCE' },
    { id: green.serverId, endpoint: green.host ?? '127.0.0.1', port: green.port, role: 'BLUE_GREEN_DEPLOYMENT_TARGET' },
  ]);
  for (const s of servers) {
    for (const statement of statements) await s.rootQuery(statement);
  }
}

/** Sets the status on both servers; returns the error text instead of throwing (the metadata must not abort a step). */
async function setTopologyStatus(
  servers: SandboxServer[],
  status: TopologyStatus,
  sql: SqlDialect,
): Promise<string | null> {
  const statements = [
    ...sql.setTopologyStatus(status),
    ...(status === 'SWITCHOVER_COMPLETED' ? sql.deleteTopologySource() : []),
  ];
  const errors: string[] = [];
  await Promise.all(
    servers.map(async (s) => {
      try {
        for (const statement of statements) await s.rootQuery(statement);
      } catch (err) {
        errors.push(`port ${s.port}: ${oneLine((err as Error).message)}`);
      }
    }),
  );
  return errors.length > 0 ? `${TOPOLOGY_TABLE} not updated to ${status} (${errors.join('; ')})` : null;
}

/**
 * The steps, written once against the SandboxServer/ProxyControl interfaces. The state that matters
 * between steps is which server the endpoint points at and whether green still replicates from blue.
 */
export class StepEngine implements SandboxSteps {
  onEvent: OnSandboxEvent | undefined;

  constructor(
    readonly topology: Topology,
    public blue: SandboxServer,
    public green: SandboxServer | undefined,
    readonly proxy: ProxyControl,
    public active: 'blue' | 'green',
    /** Brings the servers back to the initial topology; returns them (new handles). */
    private readonly resetServers: () => Promise<{ blue: SandboxServer; green?: SandboxServer }>,
    onEvent?: OnSandboxEvent,
    /** Called after a step changed the state (the detached sandbox saves its state file). */
    private readonly onStateChange: () => Promise<void> = async () => undefined,
    /** The servers' SQL (replication, read_only, rds_topology). */
    private readonly sql: SqlDialect = mariadbDialect,
  ) {
    this.onEvent = onEvent;
  }

  private phase(name: string, detail?: Record<string, unknown>): number {
    const atMs = wallClockMs();
    try {
      this.onEvent?.({ atMs, kind: 'phase', name, ...(detail ? { detail } : {}) });
    } catch {
      // A failing listener must not abort a step halfway (e.g. leave blue read-only mid-switchover).
    }
    return atMs;
  }

  private activeServer(): SandboxServer {
    const s = this.active === 'green' ? this.green : this.blue;
    if (s === undefined) throw new DowntimeError('the sandbox has no green server', ExitCode.Sandbox);
    return s;
  }

  private needGreen(step: string): SandboxServer {
    if (this.topology !== 'blue-green' || this.green === undefined) {
      throw new DowntimeError(
        `${step} needs a blue-green sandbox; start it with --topology blue-green`,
        ExitCode.Usage,
      );
    }
    if (this.active === 'green') {
      throw new DowntimeError(
        `${step}: the endpoint already points at green and nothing replicates to it; reset the sandbox first (downtime sandbox reset, or reset() in code)`,
        ExitCode.Sandbox,
      );
    }
    return this.green;
  }

  /**
   * Shut down the server behind the endpoint (graceful or kill -9), keep it down, start it, optionally
   * upgrade. While the process is gone the endpoint refuses connections, as a host with nothing listening.
   */
  private async cycle(how: 'graceful' | 'kill', offlineMs: number, upgrade: boolean): Promise<StepDetail> {
    const server = this.activeServer();
    const shutdownAtMs = this.phase(how === 'kill' ? 'killing' : 'shutting-down', { server: this.active });
    if (how === 'kill') await server.kill();
    else await server.stop();
    await this.proxy.refuse();
    await this.proxy.dropConnections();
    const offlineAtMs = this.phase('offline');
    if (offlineMs > 0) await sleep(offlineMs);
    const startingAtMs = this.phase('starting');
    await server.start();
    await this.proxy.accept();
    const acceptingAtMs = wallClockMs();
    let upgradingAtMs: number | undefined;
    let upgradeMs: number | undefined;
    if (upgrade) {
      upgradingAtMs = this.phase('upgrading');
      upgradeMs = (await runUpgrade(server)).ms;
    }
    const availableAtMs = this.phase('available');
    await this.onStateChange();
    return {
      server: this.active,
      shutdownAtMs,
      offlineAtMs,
      startingAtMs,
      acceptingAtMs,
      ...(upgradingAtMs !== undefined ? { upgradingAtMs, upgradeMs } : {}),
      availableAtMs,
      requestedOfflineMs: offlineMs,
      shutdownMs: offlineAtMs - shutdownAtMs,
      // Process exit to the endpoint accepting connections again: the time a client could not connect.
      offlineMs: acceptingAtMs - offlineAtMs,
    };
  }

  // async, so bad input rejects the promise instead of throwing at the call.
  async inPlaceUpgrade(o: UpgradeOptions): Promise<StepDetail> {
    if (!Number.isFinite(o.offlineMs) || o.offlineMs < 0) {
      throw new DowntimeError(`in-place-upgrade offline must be >= 0 ms (got ${o.offlineMs})`, ExitCode.Usage);
    }
    return this.cycle('graceful', o.offlineMs, true);
  }

  restart(): Promise<StepDetail> {
    return this.cycle('graceful', 0, false);
  }

  killAndStart(): Promise<StepDetail> {
    return this.cycle('kill', 0, false);
  }

  /**
   * Blue/green switchover in RDS's order: guardrails, block writes on blue, drop and refuse clients,
   * wait until green has applied all of blue, repoint, accept, make green writable.
   */
  async switchover(o: SwitchoverOptions = {}): Promise<StepDetail> {
    const maxLagMs = o.maxLagMs ?? 5000;
    const timeoutMs = o.timeoutMs ?? 60_000;
    const green = this.needGreen('switchover');
    const blue = this.blue;
    const hook = async (p: string): Promise<void> => {
      if (o.afterPhase) await o.afterPhase(p);
    };

    const st = await replicaStatus(green, this.sql);
    if (st === null || st.ioRunning !== 'Yes' || st.sqlRunning !== 'Yes') {
      throw new DowntimeError(
        `switchover refused: green's replication is not running (IO ${st?.ioRunning ?? 'none'}, SQL ${st?.sqlRunning ?? 'none'}${st?.lastIoError || st?.lastSqlError ? ': ' + oneLine(st.lastIoError || st.lastSqlError || '') : ''})`,
        ExitCode.Sandbox,
      );
    }
    const lagS = st.lagS;
    if (lagS === null || lagS === undefined || lagS * 1000 > maxLagMs) {
      throw new DowntimeError(
        `switchover refused: green is ${lagS ?? 'an unknown number of'} s behind blue, more than the ${maxLagMs} ms allowed`,
        ExitCode.Sandbox,
      );
    }

    const both = [blue, green];
    const topologyErrors: string[] = [];
    const topology = async (status: TopologyStatus): Promise<void> => {
      const e = await setTopologyStatus(both, status, this.sql);
      if (e !== null) topologyErrors.push(e);
    };
    const initiatedAtMs = this.phase('SWITCHOVER_INITIATED', { lagS });
    await topology('SWITCHOVER_INITIATED');
    await hook('SWITCHOVER_INITIATED');
    await blue.rootQuery(this.sql.setReadOnly(true));
    const writesBlockedAtMs = this.phase('SWITCHOVER_IN_PROGRESS');
    await topology('SWITCHOVER_IN_PROGRESS');
    await hook('SWITCHOVER_IN_PROGRESS');
    if ((o.blockWritesMs ?? 0) > 0) await sleep(o.blockWritesMs ?? 0);
    await this.proxy.refuse();
    await this.proxy.dropConnections();
    const connectionsDroppedAtMs = wallClockMs();
    let gtidPos: string;
    try {
      gtidPos = await waitCaughtUp(blue, green, timeoutMs, this.sql);
    } catch (err) {
      // Roll back as RDS does when a switchover times out: blue takes writes again.
      await blue.rootQuery(this.sql.setReadOnly(false));
      await this.proxy.accept();
      this.phase('SWITCHOVER_ROLLED_BACK', { reason: oneLine((err as Error).message) });
      await topology('AVAILABLE');
      throw err;
    }
    const caughtUpAtMs = wallClockMs();
    const renameLeftMs = connectionsDroppedAtMs + (o.renameMs ?? 0) - wallClockMs();
    if (renameLeftMs > 0) await sleep(renameLeftMs);
    await this.proxy.setTarget(addressOf(green));
    await this.proxy.accept();
    const acceptingAtMs = wallClockMs();
    await this.promote(green);
    const greenWritableAtMs = this.phase('SWITCHOVER_IN_POST_PROCESSING');
    await topology('SWITCHOVER_IN_POST_PROCESSING');
    await hook('SWITCHOVER_IN_POST_PROCESSING');
    await this.onStateChange();
    // Blue stays read-only and nothing replicates from it any more: it is the old environment.
    const completedAtMs = this.phase('SWITCHOVER_COMPLETED');
    await topology('SWITCHOVER_COMPLETED');
    return {
      initiatedAtMs,
      writesBlockedAtMs,
      connectionsDroppedAtMs,
      caughtUpAtMs,
      acceptingAtMs,
      greenWritableAtMs,
      completedAtMs,
      gtidPos,
      lagS,
      writeBlockMs: greenWritableAtMs - writesBlockedAtMs,
      refusedMs: acceptingAtMs - connectionsDroppedAtMs,
      ...(topologyErrors.length > 0 ? { topologyErrors } : {}),
    };
  }

  /** Green becomes the primary: no longer a replica, writable, behind the endpoint. */
  private async promote(green: SandboxServer): Promise<void> {
    await green.rootQuery(this.sql.stopReplica());
    await green.rootQuery(this.sql.resetReplica());
    await green.rootQuery(this.sql.setReadOnly(false));
    this.active = 'green';
  }

  /** Unplanned failover: the endpoint moves to green at once, without waiting for it to catch up. */
  async failover(): Promise<StepDetail> {
    const green = this.needGreen('failover');
    const startedAtMs = this.phase('failover-started');
    await this.proxy.refuse();
    await this.proxy.dropConnections();
    await this.proxy.setTarget(addressOf(green));
    await this.proxy.accept();
    const acceptingAtMs = wallClockMs();
    await this.promote(green);
    // The old primary may still take writes from anyone who reaches it directly; clients do not.
    try {
      await this.blue.rootQuery(this.sql.setReadOnly(true));
    } catch {
      // blue may be down (failover after a kill): nothing to fence
    }
    const availableAtMs = this.phase('available', { server: 'green' });
    await this.onStateChange();
    return { startedAtMs, acceptingAtMs, availableAtMs, switchMs: availableAtMs - startedAtMs };
  }

  /**
   * A network fault at the endpoint proxy for a while. The `fault` event's atMs and endMs are taken where
   * the proxy applies the fault (listener closed, connections reset, filter on/off), not when asked, so
   * they are what the measured outage is compared against. The fault always ends, even if this throws.
   */
  async fault(o: FaultStepOptions): Promise<StepDetail> {
    const { durationMs, signal, ...rest } = o;
    const spec = validateFault(rest as FaultSpec);
    if (!Number.isFinite(durationMs) || durationMs <= 0) {
      throw new DowntimeError(`fault duration must be > 0 ms (got ${durationMs})`, ExitCode.Usage);
    }
    const { atMs } = await this.proxy.fault(spec);
    let times: FaultTimes | null = null;
    try {
      await sleepUnless(durationMs - (wallClockMs() - atMs), signal);
    } finally {
      times = await this.proxy.clearFault();
    }
    const endMs = times?.endMs ?? wallClockMs();
    const { kind, ...options } = spec;
    const detail = { ...options, requestedDurationMs: durationMs, durationMs: endMs - atMs };
    try {
      this.onEvent?.({ atMs, endMs, kind: 'fault', name: kind, detail });
    } catch {
      // a failing listener does not make the fault step fail: the fault has ended either way
    }
    return { fault: kind, faultAtMs: atMs, faultEndMs: endMs, ...detail };
  }

  async reset(): Promise<StepDetail> {
    const startedAtMs = wallClockMs();
    await this.proxy.refuse();
    await this.proxy.dropConnections();
    const servers = await this.resetServers();
    this.blue = servers.blue;
    this.green = servers.green;
    this.active = 'blue';
    await this.proxy.setTarget(addressOf(this.blue));
    await this.proxy.accept();
    const availableAtMs = this.phase('reset');
    await this.onStateChange();
    return { startedAtMs, availableAtMs, resetMs: availableAtMs - startedAtMs };
  }
}

/** Where a server listens, for the endpoint to point at. */
function addressOf(s: SandboxServer): ProxyTarget {
  return { host: s.host ?? '127.0.0.1', port: s.port };
}

/** The name the dns-mode endpoint is served under (.test: RFC 2606, never a real name). */
export const DNS_ENDPOINT_NAME = 'db.sandbox.test';
/** Green's address in dns mode: all of 127.0.0.0/8 is loopback on Linux. */
export const GREEN_DNS_HOST = '127.0.0.2';

/**
 * The endpoint as RDS moves it: by DNS. The steps' proxy operations mean, without a proxy: setTarget —
 * point the name at that server's address (clients follow when they next resolve it, within the TTL);
 * dropConnections — kill the application's connections on the server the name points at (RDS drops
 * them on the old instance); refuse/accept — nothing (a name has no listener to close: clients that
 * reconnect meanwhile reach the old instance, read-only during a switchover). Network faults need the proxy.
 */
export class DnsEndpoint implements ProxyControl {
  private target: ProxyTarget;

  constructor(
    private readonly dns: DnsServer,
    readonly name: string,
    initial: SandboxServer,
    /** The server listening at an address (for dropConnections). */
    private readonly serverAt: (t: ProxyTarget) => SandboxServer | undefined,
    private readonly sql: SqlDialect = mariadbDialect,
  ) {
    this.target = addressOf(initial);
  }

  get port(): number {
    return this.target.port;
  }

  async setTarget(t: ProxyTarget): Promise<void> {
    this.target = t;
    await this.dns.set(this.name, t.host);
  }

  async refuse(): Promise<void> {}

  async accept(): Promise<void> {}

  async dropConnections(): Promise<void> {
    const server = this.serverAt(this.target);
    if (server === undefined) return;
    try {
      const rows = await server.rootQuery<{ id: number }[]>(this.sql.listSessions(APP_USER));
      for (const r of rows) {
        try {
          await server.rootQuery(this.sql.killSession(r.id));
        } catch {
          // gone already
        }
      }
    } catch {
      // the server is down (a restart step): nothing to drop
    }
  }

  fault(): Promise<{ atMs: number }> {
    return Promise.reject(
      new DowntimeError(
        'network faults need the endpoint proxy; start the sandbox without endpoint: dns (DNS faults: sandbox.dns.fault())',
        ExitCode.Usage,
      ),
    );
  }

  clearFault(): Promise<FaultTimes | null> {
    return Promise.resolve(null);
  }
}

export function randomPassword(): string {
  return 'pw-' + randomBytes(12).toString('base64url');
}

export interface Credentials {
  appPassword: string;
  replPassword: string;
}

/**
 * Starts blue (and green as its replica) from scratch in `dir`, with the replication and app users.
 * The users are made on blue after replication runs, so green gets them through the binlog; the app
 * user has privileges on its database only (no SUPER, no READ ONLY ADMIN): read_only applies to it.
 */
export async function buildServers(
  topology: Topology,
  dir: string,
  creds: Credentials,
  ports: { blue?: number; green?: number } = {},
  detached = false,
  /** Loopback addresses (default 127.0.0.1); a green with its own address shares blue's port unless given one. */
  hosts: { blue?: string; green?: string } = {},
): Promise<{ blue: MysqlServer; green?: MysqlServer }> {
  const blue = await startServer({
    baseDir: dir,
    name: 'blue',
    serverId: 1,
    binlog: true,
    ...(hosts.blue !== undefined ? { host: hosts.blue } : {}),
    ...(ports.blue !== undefined ? { port: ports.blue } : {}),
    ...(detached ? { detached } : {}),
  });
  let green: MysqlServer | undefined;
  const dialect = dialectFor(blue.flavor);
  try {
    if (topology === 'blue-green' && blue.flavor !== 'mariadb') {
      // The replication and catch-up statements below are MariaDB's (MASTER_USE_GTID, MASTER_GTID_WAIT).
      throw new DowntimeError(
        'the blue-green sandbox needs MariaDB (found MySQL binaries); use --topology single, or put mariadbd on PATH',
        ExitCode.Sandbox,
      );
    }
    if (topology === 'blue-green') {
      for (const sql of dialect.createReplicationUser(REPL_USER, creds.replPassword)) await blue.rootQuery(sql);
      green = await startServer({
        baseDir: dir,
        name: 'green',
        serverId: 2,
        binlog: true,
        readOnly: true,
        ...(hosts.green !== undefined ? { host: hosts.green } : {}),
        ...(ports.green !== undefined
          ? { port: ports.green }
          : hosts.green !== undefined && hosts.green !== (hosts.blue ?? '127.0.0.1')
            ? { port: blue.port }
            : {}),
        ...(detached ? { detached } : {}),
      });
      await startReplication(blue, green, { user: REPL_USER, password: creds.replPassword }, 20_000, dialect);
    }
    if (green) await createTopologyTable([blue, green], blue, green, dialect);
    await blue.createUser(APP_USER, creds.appPassword, APP_DATABASE);
    if (green) {
      // As RDS's rds_topology_role: the app user may read the topology (granted on blue, replicated).
      for (const sql of dialect.grantTopologyRead(APP_USER)) await blue.rootQuery(sql);
      await waitCaughtUp(blue, green, 20_000, dialect);
    }
  } catch (err) {
    await green?.destroy();
    await blue.destroy();
    throw err;
  }
  return green ? { blue, green } : { blue };
}

/** A sandbox's step methods, delegated to its engine: the same for in-process and detached sandboxes. */
export function engineSteps(engine: StepEngine): SandboxSteps & { setOnEvent(fn: OnSandboxEvent | undefined): void } {
  return {
    setOnEvent: (fn) => {
      engine.onEvent = fn;
    },
    inPlaceUpgrade: (o) => engine.inPlaceUpgrade(o),
    switchover: (o) => engine.switchover(o),
    restart: () => engine.restart(),
    killAndStart: () => engine.killAndStart(),
    failover: () => engine.failover(),
    reset: () => engine.reset(),
    fault: (o) => engine.fault(o),
  };
}

/** Starts a sandbox from this process: servers, replication, users and the endpoint proxy (in a thread of its own). */
export async function startSandbox(opts: StartSandboxOptions): Promise<Sandbox> {
  if (opts.topology !== 'single' && opts.topology !== 'blue-green') {
    throw new DowntimeError(`topology must be single or blue-green (got "${String(opts.topology)}")`, ExitCode.Usage);
  }
  const mode = opts.endpoint ?? 'proxy';
  if (mode !== 'proxy' && mode !== 'dns') {
    throw new DowntimeError(`endpoint must be proxy or dns (got "${String(mode)}")`, ExitCode.Usage);
  }
  const base = opts.basePort;
  if (base !== undefined && (!Number.isInteger(base) || base < 1 || base > 65533)) {
    throw new DowntimeError(`basePort must be an integer from 1 to 65533 (got ${base})`, ExitCode.Usage);
  }
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'downtime-sandbox-'));
  mkdirSync(dir, { recursive: true });
  const creds: Credentials = { appPassword: randomPassword(), replPassword: randomPassword() };
  const proxyPort = opts.proxyPort ?? base;
  // dns mode: green on its own loopback address, on blue's port (buildServers), as two RDS instances.
  const hosts = mode === 'dns' ? { blue: '127.0.0.1', green: GREEN_DNS_HOST } : {};
  let servers: { blue: MysqlServer; green?: MysqlServer };
  try {
    servers = await buildServers(
      opts.topology,
      dir,
      creds,
      base === undefined
        ? {}
        : { blue: base + 1, ...(opts.topology === 'blue-green' && mode === 'proxy' ? { green: base + 2 } : {}) },
      false,
      hosts,
    );
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const destroyServers = async (): Promise<void> => {
    await servers.green?.destroy();
    await servers.blue.destroy();
  };
  let proxy: ThreadedProxy | undefined;
  let dns: DnsServer | undefined;
  let control: ProxyControl;
  try {
    if (mode === 'dns') {
      dns = await startDnsServer({ ttlS: opts.dnsTtlS ?? 1 });
      control = new DnsEndpoint(dns, DNS_ENDPOINT_NAME, servers.blue, (t) =>
        [servers.blue, servers.green].find((x) => x !== undefined && addressOf(x).host === t.host),
      );
      await control.setTarget(addressOf(servers.blue));
    } else {
      // In a thread of its own: the harness's main thread (results file, actions) must not hold up the
      // bytes it carries or the faults it applies.
      proxy = await startProxyThread({
        target: { host: '127.0.0.1', port: servers.blue.port },
        ...(proxyPort !== undefined ? { port: proxyPort } : {}),
      });
      control = proxy;
    }
  } catch (err) {
    await dns?.close();
    await destroyServers();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const ports = { blue: servers.blue.port, ...(servers.green ? { green: servers.green.port } : {}) };
  const reset = async (): Promise<{ blue: MysqlServer; green?: MysqlServer }> => {
    await destroyServers();
    servers = await buildServers(opts.topology, dir, creds, ports, false, hosts);
    return servers;
  };
  const engine = new StepEngine(opts.topology, servers.blue, servers.green, control, 'blue', reset, opts.onEvent);
  const endpointHost = mode === 'dns' ? DNS_ENDPOINT_NAME : '127.0.0.1';
  const endpoint: SandboxEndpoint = {
    url: `mysql://${APP_USER}@${endpointHost}:${control.port}/${APP_DATABASE}`,
    host: endpointHost,
    port: control.port,
    user: APP_USER,
    password: creds.appPassword,
    database: APP_DATABASE,
    ...(dns !== undefined ? { dnsServer: dns.address } : {}),
  };
  return {
    topology: opts.topology,
    endpoint,
    get blue() {
      return servers.blue;
    },
    get green() {
      return servers.green;
    },
    get active() {
      return engine.active;
    },
    proxy: control,
    ...(dns !== undefined ? { dns } : {}),
    ...engineSteps(engine),
    async stop() {
      await proxy?.close();
      await dns?.close();
      await destroyServers();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
