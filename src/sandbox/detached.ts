import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import { makeDirs } from '../util/fs-atomic.js';
import type { ControlRequest, ProxyStatus } from './endpoint/proxy-control.js';
import type { FaultSpec, FaultTimes, ProxyTarget } from './endpoint/proxy.js';
import { freePort, waitAccepting } from './servers/net.js';
import { RootConnection } from './servers/root-connection.js';
import type { MysqlServer } from './servers/types.js';
import { APP_DATABASE, APP_USER, buildServers, randomPassword, type Credentials } from './topology/build.js';
import { engineSteps, StepEngine } from './topology/steps.js';
import type {
  OnSandboxEvent,
  ProxyControl,
  Sandbox,
  SandboxEndpoint,
  SandboxServer,
  Topology,
} from './topology/types.js';

/**
 * A sandbox that outlives the command that started it (`downtime sandbox up`): server processes and a
 * proxy daemon started detached, described by a state file, so that `sandbox status|down` and
 * `connectSandbox()` (used by `downtime run` with a scenario) find them again — even after a crash.
 */

export interface ServerState {
  pid: number | null;
  port: number;
  serverId: number;
  dir: string;
  dataDir: string;
  binary: string;
  args: string[];
}

export interface SandboxState {
  version: 1;
  topology: Topology;
  createdAtMs: number;
  stateDir: string;
  endpoint: { url: string; host: '127.0.0.1'; port: number; user: string; database: string };
  /** 0600 file with the app user's password (never in this file or any output). */
  passwordFile: string;
  /** 0600 file with the replication user's password (for reset). */
  replPasswordFile: string;
  active: 'blue' | 'green';
  proxy: { pid: number | null; port: number; control: string };
  servers: { blue: ServerState; green?: ServerState };
}

export const DEFAULT_STATE_DIR = '.downtime/sandbox';
const STATE_FILE = 'state.json';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

export function readState(stateDir: string): SandboxState | null {
  const p = statePath(stateDir);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as SandboxState;
  } catch (err) {
    throw new DowntimeError(
      `the sandbox state file ${p} is unreadable (${oneLine((err as Error).message)}); remove ${stateDir} after checking for processes`,
      ExitCode.InputFile,
    );
  }
}

function writeState(state: SandboxState): void {
  const p = statePath(state.stateDir);
  writeFileSync(p + '.tmp', JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(p + '.tmp', p);
}

/** True if `pid` is a live (not zombie) process whose command line contains `mark`. */
export function processAlive(pid: number | null, mark: string): boolean {
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised name: Z = zombie, X = dead.
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (st === 'Z' || st === 'X') return false;
    // The pid may have been reused by an unrelated process since the state file was written.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark);
  } catch {
    if (process.platform === 'linux') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

async function waitGone(pid: number, mark: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid, mark)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function terminate(pid: number | null, mark: string, graceMs: number): Promise<void> {
  if (pid === null || !processAlive(pid, mark)) return;
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, mark, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, mark, 5000);
}

export function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (v: boolean): void => {
      s.destroy();
      res(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A server started by another process: found by pid and port, started again with its recorded command line. */
class DetachedServer implements SandboxServer {
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

/** Talks to the proxy daemon over its control socket, one JSON line each way. */
class ProxyClient implements ProxyControl {
  constructor(
    readonly port: number,
    private readonly control: string,
  ) {}
  request<T extends object>(req: ControlRequest, timeoutMs = 5000): Promise<T> {
    return new Promise((res, rej) => {
      const sock = createConnection(this.control);
      let buf = '';
      const fail = (msg: string): void => {
        sock.destroy();
        rej(
          new DowntimeError(
            `the sandbox proxy did not answer (${msg}); is the sandbox up? (downtime sandbox status)`,
            ExitCode.Sandbox,
          ),
        );
      };
      sock.setTimeout(timeoutMs, () => fail('timeout'));
      sock.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      sock.on('data', (d) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        sock.destroy();
        const answer = JSON.parse(buf.slice(0, nl)) as { ok: boolean; error?: string } & T;
        if (answer.ok) res(answer);
        else rej(new DowntimeError(`the sandbox proxy refused ${req.op}: ${answer.error ?? '?'}`, ExitCode.Sandbox));
      });
      sock.write(JSON.stringify(req) + '\n');
    });
  }
  async setTarget(t: ProxyTarget): Promise<void> {
    await this.request({ op: 'setTarget', port: t.port });
  }
  async refuse(): Promise<void> {
    await this.request({ op: 'refuse' });
  }
  async accept(): Promise<void> {
    await this.request({ op: 'accept' });
  }
  async dropConnections(): Promise<void> {
    await this.request({ op: 'drop' });
  }
  async fault(spec: FaultSpec): Promise<{ atMs: number }> {
    const a = await this.request<{ atMs: number }>({ op: 'fault', fault: spec });
    return { atMs: a.atMs };
  }
  async clearFault(): Promise<FaultTimes | null> {
    return (await this.request<{ times: FaultTimes | null }>({ op: 'clearFault' })).times;
  }
  status(): Promise<ProxyStatus> {
    return this.request<ProxyStatus>({ op: 'status' }, 2000);
  }
}

function serverState(s: MysqlServer): ServerState {
  return {
    pid: s.pid,
    port: s.port,
    serverId: s.serverId,
    dir: s.dir,
    dataDir: s.dataDir,
    binary: s.binary,
    args: s.args,
  };
}

function controlPath(stateDir: string): string {
  const p = join(stateDir, 'proxy.sock');
  // A unix socket path must fit in sun_path (108 bytes on Linux).
  return p.length < 100 ? p : join(tmpdir(), `downtime-proxy-${randomBytes(6).toString('hex')}.sock`);
}

function daemonEntry(): string {
  return fileURLToPath(new URL('./proxy-daemon.js', import.meta.url));
}

async function startProxyDaemon(
  stateDir: string,
  port: number,
  targetPort: number,
): Promise<{ pid: number; control: string; client: ProxyClient }> {
  const control = controlPath(stateDir);
  const child = spawn(
    process.execPath,
    [daemonEntry(), '--control', control, '--port', String(port), '--target-port', String(targetPort)],
    { stdio: 'ignore', detached: true },
  );
  child.once('error', () => undefined);
  child.unref();
  const pid = child.pid ?? -1;
  const client = new ProxyClient(port, control);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.status();
      return { pid, control, client };
    } catch {
      if (!processAlive(pid, 'proxy-daemon') || Date.now() > deadline) {
        await terminate(pid, 'proxy-daemon', 1000);
        throw new DowntimeError(
          `the sandbox proxy could not start on 127.0.0.1:${port} (port taken?); choose another with --port`,
          ExitCode.Sandbox,
        );
      }
      await sleep(50);
    }
  }
}

export interface UpOptions {
  topology: Topology;
  stateDir: string;
  /** Endpoint port (default: a free one). */
  port?: number;
}

/** Starts servers and the proxy detached, writes the state and password files; returns the state. */
export async function sandboxUp(o: UpOptions): Promise<SandboxState> {
  const stateDir = resolve(o.stateDir);
  const old = readState(stateDir);
  if (old !== null) {
    const running =
      processAlive(old.proxy.pid, 'proxy-daemon') ||
      Object.values(old.servers).some((s) => processAlive(s.pid, s.dataDir));
    if (running) {
      throw new DowntimeError(
        `a sandbox is already up in ${stateDir} (endpoint ${old.endpoint.url}); use it, or stop it with downtime sandbox down`,
        ExitCode.Sandbox,
      );
    }
    // Left over from a crash with nothing running: start afresh.
    rmSync(stateDir, { recursive: true, force: true });
  }
  // Not mkdirSync's { recursive: true }: under /proc it loops forever; this fails at once with one line.
  for (const d of makeDirs(stateDir, 'choose another --state-dir')) chmodSync(d, 0o700);
  const creds: Credentials = { appPassword: randomPassword(), replPassword: randomPassword() };
  const passwordFile = join(stateDir, 'password');
  const replPasswordFile = join(stateDir, 'repl-password');
  writeFileSync(passwordFile, creds.appPassword + '\n', { mode: 0o600 });
  writeFileSync(replPasswordFile, creds.replPassword + '\n', { mode: 0o600 });
  const servers = await buildServers({ topology: o.topology, dir: join(stateDir, 'servers'), creds, detached: true });
  try {
    const port = o.port ?? (await freePort());
    const daemon = await startProxyDaemon(stateDir, port, servers.blue.port);
    const state: SandboxState = {
      version: 1,
      topology: o.topology,
      createdAtMs: Date.now(),
      stateDir,
      endpoint: {
        url: `mysql://${APP_USER}@127.0.0.1:${port}/${APP_DATABASE}`,
        host: '127.0.0.1',
        port,
        user: APP_USER,
        database: APP_DATABASE,
      },
      passwordFile,
      replPasswordFile,
      active: 'blue',
      proxy: { pid: daemon.pid, port, control: daemon.control },
      servers: {
        blue: serverState(servers.blue),
        ...(servers.green ? { green: serverState(servers.green) } : {}),
      },
    };
    writeState(state);
    servers.blue.disconnect();
    servers.green?.disconnect();
    return state;
  } catch (err) {
    await servers.green?.destroy();
    await servers.blue.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

export interface ComponentStatus {
  name: string;
  pid: number | null;
  port: number;
  running: boolean;
  reachable: boolean;
}

export interface SandboxStatus {
  up: boolean;
  state: SandboxState | null;
  components: ComponentStatus[];
  /** The server the proxy points at, as the proxy says (null if it does not answer). */
  proxyTargetPort: number | null;
}

export async function sandboxStatus(stateDir: string): Promise<SandboxStatus> {
  const state = readState(resolve(stateDir));
  if (state === null) return { up: false, state: null, components: [], proxyTargetPort: null };
  const components: ComponentStatus[] = [];
  components.push({
    name: 'proxy',
    pid: state.proxy.pid,
    port: state.proxy.port,
    running: processAlive(state.proxy.pid, 'proxy-daemon'),
    reachable: await portOpen(state.proxy.port),
  });
  for (const [name, s] of Object.entries(state.servers)) {
    components.push({
      name,
      pid: s.pid,
      port: s.port,
      running: processAlive(s.pid, s.dataDir),
      reachable: await portOpen(s.port),
    });
  }
  let proxyTargetPort: number | null = null;
  try {
    proxyTargetPort = (await new ProxyClient(state.proxy.port, state.proxy.control).status()).targetPort;
  } catch {
    // not answering: reported as such
  }
  return { up: components.every((c) => c.running && c.reachable), state, components, proxyTargetPort };
}

/**
 * Stops everything the state file names (works after a crash: pids are checked against their command
 * line before being signalled) and removes the state directory. Returns what it stopped.
 */
export async function sandboxDown(stateDir: string): Promise<{ stopped: string[]; found: boolean }> {
  const dir = resolve(stateDir);
  const state = readState(dir);
  if (state === null) {
    return { stopped: [], found: false };
  }
  const stopped: string[] = [];
  if (processAlive(state.proxy.pid, 'proxy-daemon')) {
    await terminate(state.proxy.pid, 'proxy-daemon', 3000);
    stopped.push(`proxy (pid ${state.proxy.pid})`);
  }
  await Promise.all(
    Object.entries(state.servers).map(async ([name, s]) => {
      if (processAlive(s.pid, s.dataDir)) {
        await terminate(s.pid, s.dataDir, 15_000);
        stopped.push(`${name} (pid ${s.pid})`);
      }
    }),
  );
  rmSync(state.proxy.control, { force: true });
  rmSync(dir, { recursive: true, force: true });
  return { stopped, found: true };
}

export interface ConnectedSandbox extends Sandbox {
  readonly stateDir: string;
  /** Release this process's connections; the sandbox keeps running. */
  close(): void;
}

/**
 * The step API (switchover(), inPlaceUpgrade(), …) over a sandbox started by `downtime sandbox up`,
 * through the proxy daemon's control socket and root connections. Steps update the state file.
 */
export async function connectSandbox(stateDir: string, onEvent?: OnSandboxEvent): Promise<ConnectedSandbox> {
  const dir = resolve(stateDir);
  const state = readState(dir);
  if (state === null) {
    throw new DowntimeError(`no sandbox state in ${dir}; start one with downtime sandbox up`, ExitCode.Sandbox);
  }
  const proxy = new ProxyClient(state.proxy.port, state.proxy.control);
  await proxy.status();
  let password: string;
  let replPassword: string;
  try {
    password = readFileSync(state.passwordFile, 'utf8').trim();
    replPassword = readFileSync(state.replPasswordFile, 'utf8').trim();
  } catch {
    throw new DowntimeError(
      `cannot read the sandbox password file ${state.passwordFile}; restart the sandbox`,
      ExitCode.Sandbox,
    );
  }
  let servers: { blue: SandboxServer & { disconnect(): void }; green?: SandboxServer & { disconnect(): void } } = {
    blue: new DetachedServer(state.servers.blue),
    ...(state.servers.green ? { green: new DetachedServer(state.servers.green) } : {}),
  };
  const save = async (): Promise<void> => {
    state.active = engine.active;
    state.servers.blue.pid = servers.blue.pid;
    if (state.servers.green && servers.green) state.servers.green.pid = servers.green.pid;
    writeState(state);
  };
  const reset = async (): Promise<{ blue: SandboxServer; green?: SandboxServer }> => {
    await Promise.all([servers.blue.stop(15_000), servers.green?.stop(15_000)]);
    rmSync(join(dir, 'servers'), { recursive: true, force: true });
    const built = await buildServers({
      topology: state.topology,
      dir: join(dir, 'servers'),
      creds: { appPassword: password, replPassword },
      ports: { blue: state.servers.blue.port, ...(state.servers.green ? { green: state.servers.green.port } : {}) },
      detached: true,
    });
    servers = built;
    state.servers = { blue: serverState(built.blue), ...(built.green ? { green: serverState(built.green) } : {}) };
    return built;
  };
  const engine = new StepEngine(state.topology, servers.blue, servers.green, proxy, state.active, reset, onEvent, save);
  const endpoint: SandboxEndpoint = { ...state.endpoint, password };
  const close = (): void => {
    servers.blue.disconnect();
    servers.green?.disconnect();
  };
  return {
    stateDir: dir,
    topology: state.topology,
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
    proxy,
    ...engineSteps(engine),
    close,
    async stop() {
      close();
      await sandboxDown(dir);
    },
  };
}
