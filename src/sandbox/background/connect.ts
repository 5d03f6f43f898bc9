import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../../errors.js';
import { buildServers } from '../topology/build.js';
import { engineSteps, StepEngine } from '../topology/steps.js';
import type { OnSandboxEvent, Sandbox, SandboxEndpoint, SandboxServer } from '../topology/types.js';
import { DetachedServer } from './detached-server.js';
import { sandboxDown } from './lifecycle.js';
import { ProxyClient } from './proxy-client.js';
import { readState, serverState, writeState } from './state.js';
import { resolveSandboxServers } from '../providers.js';

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
    const versions = await resolveSandboxServers(state.versions?.from, state.versions?.to);
    const built = await buildServers({
      topology: state.topology,
      dir: join(dir, 'servers'),
      creds: { appPassword: password, replPassword },
      ports: { blue: state.servers.blue.port, ...(state.servers.green ? { green: state.servers.green.port } : {}) },
      detached: true,
      servers: { from: versions.from, to: versions.to },
    });
    servers = built;
    state.servers = {
      blue: await serverState(built.blue),
      ...(built.green ? { green: await serverState(built.green) } : {}),
    };
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
