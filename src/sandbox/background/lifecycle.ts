/** `downtime sandbox up | status | down`: start the background sandbox, report on it, stop it. */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../../errors.js';
import { makeDirs } from '../../util/fs-atomic.js';
import { freePort } from '../servers/net.js';
import { APP_DATABASE, APP_USER, buildServers, randomPassword, type Credentials } from '../topology/build.js';
import type { Topology } from '../topology/types.js';
import { DAEMON_MARK, startProxyDaemon } from './daemon.js';
import { portOpen, processAlive, processesUnder, terminate } from './processes.js';
import { ProxyClient } from './proxy-client.js';
import { readState, serverState, writeState, type SandboxState } from './state.js';
import { parseServerSource } from '../../scenario/server-source.js';
import { resolveSandboxServers } from '../providers.js';

export interface UpOptions {
  topology: Topology;
  stateDir: string;
  /** Endpoint port (default: a free one). */
  port?: number;
  /**
   * The servers (`--from`, `--to`): server directories or path. Images are for `run`, `demo` and measure():
   * containers of a background sandbox would outlive every process that could clean them up.
   */
  from?: string;
  to?: string;
  /** Told what was cleaned up first (the processes of an earlier `sandbox up` killed while it started). */
  say?: (line: string) => void;
}

/**
 * Written first by `sandbox up` (its pid), removed once the state file is written: a directory that has it and
 * no state file is an interrupted start, whose processes (processesUnder) are stopped by the next up or down.
 */
const STARTING_FILE = 'starting';

function starterOf(dir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dir, STARTING_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * The processes left in `dir` by a `sandbox up` that was killed before it wrote its state file: stopped, and the
 * directory removed (only when that up marked it as its own). Refuses while that up still runs.
 */
async function clearInterrupted(dir: string): Promise<number[]> {
  const starter = starterOf(dir);
  if (starter !== null && starter !== process.pid && processAlive(starter, '')) {
    throw new DowntimeError(
      `a sandbox up is still starting in ${dir} (pid ${starter}); wait for it, or stop it (kill ${starter}) and run downtime sandbox down`,
      ExitCode.Sandbox,
    );
  }
  const pids = processesUnder(dir);
  await Promise.all(pids.map((pid) => terminate(pid, dir, 15_000)));
  if (existsSync(join(dir, STARTING_FILE))) rmSync(dir, { recursive: true, force: true });
  return pids;
}

function leftBy(pids: number[]): string {
  return `${pids.length} process(es) left by an interrupted sandbox up (pid ${pids.join(', ')})`;
}

/** Starts servers and the proxy detached, writes the state and password files; returns the state. */
export async function sandboxUp(o: UpOptions): Promise<SandboxState> {
  const stateDir = resolve(o.stateDir);
  for (const [flag, v] of [
    ['--from', o.from],
    ['--to', o.to],
  ] as const) {
    if (v !== undefined && parseServerSource(v, flag).kind === 'image') {
      throw new DowntimeError(
        `sandbox up runs local processes; ${flag} ${v} is an image: rehearse with images through downtime run or downtime demo (they remove their containers), or give sandbox up server directories`,
        ExitCode.Usage,
      );
    }
  }
  // The versions are checked before anything starts.
  const versions = await resolveSandboxServers(o.from, o.to);
  const old = readState(stateDir);
  if (old !== null) {
    const running =
      processAlive(old.proxy.pid, DAEMON_MARK) ||
      Object.values(old.servers).some((s) => processAlive(s.pid, s.dataDir));
    if (running) {
      throw new DowntimeError(
        `a sandbox is already up in ${stateDir} (endpoint ${old.endpoint.url}); use it, or stop it with downtime sandbox down`,
        ExitCode.Sandbox,
      );
    }
    // Left over from a crash with nothing running: start afresh.
    rmSync(stateDir, { recursive: true, force: true });
  } else {
    const stopped = await clearInterrupted(stateDir);
    if (stopped.length > 0) o.say?.(`stopped ${leftBy(stopped)} in ${stateDir}`);
  }
  // Not mkdirSync's { recursive: true }: under /proc it loops forever; this fails at once with one line.
  for (const d of makeDirs(stateDir, 'choose another --state-dir')) chmodSync(d, 0o700);
  writeFileSync(join(stateDir, STARTING_FILE), `${process.pid}\n`, { mode: 0o600 });
  try {
    return await startAll(o, stateDir, versions);
  } catch (err) {
    // Whatever started (a server whose sibling failed, install-db) stops; the directory goes.
    await Promise.all(processesUnder(stateDir).map((pid) => terminate(pid, stateDir, 15_000)));
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

async function startAll(
  o: UpOptions,
  stateDir: string,
  versions: Awaited<ReturnType<typeof resolveSandboxServers>>,
): Promise<SandboxState> {
  const creds: Credentials = { appPassword: randomPassword(), replPassword: randomPassword() };
  const passwordFile = join(stateDir, 'password');
  const replPasswordFile = join(stateDir, 'repl-password');
  writeFileSync(passwordFile, creds.appPassword + '\n', { mode: 0o600 });
  writeFileSync(replPasswordFile, creds.replPassword + '\n', { mode: 0o600 });
  const servers = await buildServers({
    topology: o.topology,
    dir: join(stateDir, 'servers'),
    creds,
    detached: true,
    servers: { from: versions.from, to: versions.to },
  });
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
        blue: await serverState(servers.blue),
        ...(servers.green ? { green: await serverState(servers.green) } : {}),
      },
      ...(o.from !== undefined || o.to !== undefined
        ? {
            versions: {
              ...(o.from !== undefined ? { from: o.from } : {}),
              ...(o.to !== undefined ? { to: o.to } : {}),
              description: versions.description,
            },
          }
        : {}),
    };
    writeState(state);
    rmSync(join(stateDir, STARTING_FILE), { force: true });
    servers.blue.disconnect();
    servers.green?.disconnect();
    return state;
  } catch (err) {
    await servers.green?.destroy();
    await servers.blue.destroy();
    throw err;
  }
}

interface ComponentStatus {
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
  /** No state file: processes of a `sandbox up` killed while it started, still running (`sandbox down` stops them). */
  leftover?: number[];
}

export async function sandboxStatus(stateDir: string): Promise<SandboxStatus> {
  const state = readState(resolve(stateDir));
  if (state === null) {
    return {
      up: false,
      state: null,
      components: [],
      proxyTargetPort: null,
      leftover: processesUnder(resolve(stateDir)),
    };
  }
  const components: ComponentStatus[] = [];
  components.push({
    name: 'proxy',
    pid: state.proxy.pid,
    port: state.proxy.port,
    running: processAlive(state.proxy.pid, DAEMON_MARK),
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
    const starting = existsSync(join(dir, STARTING_FILE));
    const pids = await clearInterrupted(dir);
    return { stopped: pids.length > 0 ? [leftBy(pids)] : [], found: starting || pids.length > 0 };
  }
  const stopped: string[] = [];
  if (processAlive(state.proxy.pid, DAEMON_MARK)) {
    await terminate(state.proxy.pid, DAEMON_MARK, 3000);
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
