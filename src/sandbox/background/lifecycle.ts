/** `downtime sandbox up | status | down`: start the background sandbox, report on it, stop it. */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../../errors.js';
import { makeDirs } from '../../util/fs-atomic.js';
import { freePort } from '../servers/net.js';
import { APP_DATABASE, APP_USER, buildServers, randomPassword, type Credentials } from '../topology/build.js';
import type { Topology } from '../topology/types.js';
import { DAEMON_MARK, startProxyDaemon } from './daemon.js';
import { portOpen, processAlive, terminate } from './processes.js';
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
  }
  // Not mkdirSync's { recursive: true }: under /proc it loops forever; this fails at once with one line.
  for (const d of makeDirs(stateDir, 'choose another --state-dir')) chmodSync(d, 0o700);
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
}

export async function sandboxStatus(stateDir: string): Promise<SandboxStatus> {
  const state = readState(resolve(stateDir));
  if (state === null) return { up: false, state: null, components: [], proxyTargetPort: null };
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
    return { stopped: [], found: false };
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
