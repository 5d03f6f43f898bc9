/**
 * The local-process server provider: a mariadbd/mysqld found on PATH, run as a child process in a
 * directory of its own, from a copy of a pristine data directory, on a loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DowntimeError, ExitCode } from '../../errors.js';
import { dialectFor, type Flavor } from '../dialect.js';
import { serverArgs, tlsArgs } from './args.js';
import { findBinaries, type Binaries } from './binaries.js';
import { runUpgradeOf, upgradeToolOf } from './upgrade.js';
import { parseVersionLine, versionName } from '../versions.js';
import { templateDataDir } from './datadir.js';
import { freePort, waitAccepting } from './net.js';
import { RootConnection } from './root-connection.js';
import type { MysqlServer, ServerOptions, ServerProvider, VersionSwitch } from './types.js';

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

/** Where and how one local server runs. */
interface LocalServerSpec {
  host: string;
  port: number;
  dir: string;
  dataDir: string;
  serverId: number;
  bin: Binaries;
  /** The command line's options, kept to build it again for another version (switchVersion). */
  argOptions: Parameters<typeof serverArgs>[1];
  upgradeTo: ServerProvider | undefined;
  readyTimeoutMs: number;
  detached: boolean;
  /** The temp dir startServer made for this server alone (no baseDir given): destroy() removes it too. */
  ownedBase: string | null;
}

export class LocalServer implements MysqlServer {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly serverId: number;
  readonly flavor: Flavor;
  private bin: Binaries;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly root: RootConnection;

  constructor(private readonly spec: LocalServerSpec) {
    this.host = spec.host;
    this.port = spec.port;
    this.dir = spec.dir;
    this.dataDir = spec.dataDir;
    this.serverId = spec.serverId;
    this.flavor = spec.bin.flavor;
    this.bin = spec.bin;
    this.root = new RootConnection({
      host: spec.host,
      port: spec.port,
      user: 'root',
      connectTimeout: 5000,
      multipleStatements: true,
    });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get binary(): string {
    return this.bin.server;
  }

  get args(): string[] {
    return serverArgs(this.bin, this.spec.argOptions);
  }

  get version(): string {
    return this.bin.version;
  }

  async switchVersion(): Promise<VersionSwitch> {
    const from = this.bin.version;
    const to = this.spec.upgradeTo;
    if (to === undefined) return { from, to: from };
    if (this.isRunning()) throw new Error('switchVersion: stop the server first');
    if (!(to instanceof LocalProvider)) {
      throw new DowntimeError(
        `cannot upgrade a local ${from} process to ${to.name}: in place, the new version must be server binaries too`,
        ExitCode.Usage,
      );
    }
    this.bin = await to.binaries();
    return { from, to: this.bin.version };
  }

  runUpgrade(): Promise<{ tool: string; ms: number }> {
    return runUpgradeOf(this.bin, this);
  }

  /** Its upgrade tool, or null when the server upgrades itself at start (MySQL >= 8.0.16). */
  get upgradeTool(): string | null {
    return upgradeToolOf(this.bin);
  }

  /**
   * The command line and tool of the version it would switch to (switchVersion), for a server another process
   * will upgrade (`sandbox up --to`); undefined when it stays on its version.
   */
  async nextVersion(): Promise<
    { binary: string; args: string[]; version: string; upgradeTool: string | null } | undefined
  > {
    const to = this.spec.upgradeTo;
    if (!(to instanceof LocalProvider)) return undefined;
    const bin = await to.binaries();
    return {
      binary: bin.server,
      args: serverArgs(bin, this.spec.argOptions),
      version: bin.version,
      upgradeTool: upgradeToolOf(bin),
    };
  }

  isRunning(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.isRunning()) return;
    // Always a process group of its own: a terminal's Ctrl-C goes to the whole foreground group, and would stop
    // the server as well as the harness (a false outage at the end of an interrupted run). Only servers meant
    // to outlive this process (`sandbox up`) are let go of (unref); the others die with it (killAttachedOnExit).
    const child = spawn(this.binary, this.args, { stdio: 'ignore', detached: true });
    if (this.spec.detached) child.unref();
    else killAttachedOnExit(child);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined);
    await waitAccepting(this.port, {
      host: this.host,
      timeoutMs: this.spec.readyTimeoutMs,
      exited: () => child.exitCode !== null || child.signalCode !== null,
      what: `the server on port ${this.port}`,
      log: () => `error log: ${this.errorLogTail(3) || join(this.dir, 'error.log')}`,
    });
  }

  rootQuery<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
    return this.root.query<T>(sql, params);
  }

  async createUser(user: string, password: string, database: string): Promise<void> {
    for (const sql of dialectFor(this.flavor).createAppUser(user, password, database)) await this.rootQuery(sql);
  }

  disconnect(): void {
    this.root.close();
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    this.root.close();
    if (!this.isRunning()) return;
    this.child?.kill('SIGTERM');
    this.child?.kill('SIGCONT'); // a paused server must be able to act on SIGTERM
    const t = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(t);
  }

  async kill(): Promise<void> {
    this.root.close();
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
    rmSync(this.spec.ownedBase ?? this.dir, { recursive: true, force: true });
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
 * Local server processes of one installation: the binaries on PATH (localProcesses), or those of a server
 * directory (an extracted MySQL/MariaDB tarball, `--from /opt/mysql-8.0.40`).
 */
export class LocalProvider implements ServerProvider {
  readonly name: string;
  constructor(private readonly dir?: string) {
    this.name = dir === undefined ? 'local processes' : `local processes of ${dir}`;
  }

  binaries(): Promise<Binaries> {
    return findBinaries(this.dir);
  }

  async describe(): Promise<string> {
    const bin = await this.binaries();
    const v = parseVersionLine(bin.version);
    const what = v === undefined ? bin.version : versionName(v);
    return `${what} (${this.dir === undefined ? bin.server : `server directory ${this.dir}`})`;
  }

  async start(opts: ServerOptions = {}): Promise<MysqlServer> {
    return startLocalServer(await this.binaries(), opts);
  }
}

/** Starts a server of the binaries on PATH in its own directory on a loopback port. */
export async function startServer(opts: ServerOptions = {}): Promise<MysqlServer> {
  return startLocalServer(await findBinaries(), opts);
}

/** Starts a server in its own directory on a loopback port, from a copy of a pristine data directory. */
async function startLocalServer(bin: Binaries, opts: ServerOptions): Promise<MysqlServer> {
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
    const argOptions = {
      dir,
      dataDir,
      port,
      host,
      serverId,
      binlog: opts.binlog ?? false,
      gtid: opts.gtid ?? true,
      readOnly: opts.readOnly ?? false,
      extraArgs: [...tlsArgs(opts.tls), ...(opts.extraArgs ?? [])],
    };
    const server = new LocalServer({
      host,
      port,
      dir,
      dataDir,
      serverId,
      bin,
      argOptions,
      upgradeTo: opts.upgradeTo,
      readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
      detached: opts.detached ?? false,
      ownedBase: opts.baseDir === undefined ? base : null,
    });
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

/** The default provider: servers as local processes of the binaries on PATH. */
export const localProcesses: LocalProvider = new LocalProvider();
