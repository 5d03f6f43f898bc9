import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  cpSync,
  accessSync,
  constants,
} from 'node:fs';
import { createServer, isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { DowntimeError, ExitCode } from '../errors.js';
import { dialectFor } from './dialect.js';

const execFileP = promisify(execFile);

/**
 * One real MySQL/MariaDB server process in a directory of its own, on a loopback port: the unit the
 * sandbox and the live tests are built from. Root has an empty password and is reachable on 127.0.0.1 only.
 */
export interface ServerOptions {
  /** Directory under which this server's own directory is made (default: a new temp dir). */
  baseDir?: string;
  /** Name of the server's directory (default: "server-<serverId>"). */
  name?: string;
  /** Port to listen on (default: a free one). */
  port?: number;
  /**
   * Loopback address to listen on (default 127.0.0.1). All of 127.0.0.0/8 is loopback on Linux: a blue on
   * 127.0.0.1 and a green on 127.0.0.2 can share a port, as two RDS instances behind one DNS name do.
   */
  host?: string;
  serverId?: number;
  /** Write a binary log (needed for a replication source). */
  binlog?: boolean;
  /** GTID-based replication: always on in MariaDB; MySQL needs gtid_mode=ON (the default here too). */
  gtid?: boolean;
  readOnly?: boolean;
  extraArgs?: string[];
  /** Offer TLS with this certificate and key (PEM files; `ca` for client certificates): --ssl-cert, --ssl-key, --ssl-ca. */
  tls?: { cert: string; key: string; ca?: string };
  /** Milliseconds to wait for the server to accept connections. */
  readyTimeoutMs?: number;
  /** Start the process in its own session and unref it, so it outlives this process (`sandbox up`). */
  detached?: boolean;
}

export interface MysqlServer {
  /** The loopback address it listens on. */
  readonly host: string;
  readonly port: number;
  readonly pid: number | null;
  readonly dir: string;
  readonly dataDir: string;
  readonly serverId: number;
  readonly flavor: 'mariadb' | 'mysql';
  /** The exact command line it is started with (for `sandbox up` to start it detached). */
  readonly args: string[];
  readonly binary: string;
  rootQuery<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  createUser(user: string, password: string, database: string): Promise<void>;
  /** Graceful shutdown; waits until the process has exited (then -9 after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
  /** kill -9, and wait for the process to go. */
  kill(): Promise<void>;
  /** (Re)start on the same data directory and port; resolves when it accepts connections. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  isRunning(): boolean;
  /** Stop (or kill) and remove its directory. */
  destroy(): Promise<void>;
  /** Close this process's root connection (the server keeps running). */
  disconnect(): void;
  errorLogTail(lines?: number): string;
}

interface Binaries {
  flavor: 'mariadb' | 'mysql';
  server: string;
  /** mariadb-install-db, or null for MySQL (mysqld --initialize-insecure). */
  installDb: string | null;
  upgrade: string | null;
  version: string;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/usr/local/bin', '/usr/bin'];

/** The first of `names` that is an executable on PATH or in `extraDirs` (the usual server locations). */
export function findOnPath(names: string[], extraDirs: string[] = SEARCH_DIRS): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const name of names) {
    for (const d of dirs) {
      const p = join(d, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // keep looking
      }
    }
  }
  return null;
}

let cachedBinaries: Binaries | undefined;

/** Finds the server binaries: MariaDB's mariadbd + mariadb-install-db, else MySQL's mysqld. */
export async function findBinaries(): Promise<Binaries> {
  if (cachedBinaries) return cachedBinaries;
  const server = findOnPath(['mariadbd', 'mysqld']);
  if (server === null) {
    throw new DowntimeError(
      'no MySQL or MariaDB server binary (mariadbd or mysqld) found on PATH; install one, e.g. apt-get install mariadb-server',
      ExitCode.Sandbox,
    );
  }
  const { stdout } = await execFileP(server, ['--version']);
  const version = stdout.trim();
  const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const installDb = flavor === 'mariadb' ? findOnPath(['mariadb-install-db', 'mysql_install_db']) : null;
  if (flavor === 'mariadb' && installDb === null) {
    throw new DowntimeError(
      `found ${server} but not mariadb-install-db on PATH; install mariadb-server (it ships both)`,
      ExitCode.Sandbox,
    );
  }
  const upgrade = findOnPath(flavor === 'mariadb' ? ['mariadb-upgrade', 'mysql_upgrade'] : ['mysql_upgrade']);
  cachedBinaries = { flavor, server, installDb, upgrade, version };
  return cachedBinaries;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Initialising a data directory takes seconds; copying one takes milliseconds. So one pristine data
 * directory per server version is made once (atomically: built aside, then renamed) and copied per server.
 */
async function templateDataDir(bin: Binaries): Promise<string> {
  // "-t2": the template's own settings are part of its identity (t2: a 16M redo log instead of 96M).
  const key = bin.version.replace(/[^A-Za-z0-9.]+/g, '_').slice(0, 80) + '-t2';
  const root = join(tmpdir(), `downtime-template-${process.getuid?.() ?? 'u'}`);
  const dir = join(root, key);
  if (existsSync(join(dir, 'READY'))) return dir;
  mkdirSync(root, { recursive: true });
  const building = mkdtempSync(join(root, 'building-'));
  const data = join(building, 'data');
  try {
    if (bin.installDb !== null) {
      await execFileP(
        bin.installDb,
        [
          '--no-defaults',
          `--datadir=${data}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          ...(isRoot ? ['--user=root'] : []),
          '--skip-name-resolve',
          // The same small redo log the servers run with: a 34 MB template to copy instead of 114 MB,
          // and no log resize at each server's first start.
          '--innodb-log-file-size=16M',
          '--innodb-buffer-pool-size=32M',
        ],
        { timeout: 120_000 },
      );
    } else {
      mkdirSync(data);
      await execFileP(
        bin.server,
        ['--no-defaults', '--initialize-insecure', `--datadir=${data}`, ...(isRoot ? ['--user=root'] : [])],
        { timeout: 120_000 },
      );
    }
    await execFileP('touch', [join(building, 'READY')]);
    try {
      renameSync(building, dir);
    } catch {
      // Another process finished first: use theirs.
      rmSync(building, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new DowntimeError(
      `could not initialise a data directory with ${bin.installDb ?? bin.server}: ${(e.stderr ?? e.message).trim().split('\n').slice(-1)[0]}`,
      ExitCode.Sandbox,
    );
  }
  return dir;
}

export function serverArgs(
  bin: Pick<Binaries, 'flavor'>,
  o: {
    dir: string;
    dataDir: string;
    port: number;
    /** Bind address (default 127.0.0.1). */
    host?: string;
    serverId: number;
    binlog: boolean;
    gtid?: boolean;
    readOnly: boolean;
    extraArgs: string[];
  },
): string[] {
  const args = [
    '--no-defaults',
    `--datadir=${o.dataDir}`,
    `--port=${o.port}`,
    `--bind-address=${o.host ?? '127.0.0.1'}`,
    `--socket=${join(o.dir, 'mysqld.sock')}`,
    `--pid-file=${join(o.dir, 'mysqld.pid')}`,
    `--log-error=${join(o.dir, 'error.log')}`,
    `--server-id=${o.serverId}`,
    '--skip-name-resolve',
    // Small and quick: these servers hold a probe table, not a workload.
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    '--performance-schema=OFF',
    '--max-connections=500',
    ...(isRoot ? ['--user=root'] : []),
  ];
  if (bin.flavor === 'mysql') {
    args.push('--mysqlx=OFF');
    if (o.gtid !== false) args.push('--gtid-mode=ON', '--enforce-gtid-consistency=ON');
  }
  if (o.binlog) args.push('--log-bin=binlog', '--binlog-format=ROW', '--log-slave-updates');
  if (o.readOnly) args.push('--read-only');
  return [...args, ...o.extraArgs];
}

/**
 * Servers of this process that must not outlive it: a test that throws past its cleanup, or a
 * process.exit(), would otherwise leave mariadbd processes behind. Detached servers (`sandbox up`) are not here.
 */
const attached = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAttachedOnExit(child: ChildProcess): void {
  attached.add(child);
  child.once('exit', () => attached.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of attached) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
  });
}

class Server implements MysqlServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private conn: mysql.Connection | null = null;

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly dataDir: string,
    readonly serverId: number,
    readonly flavor: 'mariadb' | 'mysql',
    readonly binary: string,
    readonly args: string[],
    private readonly readyTimeoutMs: number,
    private readonly detached = false,
    /** The temp dir startServer made for this server alone (no baseDir given): destroy() removes it too. */
    private readonly ownedBase: string | null = null,
    readonly host: string = '127.0.0.1',
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  isRunning(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.isRunning()) return;
    const child = spawn(this.binary, this.args, { stdio: 'ignore', detached: this.detached });
    if (this.detached) child.unref();
    else killAttachedOnExit(child);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined);
    await this.waitReady(child);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    await waitAccepting(this.port, {
      host: this.host,
      timeoutMs: this.readyTimeoutMs,
      exited: () => child.exitCode !== null || child.signalCode !== null,
      what: `the server on port ${this.port}`,
      log: () => `error log: ${this.errorLogTail(3) || join(this.dir, 'error.log')}`,
    });
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
        const c = this.conn;
        this.conn = null;
        c?.destroy();
        // A cached connection may have died with a restart: retry once on a fresh one.
        const fatal = (err as { fatal?: boolean }).fatal === true;
        if (attempt > 0 || !fatal) throw err;
      }
    }
  }

  async createUser(user: string, password: string, database: string): Promise<void> {
    for (const sql of dialectFor(this.flavor).createAppUser(user, password, database)) await this.rootQuery(sql);
  }

  disconnect(): void {
    this.dropConn();
  }

  private dropConn(): void {
    this.conn?.destroy();
    this.conn = null;
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    this.dropConn();
    if (!this.isRunning()) return;
    this.child?.kill('SIGTERM');
    this.child?.kill('SIGCONT'); // a paused server must be able to act on SIGTERM
    const t = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(t);
  }

  async kill(): Promise<void> {
    this.dropConn();
    if (!this.isRunning()) return;
    this.child?.kill('SIGCONT'); // a paused process must be able to die
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop(10_000);
    rmSync(this.ownedBase ?? this.dir, { recursive: true, force: true });
  }

  errorLogTail(lines = 5): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-lines).join(' | ');
    } catch {
      return '';
    }
  }
}

/**
 * Polls until a server on 127.0.0.1:`port` answers `SELECT 1` as root; fails at once if its process
 * exits, or after `timeoutMs`, with the error log's tail in the message.
 */
export async function waitAccepting(
  port: number,
  o: { timeoutMs: number; exited: () => boolean; what: string; log: () => string; host?: string },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.exited()) throw new DowntimeError(`${o.what} exited while starting; ${o.log()}`, ExitCode.Sandbox);
    try {
      const c = await mysql.createConnection({ host: o.host ?? '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new DowntimeError(
          `${o.what} did not accept connections within ${o.timeoutMs} ms; ${o.log()}`,
          ExitCode.Sandbox,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Starts a server in its own directory on a loopback port, from a copy of a pristine data directory. */
export async function startServer(opts: ServerOptions = {}): Promise<MysqlServer> {
  const bin = await findBinaries();
  const template = await templateDataDir(bin);
  const serverId = opts.serverId ?? 1;
  const host = opts.host ?? '127.0.0.1';
  if (!isIPv4(host) || !host.startsWith('127.')) {
    throw new DowntimeError(
      `server host must be a loopback IPv4 address in 127.0.0.0/8 (got "${host}")`,
      ExitCode.Usage,
    );
  }
  const base = opts.baseDir ?? mkdtempSync(join(tmpdir(), 'downtime-server-'));
  const dir = join(base, opts.name ?? `server-${serverId}`);
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, 'data');
  cpSync(join(template, 'data'), dataDir, { recursive: true });
  // A port found free may be taken before the server binds it: retry on a new one (only if we chose it).
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const args = serverArgs(bin, {
      dir,
      dataDir,
      port,
      host,
      serverId,
      binlog: opts.binlog ?? false,
      gtid: opts.gtid ?? true,
      readOnly: opts.readOnly ?? false,
      extraArgs: [...tlsArgs(opts.tls), ...(opts.extraArgs ?? [])],
    });
    const server = new Server(
      port,
      dir,
      dataDir,
      serverId,
      bin.flavor,
      bin.server,
      args,
      opts.readyTimeoutMs ?? 60_000,
      opts.detached ?? false,
      opts.baseDir === undefined ? base : null,
      host,
    );
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.kill();
      const portTaken = /bind on tcp\/ip port|address already in use/i.test(server.errorLogTail(20));
      if (opts.port === undefined && portTaken && attempt < 3) continue;
      if (opts.baseDir === undefined) rmSync(base, { recursive: true, force: true });
      throw err;
    }
  }
}

function tlsArgs(tls: ServerOptions['tls']): string[] {
  if (tls === undefined) return [];
  return [`--ssl-cert=${tls.cert}`, `--ssl-key=${tls.key}`, ...(tls.ca !== undefined ? [`--ssl-ca=${tls.ca}`] : [])];
}

/** Runs the upgrade step (mariadb-upgrade / mysql_upgrade) against a running server. */
export async function runUpgrade(server: Pick<MysqlServer, 'port'>): Promise<{ tool: string; ms: number }> {
  const bin = await findBinaries();
  // MySQL 8.0.16+ has no mysql_upgrade: mysqld upgrades the data dictionary itself at startup.
  if (bin.upgrade === null && bin.flavor === 'mysql') return { tool: 'none (mysqld upgrades at startup)', ms: 0 };
  if (bin.upgrade === null) {
    throw new DowntimeError(
      'no mariadb-upgrade or mysql_upgrade on PATH; install the server package',
      ExitCode.Sandbox,
    );
  }
  const started = Date.now();
  await execFileP(
    bin.upgrade,
    ['--no-defaults', '--host=127.0.0.1', `--port=${server.port}`, '--user=root', '--force', '--silent'],
    { timeout: 120_000 },
  );
  return { tool: bin.upgrade, ms: Date.now() - started };
}
