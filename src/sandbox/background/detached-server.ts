import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitAccepting } from '../servers/net.js';
import { runUpgrade, runUpgradeOf } from '../servers/upgrade.js';
import { RootConnection } from '../servers/root-connection.js';
import type { SandboxServer } from '../topology/types.js';
import { processAlive, terminate, waitGone } from './processes.js';
import type { ServerState } from './state.js';

/** A server started by another process: found by pid and port, started again with its recorded command line. */
export class DetachedServer implements SandboxServer {
  private readonly root: RootConnection;
  constructor(private readonly s: ServerState) {
    this.root = new RootConnection({ host: '127.0.0.1', port: s.port, user: 'root', connectTimeout: 5000 });
  }
  get port(): number {
    return this.s.port;
  }
  get serverId(): number {
    return this.s.serverId;
  }
  get pid(): number | null {
    return this.s.pid;
  }
  get version(): string | undefined {
    return this.s.version;
  }
  /** Stopped: the next start runs the version `sandbox up --to` named (its command line is in the state). */
  switchVersion(): Promise<{ from: string; to: string }> {
    const from = this.s.version ?? 'unknown';
    const next = this.s.next;
    if (next === undefined) return Promise.resolve({ from, to: from });
    this.s.binary = next.binary;
    this.s.args = next.args;
    this.s.version = next.version;
    this.s.upgradeTool = next.upgradeTool;
    delete this.s.next;
    return Promise.resolve({ from, to: next.version });
  }
  /** The running version's upgrade tool (recorded at sandbox up); the one on PATH for older state files. */
  runUpgrade(): Promise<{ tool: string; ms: number }> {
    if (this.s.upgradeTool === undefined || this.s.version === undefined) return runUpgrade(this);
    const flavor = /mariadb/i.test(this.s.version) ? 'mariadb' : 'mysql';
    return runUpgradeOf({ flavor, version: this.s.version, upgrade: this.s.upgradeTool, basedir: null }, this);
  }
  rootQuery<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
    return this.root.query<T>(sql, params);
  }
  disconnect(): void {
    this.root.close();
  }
  async stop(timeoutMs = 30_000): Promise<void> {
    this.disconnect();
    await terminate(this.s.pid, this.s.dataDir, timeoutMs);
  }
  async kill(): Promise<void> {
    this.disconnect();
    const pid = this.s.pid;
    if (pid === null || !processAlive(pid, this.s.dataDir)) return;
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, this.s.dataDir, 10_000);
  }
  async start(): Promise<void> {
    if (processAlive(this.s.pid, this.s.dataDir)) return;
    const child = spawn(this.s.binary, this.s.args, { stdio: 'ignore', detached: true });
    child.once('error', () => undefined);
    child.unref();
    this.s.pid = child.pid ?? null;
    await waitAccepting(this.s.port, {
      timeoutMs: 60_000,
      exited: () => !processAlive(this.s.pid, this.s.dataDir),
      what: `the sandbox server on port ${this.s.port}`,
      log: () => `see ${join(this.s.dir, 'error.log')}`,
    });
  }
}
