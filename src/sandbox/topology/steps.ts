import { sleep } from '../../util/sleep.js';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import { wallClockMs } from '../../io.js';
import { mariadbDialect, type ReplicaStatus, type SqlDialect } from '../dialect.js';
import { validateFault, type FaultSpec, type FaultTimes } from '../endpoint/proxy.js';
import { runUpgrade } from '../servers/upgrade.js';
import { parseVersionLine, versionName } from '../versions.js';
import { setTopologyStatus, type TopologyStatus } from './rds-topology.js';
import { promote, replicaStatus, waitCaughtUp } from './replication.js';
import {
  addressOf,
  type FaultStepOptions,
  type OnSandboxEvent,
  type ProxyControl,
  type SandboxServer,
  type SandboxSteps,
  type StepDetail,
  type SwitchoverOptions,
  type Topology,
  type UpgradeOptions,
} from './types.js';

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

/**
 * A switchover's guardrails, checked before anything changes: green's replication runs and its lag is
 * known and within `maxLagMs`. Returns the lag, seconds.
 */
function switchoverGuardrails(st: ReplicaStatus | null, maxLagMs: number): number {
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
  return lagS;
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
    // As RDS before an engine upgrade: a slow shutdown, so the new version starts on clean data files
    // (InnoDB purged and merged everything; no redo to apply).
    if (upgrade) await server.rootQuery('SET GLOBAL innodb_fast_shutdown = 0');
    const shutdownAtMs = this.phase(how === 'kill' ? 'killing' : upgrade ? 'slow-shutdown' : 'shutting-down', {
      server: this.active,
    });
    if (how === 'kill') await server.kill();
    else await server.stop();
    await this.proxy.refuse();
    await this.proxy.dropConnections();
    const offlineAtMs = this.phase('offline');
    // The binary swap: the next start runs the new version on the same data (when the sandbox has one).
    const versions = upgrade && server.switchVersion ? await server.switchVersion() : undefined;
    const switched = versions !== undefined && versions.from !== versions.to;
    if (switched) this.phase('new-version', { from: shortVersion(versions.from), to: shortVersion(versions.to) });
    if (offlineMs > 0) await sleep(offlineMs);
    const startingAtMs = this.phase('starting');
    await server.start();
    await this.proxy.accept();
    const acceptingAtMs = wallClockMs();
    let upgradingAtMs: number | undefined;
    let upgradeMs: number | undefined;
    let upgradeTool: string | undefined;
    if (upgrade) {
      upgradingAtMs = this.phase('upgrading');
      const done = server.runUpgrade ? await server.runUpgrade() : await runUpgrade(server);
      upgradeMs = done.ms;
      upgradeTool = done.tool;
    }
    const availableAtMs = this.phase('available');
    await this.onStateChange();
    return {
      server: this.active,
      shutdownAtMs,
      offlineAtMs,
      startingAtMs,
      acceptingAtMs,
      ...(upgradingAtMs !== undefined ? { upgradingAtMs, upgradeMs, upgradeTool } : {}),
      ...(versions !== undefined
        ? { fromVersion: shortVersion(versions.from), toVersion: shortVersion(versions.to) }
        : {}),
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

    const lagS = switchoverGuardrails(await replicaStatus(green, this.sql), maxLagMs);

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
    await promote(green, this.sql);
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

/** "mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 for …" → "MariaDB 10.11.18"; anything else as it is. */
function shortVersion(line: string): string {
  const v = parseVersionLine(line);
  return v === undefined ? line : versionName(v);
}
