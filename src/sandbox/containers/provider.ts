import { DowntimeError, ExitCode } from '../../errors.js';
import { freePort } from '../servers/net.js';
import type { MysqlServer, ServerOptions, ServerProvider } from '../servers/types.js';
import { versionName, type ServerVersion } from '../versions.js';
import type { ContainerEngine } from './engine.js';
import { ContainerServer } from './server.js';

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
