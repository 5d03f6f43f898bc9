import { sleep } from '../../util/sleep.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import mysql from 'mysql2/promise';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import { freePort } from '../servers/net.js';
import type { MysqlServer, ServerOptions, ServerProvider, VersionSwitch } from '../servers/types.js';
import { versionName, type ServerVersion } from '../versions.js';
import { ownLabels, type ContainerEngine } from './engine.js';

/** Where everything lives inside the container (the same in official images and locally built ones). */
const DATA_DIR = '/var/lib/mysql';
const SOCKET = '/tmp/mysqld.sock';
/** Initialising a data directory in a one-shot container: seconds normally, bounded. */
const INIT_TIMEOUT_MS = 180_000;
/** mariadb-upgrade on a small data directory takes 2–4 s; bounded generously. */
const UPGRADE_TIMEOUT_MS = 300_000;

interface ContainerServerOptions {
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
class ContainerServer implements MysqlServer {
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
  private conn: mysql.Connection | null = null;
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
    if (!(to instanceof ContainerProvider)) {
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
    const mariadb = this.flavor === 'mariadb';
    const entrypoint = mariadb ? ['mariadb-install-db'] : [this.serverBinary()];
    const cmd = mariadb
      ? [
          '--no-defaults',
          '--user=root',
          `--datadir=${DATA_DIR}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
          '--innodb-log-file-size=16M',
          '--innodb-buffer-pool-size=32M',
        ]
      : ['--no-defaults', '--initialize-insecure', '--user=root', `--datadir=${DATA_DIR}`];
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

  private serverBinary(): string {
    // MariaDB ≥ 10.5 images have mariadbd; MySQL's is mysqld.
    const v = this.serverVersion;
    return this.flavor === 'mariadb' && v.major * 100 + v.minor >= 1005 ? 'mariadbd' : 'mysqld';
  }

  private serverArgs(): string[] {
    const o = this.o;
    const args = [
      '--no-defaults',
      '--user=root',
      `--datadir=${DATA_DIR}`,
      `--port=${this.port}`,
      `--bind-address=${this.host}`,
      `--socket=${SOCKET}`,
      '--pid-file=/tmp/mysqld.pid',
      `--server-id=${this.serverId}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--performance-schema=OFF',
      '--max-connections=500',
    ];
    if (this.flavor === 'mysql') args.push('--mysqlx=OFF', '--gtid-mode=ON', '--enforce-gtid-consistency=ON');
    // Named explicitly: with the host's network every container has the host's name, which default names use.
    if (o.binlog) args.push('--log-bin=binlog', '--relay-log=relay-bin', '--binlog-format=ROW', '--log-slave-updates');
    if (o.readOnly) args.push('--read-only');
    return [...args, ...(o.extraArgs ?? [])];
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
      entrypoint: [this.serverBinary()],
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

  async rootQuery<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.conn === null) {
          this.conn = await mysql.createConnection({
            host: this.host,
            port: this.port,
            user: 'root',
            connectTimeout: 5000,
            multipleStatements: true,
          });
          this.conn.on('error', () => (this.conn = null));
        }
        const [rows] = await this.conn.query(sql, params);
        return rows as T;
      } catch (err) {
        this.dropConn();
        const code = (err as { code?: string }).code;
        const broken = code === 'PROTOCOL_CONNECTION_LOST' || code === 'ECONNRESET' || code === 'EPIPE';
        if (!broken || attempt > 0) throw err;
      }
    }
  }

  async createUser(user: string, password: string, database: string): Promise<void> {
    await this.rootQuery(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    for (const host of ['127.0.0.1', 'localhost', '%']) {
      await this.rootQuery(`CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?`, [user, host, password]);
      await this.rootQuery(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ?@?`, [user, host]);
    }
  }

  disconnect(): void {
    this.dropConn();
  }

  private dropConn(): void {
    this.conn?.destroy();
    this.conn = null;
  }

  /**
   * Graceful shutdown (SIGTERM to the server, SIGKILL after `timeoutMs`); the container goes, the volume stays.
   * Resolves with the server's exit code (0: a clean shutdown).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.dropConn();
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
    this.dropConn();
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
    if (this.flavor === 'mysql') {
      const v = this.serverVersion;
      if (v.major > 8 || (v.major === 8 && (v.minor > 0 || v.patch >= 16))) {
        return { tool: 'none (mysqld upgrades at startup)', ms: 0 };
      }
      await this.exec(
        ['mysql_upgrade', '--no-defaults', `--socket=${SOCKET}`, '-uroot'],
        'mysql_upgrade',
        UPGRADE_TIMEOUT_MS,
      );
      return { tool: 'mysql_upgrade', ms: Date.now() - started };
    }
    const tool =
      this.serverVersion.major * 100 + this.serverVersion.minor >= 1005 ? 'mariadb-upgrade' : 'mysql_upgrade';
    await this.exec([tool, '--no-defaults', `--socket=${SOCKET}`, '-uroot'], tool, UPGRADE_TIMEOUT_MS);
    return { tool, ms: Date.now() - started };
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

/**
 * Servers in containers of one image: the sandbox's provider for `from: mariadb:10.11`. Each server gets its
 * own volume and container, named and labelled after the sandbox (the sweep finds them by it).
 */
export class ContainerProvider implements ServerProvider {
  readonly name: string;
  constructor(
    readonly engine: ContainerEngine,
    readonly image: string,
    readonly version: ServerVersion,
    readonly sandboxId: string,
  ) {
    this.name = `containers of ${image}`;
  }

  describe(): Promise<string> {
    return Promise.resolve(`${versionName(this.version)} (image ${this.image})`);
  }

  async start(opts: ServerOptions = {}): Promise<MysqlServer> {
    if (opts.tls !== undefined) {
      throw new DowntimeError('TLS servers run as local processes, not in containers', ExitCode.Usage);
    }
    const serverId = opts.serverId ?? 1;
    for (let attempt = 0; ; attempt++) {
      const port = opts.port ?? (await freePort());
      try {
        return await ContainerServer.start({
          engine: this.engine,
          sandboxId: this.sandboxId,
          name: opts.name ?? `server-${serverId}`,
          image: this.image,
          version: this.version,
          port,
          ...(opts.host !== undefined ? { host: opts.host } : {}),
          serverId,
          binlog: opts.binlog ?? false,
          readOnly: opts.readOnly ?? false,
          ...(opts.extraArgs !== undefined ? { extraArgs: opts.extraArgs } : {}),
          ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
          ...(opts.upgradeTo !== undefined ? { upgradeTo: opts.upgradeTo } : {}),
        });
      } catch (err) {
        // A port found free may be taken before the server binds it: again on another (only if we chose it).
        const portTaken =
          err instanceof DowntimeError && /bind on tcp\/ip port|address already in use|errno: 98/i.test(err.message);
        if (opts.port === undefined && portTaken && attempt < 3) continue;
        throw err;
      }
    }
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
