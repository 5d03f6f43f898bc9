import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DowntimeError, ExitCode } from '../../errors.js';
import { dialectFor, type SqlDialect } from '../dialect.js';
import { startDnsServer, type DnsServer } from '../endpoint/dns.js';
import { startProxyThread, type ThreadedProxy } from '../endpoint/proxy-thread.js';
import type { ProxyTarget } from '../endpoint/proxy.js';
import type { MysqlServer } from '../servers/types.js';
import { APP_DATABASE, APP_USER, buildServers, randomPassword, type Credentials } from './build.js';
import { DNS_ENDPOINT_NAME, DnsEndpoint, GREEN_DNS_HOST } from './dns-endpoint.js';
import { engineSteps, StepEngine } from './steps.js';
import {
  addressOf,
  type ProxyControl,
  type Sandbox,
  type SandboxEndpoint,
  type SandboxServer,
  type StartSandboxOptions,
} from './types.js';

type Servers = { blue: MysqlServer; green?: MysqlServer };

/** Refuses bad options before anything starts; returns the endpoint mode. */
function checkOptions(opts: StartSandboxOptions): 'proxy' | 'dns' {
  if (opts.topology !== 'single' && opts.topology !== 'blue-green') {
    throw new DowntimeError(`topology must be single or blue-green (got "${String(opts.topology)}")`, ExitCode.Usage);
  }
  const mode = opts.endpoint ?? 'proxy';
  if (mode !== 'proxy' && mode !== 'dns') {
    throw new DowntimeError(`endpoint must be proxy or dns (got "${String(mode)}")`, ExitCode.Usage);
  }
  const base = opts.basePort;
  if (base !== undefined && (!Number.isInteger(base) || base < 1 || base > 65533)) {
    throw new DowntimeError(`basePort must be an integer from 1 to 65533 (got ${base})`, ExitCode.Usage);
  }
  return mode;
}

/** The endpoint's control for the steps, and what runs it (to close at stop). */
interface StartedEndpoint {
  control: ProxyControl;
  proxy?: ThreadedProxy;
  dns?: DnsServer;
}

/**
 * The endpoint the steps re-point, at blue to begin with: the proxy, or in dns mode the name the sandbox's
 * DNS server answers for. `servers` is read when the endpoint needs them (a reset replaces them).
 */
async function startEndpoint(
  mode: 'proxy' | 'dns',
  servers: () => Servers,
  o: { proxyPort: number | undefined; dnsTtlS: number | undefined; sql: SqlDialect },
): Promise<StartedEndpoint> {
  if (mode === 'proxy') {
    // In a thread of its own: the harness's main thread (results file, actions) must not hold up the
    // bytes it carries or the faults it applies.
    const proxy = await startProxyThread({
      target: { host: '127.0.0.1', port: servers().blue.port },
      ...(o.proxyPort !== undefined ? { port: o.proxyPort } : {}),
    });
    return { control: proxy, proxy };
  }
  const dns = await startDnsServer({ ttlS: o.dnsTtlS ?? 1 });
  try {
    const serverAt = (t: ProxyTarget): SandboxServer | undefined =>
      [servers().blue, servers().green].find((x) => x !== undefined && addressOf(x).host === t.host);
    const control = new DnsEndpoint(dns, DNS_ENDPOINT_NAME, servers().blue, serverAt, o.sql);
    await control.setTarget(addressOf(servers().blue));
    return { control, dns };
  } catch (err) {
    await dns.close();
    throw err;
  }
}

/** Fixed ports from basePort: the endpoint on basePort, blue on +1, green on +2 (dns mode: on blue's). */
function serverPorts(opts: StartSandboxOptions, mode: 'proxy' | 'dns'): { blue?: number; green?: number } {
  const base = opts.basePort;
  if (base === undefined) return {};
  return { blue: base + 1, ...(opts.topology === 'blue-green' && mode === 'proxy' ? { green: base + 2 } : {}) };
}

/** How clients reach the sandbox: the proxy on 127.0.0.1, or the DNS name through the sandbox's DNS server. */
function endpointOf(
  mode: 'proxy' | 'dns',
  port: number,
  password: string,
  dns: DnsServer | undefined,
): SandboxEndpoint {
  const host = mode === 'dns' ? DNS_ENDPOINT_NAME : '127.0.0.1';
  return {
    url: `mysql://${APP_USER}@${host}:${port}/${APP_DATABASE}`,
    host,
    port,
    user: APP_USER,
    password,
    database: APP_DATABASE,
    ...(dns !== undefined ? { dnsServer: dns.address } : {}),
  };
}

/** An in-process sandbox keeps no state file: nothing to save after a step. */
const noStateFile = async (): Promise<void> => undefined;

/** Starts a sandbox from this process: servers, replication, users and the endpoint proxy (in a thread of its own). */
export async function startSandbox(opts: StartSandboxOptions): Promise<Sandbox> {
  const mode = checkOptions(opts);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'downtime-sandbox-'));
  mkdirSync(dir, { recursive: true });
  const removeDir = (): void => {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const creds: Credentials = { appPassword: randomPassword(), replPassword: randomPassword() };
  // dns mode: green on its own loopback address, on blue's port (buildServers), as two RDS instances.
  const hosts = mode === 'dns' ? { blue: '127.0.0.1', green: GREEN_DNS_HOST } : {};
  const build = (ports: { blue?: number; green?: number }): Promise<Servers> =>
    buildServers({
      topology: opts.topology,
      dir,
      creds,
      ports,
      hosts,
      ...(opts.servers ? { servers: opts.servers } : {}),
    });
  let servers: Servers;
  try {
    servers = await build(serverPorts(opts, mode));
  } catch (err) {
    removeDir();
    throw err;
  }
  const destroyServers = async (): Promise<void> => {
    await servers.green?.destroy();
    await servers.blue.destroy();
  };
  const sql = dialectFor(servers.blue.flavor);
  let started: StartedEndpoint;
  try {
    started = await startEndpoint(mode, () => servers, {
      proxyPort: opts.proxyPort ?? opts.basePort,
      dnsTtlS: opts.dnsTtlS,
      sql,
    });
  } catch (err) {
    await destroyServers();
    removeDir();
    throw err;
  }
  const { control, proxy, dns } = started;
  const ports = { blue: servers.blue.port, ...(servers.green ? { green: servers.green.port } : {}) };
  const reset = async (): Promise<Servers> => {
    await destroyServers();
    servers = await build(ports);
    return servers;
  };
  const engine = new StepEngine(
    opts.topology,
    servers.blue,
    servers.green,
    control,
    'blue',
    reset,
    opts.onEvent,
    noStateFile,
    sql,
  );
  return {
    topology: opts.topology,
    endpoint: endpointOf(mode, control.port, creds.appPassword, dns),
    get blue() {
      return servers.blue;
    },
    get green() {
      return servers.green;
    },
    get active() {
      return engine.active;
    },
    proxy: control,
    ...(dns !== undefined ? { dns } : {}),
    ...engineSteps(engine),
    async stop() {
      await proxy?.close();
      await dns?.close();
      await destroyServers();
      removeDir();
    },
  };
}
