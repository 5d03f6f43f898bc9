import type { Flavor } from '../dialect.js';

/**
 * One real MySQL/MariaDB server in a directory of its own, on a loopback port: the unit the sandbox and
 * the live tests are built from. Root has an empty password and is reachable on loopback only.
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
  /**
   * The version an in-place upgrade switches this server to (switchVersion): another provider of the same kind
   * (local binaries for a local process, an image for a container). Absent: it stays on its own version.
   */
  upgradeTo?: ServerProvider;
}

/** What a server's in-place upgrade did: the version before and after (`--version` lines). */
export interface VersionSwitch {
  from: string;
  to: string;
}

export interface MysqlServer {
  /** The loopback address it listens on. */
  readonly host: string;
  readonly port: number;
  readonly pid: number | null;
  readonly dir: string;
  readonly dataDir: string;
  readonly serverId: number;
  readonly flavor: Flavor;
  /** The exact command line it is started with (for `sandbox up` to start it detached). */
  readonly args: string[];
  readonly binary: string;
  /** What runs now: the server's `--version` line (e.g. `mariadbd  Ver 10.11.18-MariaDB …`). */
  readonly version: string;
  /**
   * Stopped, switches to the version it was started to upgrade to (ServerOptions.upgradeTo): the next start
   * runs the new server on the same data. Without one, nothing changes (a restart of the same version).
   */
  switchVersion(): Promise<VersionSwitch>;
  /** The running version's own upgrade step: mariadb-upgrade, mysql_upgrade, or none (MySQL >= 8.0.16). */
  runUpgrade(): Promise<{ tool: string; ms: number }>;
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

/**
 * Something that starts servers: local processes of the binaries on PATH today (localProcesses), containers
 * and server directories or tarballs of a chosen version next. The sandbox builds its topology from what a
 * provider starts and needs nothing else of it.
 */
export interface ServerProvider {
  /** For messages, e.g. "local processes". */
  readonly name: string;
  /** What it runs, for messages and reports, e.g. "MariaDB 11.8.9 (image downtime/mariadb:11.8)". */
  describe(): Promise<string>;
  /** Starts a server; resolves when it accepts connections as root. */
  start(opts?: ServerOptions): Promise<MysqlServer>;
}
