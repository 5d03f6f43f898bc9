import { sleep } from '../../util/sleep.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import mysql from 'mysql2/promise';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import type { MysqlServer, ServerProvider, VersionSwitch } from '../servers/types.js';
import type { ServerVersion } from '../versions.js';
import { dialectFor } from '../dialect.js';
import { RootConnection } from '../servers/root-connection.js';
import { DATA_DIR, SOCKET, initCommand, serverBinary, serverCommand, upgradeCommand } from './command.js';
import { ownLabels, type ContainerEngine } from './engine.js';

/** A provider of containers (provider.ts): what an in-place upgrade can switch a container to. */
function isContainerProvider(p: ServerProvider): p is ServerProvider & { image: string; version: ServerVersion } {
  return 'image' in p && 'version' in p && 'engine' in p;
}

/** Initialising a data directory in a one-shot container: seconds normally, bounded. */
const INIT_TIMEOUT_MS = 180_000;
/** mariadb-upgrade on a small data directory takes 2–4 s; bounded generously. */
const UPGRADE_TIMEOUT_MS = 300_000;

export interface ContainerServerOptions {
  engine: ContainerEngine;
  /** The sandbox's id: in every container's and volume's name and labels (the sweep finds them by it). */
  sandboxId: string;
  /** blue, green, … */
  name: string;
  image: string;
  /** What the image runs (read before: containers/images.ts). */
  version: ServerVersion;
  port: number;
  /** Loopback address to listen on (default 127.0.0.1); the container shares the host's network. */
  host?: string;
  serverId: number;
  binlog: boolean;
  readOnly: boolean;
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /** The provider an in-place upgrade switches to (another image). */
  upgradeTo?: ServerProvider;
}

/**
 * A MySQL/MariaDB server in a container: host network (it listens on the host's loopback, never on other
 * interfaces), its data in a named volume that outlives the container, so that stopping one container and
 * starting another image on the same volume is an in-place upgrade. Runs as root inside the container
 * (`--user=root`): the volume's files are then readable by any image, whatever uid its mysql user has.
 * Same contract as a local process (MysqlServer), so topologies and steps use either.
 */
export class ContainerServer implements MysqlServer {
  readonly flavor: 'mariadb' | 'mysql';
  readonly host: string;
  readonly port: number;
  readonly serverId: number;
  /** A scratch directory on the host (nothing of the server's lives there). */
  readonly dir: string;
  readonly volume: string;
  private container: Docker.Container | null = null;
  private image: string;
  private serverVersion: ServerVersion;
  private readonly root: RootConnection;
  private pausing: Promise<unknown> = Promise.resolve();
  /** The server's exit code at its last stop (0: a clean shutdown), null before any. */
  lastExitCode: number | null = null;

  private constructor(private readonly o: ContainerServerOptions) {
    this.flavor = o.version.flavor;
    this.host = o.host ?? '127.0.0.1';
    this.port = o.port;
    this.serverId = o.serverId;
    this.image = o.image;
    this.serverVersion = o.version;
    this.volume = `downtime-${o.sandboxId}-${o.name}`;
    this.dir = mkdtempSync(join(tmpdir(), `downtime-container-${o.name}-`));
    this.root = new RootConnection({
      host: this.host,
      port: this.port,
      user: 'root',
      connectTimeout: 5000,
      multipleStatements: true,
    });
  }

  /** Makes the volume, initialises a data directory in it, and starts the server; cleans up if that fails. */
  static async start(o: ContainerServerOptions): Promise<ContainerServer> {
    const s = new ContainerServer(o);
    try {
      await o.engine.createVolume(s.volume, ownLabels(o.sandboxId));
      await s.initialise();
      await s.start();
      if (s.flavor === 'mysql') await s.allowRootOverTcp();
      return s;
    } catch (err) {
      await s.destroy().catch(() => undefined);
      throw err;
    }
  }

  get containerName(): string {
    return this.volume;
  }

  get pid(): number | null {
    return null;
  }

  get dataDir(): string {
    return `${this.volume}:${DATA_DIR}`;
  }

  get binary(): string {
    return this.image;
  }

  get args(): string[] {
    return this.serverArgs();
  }

  /** The image it runs now, and what that image is. */
  get running(): { image: string; version: ServerVersion } {
    return { image: this.image, version: this.serverVersion };
  }

  get version(): string {
    return this.serverVersion.line;
  }

  async switchVersion(): Promise<VersionSwitch> {
    const from = this.serverVersion.line;
    const to = this.o.upgradeTo;
    if (to === undefined) return { from, to: from };
    if (!isContainerProvider(to)) {
      throw new DowntimeError(
        `cannot upgrade the container of ${this.image} to ${to.name}: in place, the new version must be an image too`,
        ExitCode.Usage,
      );
    }
    this.switchImage(to.image, to.version);
    return { from, to: to.version.line };
  }

  private labels(): Record<string, string> {
    return ownLabels(this.o.sandboxId);
  }

  private async initialise(): Promise<void> {
    const { entrypoint, cmd } = initCommand(this.serverVersion);
    const r = await this.o.engine.runOnce(
      {
        name: `${this.volume}-init`,
        image: this.image,
        entrypoint,
        cmd,
        labels: this.labels(),
        binds: [`${this.volume}:${DATA_DIR}`],
      },
      INIT_TIMEOUT_MS,
    );
    if (r.exitCode !== 0) {
      throw new DowntimeError(
        `could not initialise a data directory in ${this.image} (${entrypoint[0]} exited ${r.exitCode}): ${lastLine(r.stderr || r.stdout)}`,
        ExitCode.Sandbox,
      );
    }
  }

  private serverArgs(): string[] {
    const o = this.o;
    return serverCommand(this.serverVersion, {
      host: this.host,
      port: this.port,
      serverId: this.serverId,
      binlog: o.binlog,
      readOnly: o.readOnly,
      ...(o.extraArgs !== undefined ? { extraArgs: o.extraArgs } : {}),
    });
  }

  isRunning(): boolean {
    return this.container !== null;
  }

  /** Starts a container of the current image on the volume; resolves once it answers as root. */
  async start(): Promise<void> {
    if (this.container !== null) return;
    this.container = await this.o.engine.run({
      name: this.containerName,
      image: this.image,
      entrypoint: [serverBinary(this.serverVersion)],
      cmd: this.serverArgs(),
      labels: this.labels(),
      binds: [`${this.volume}:${DATA_DIR}`],
    });
    await this.waitReady(this.container);
  }

  private async waitReady(container: Docker.Container): Promise<void> {
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 120_000);
    for (;;) {
      try {
        const c = await mysql.createConnection({
          host: this.host,
          port: this.port,
          user: 'root',
          connectTimeout: 1000,
        });
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch {
        const state = await container.inspect().then(
          (i) => i.State,
          () => null,
        );
        if (state === null || !state.Running) {
          const log = await this.logTail(container);
          await this.removeContainer();
          throw new DowntimeError(
            `the ${this.o.name} server (${this.image}) exited while starting${state ? ` with ${state.ExitCode}` : ''}: ${log}`,
            ExitCode.Sandbox,
          );
        }
        if (Date.now() > deadline) {
          const log = await this.logTail(container);
          throw new DowntimeError(
            `the ${this.o.name} server (${this.image}) did not accept connections on ${this.host}:${this.port} within ${this.o.readyTimeoutMs ?? 120_000} ms: ${log}`,
            ExitCode.Sandbox,
          );
        }
        await sleep(50);
      }
    }
  }

  private async logTail(container: Docker.Container): Promise<string> {
    const { stdout, stderr } = await this.o.engine.logs(container, 20);
    const lines = `${stderr}\n${stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /error|fatal|abort|bind|permission|cannot|unknown/i.test(l));
    return oneLine(lines.slice(-3).join(' | ')) || 'no error in its log';
  }

  /** MySQL's initialize-insecure makes root@localhost only: the sandbox talks to it over TCP on loopback. */
  private async allowRootOverTcp(): Promise<void> {
    const sql = `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;`;
    await this.exec(['mysql', '--no-defaults', `--socket=${SOCKET}`, '-uroot', '-e', sql], 'grant root over TCP');
  }

  /** Runs a command in the server's container; a non-zero exit is a one-line error. */
  async exec(cmd: string[], what: string, timeoutMs = 60_000): Promise<string> {
    if (this.container === null) {
      throw new DowntimeError(`cannot ${what}: the ${this.o.name} server is not running`, ExitCode.Sandbox);
    }
    const r = await this.o.engine.exec(this.container, cmd, timeoutMs);
    if (r.exitCode !== 0) {
      throw new DowntimeError(
        `${what} failed in ${this.image} (${cmd[0]} exited ${r.exitCode}): ${lastLine(r.stderr || r.stdout)}`,
        ExitCode.Sandbox,
      );
    }
    return r.stdout;
  }

  rootQuery<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
    return this.root.query<T>(sql, params);
  }

  /** The application user, with the same statements a local server uses (dialect.ts). */
  async createUser(user: string, password: string, database: string): Promise<void> {
    for (const sql of dialectFor(this.flavor).createAppUser(user, password, database)) await this.rootQuery(sql);
  }

  disconnect(): void {
    this.root.close();
  }

  /**
   * Graceful shutdown (SIGTERM to the server, SIGKILL after `timeoutMs`); the container goes, the volume stays.
   * Resolves with the server's exit code (0: a clean shutdown).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.root.close();
    const c = this.container;
    if (c === null) return;
    await this.pausing;
    await c.unpause().catch(() => undefined);
    await c.stop({ t: Math.ceil(timeoutMs / 1000) }).catch(() => undefined);
    this.lastExitCode = await c.inspect().then(
      (i) => i.State.ExitCode,
      () => null,
    );
    await this.removeContainer();
  }

  async kill(): Promise<void> {
    this.root.close();
    const c = this.container;
    if (c === null) return;
    await this.pausing;
    await c.unpause().catch(() => undefined);
    await c.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    await this.removeContainer();
  }

  private async removeContainer(): Promise<void> {
    const c = this.container;
    this.container = null;
    if (c !== null) await c.remove({ force: true }).catch(() => undefined);
  }

  /** Freezes the server (the engine's cgroup freezer, like SIGSTOP): connections hang, nothing is refused. */
  pause(): void {
    const c = this.container;
    if (c !== null) this.pausing = c.pause().catch(() => undefined);
  }

  resume(): void {
    const c = this.container;
    if (c !== null) this.pausing = this.pausing.then(() => c.unpause().catch(() => undefined));
  }

  /**
   * The next start runs another image on the same data (an in-place upgrade): the server must be stopped.
   */
  switchImage(image: string, version: ServerVersion): void {
    if (this.container !== null) throw new Error('switchImage: stop the server first');
    this.image = image;
    this.serverVersion = version;
  }

  /**
   * The new version's upgrade step, with its own tool inside its container: mariadb-upgrade for MariaDB;
   * nothing for MySQL ≥ 8.0.16, which upgrades its data dictionary and system tables itself at start.
   */
  async runUpgrade(): Promise<{ tool: string; ms: number }> {
    const started = Date.now();
    const cmd = upgradeCommand(this.serverVersion);
    if (cmd === null) return { tool: 'none (mysqld upgrades at startup)', ms: 0 };
    await this.exec(cmd, cmd[0] as string, UPGRADE_TIMEOUT_MS);
    return { tool: cmd[0] as string, ms: Date.now() - started };
  }

  /** Stops the server and removes its container and volume. */
  async destroy(): Promise<void> {
    await this.stop(10_000).catch(() => undefined);
    await this.removeContainer();
    await this.o.engine.removeVolume(this.volume).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  errorLogTail(): string {
    return `see docker logs ${this.containerName}`;
  }
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return oneLine(lines.slice(-2).join(' | ')) || 'no output';
}
