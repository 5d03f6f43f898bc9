import { DowntimeError, ExitCode } from '../../errors.js';
import { mariadbDialect, type SqlDialect } from '../dialect.js';
import type { DnsServer } from '../endpoint/dns.js';
import type { FaultTimes, ProxyTarget } from '../endpoint/proxy.js';
import { APP_USER } from './build.js';
import { addressOf, type ProxyControl, type SandboxServer } from './types.js';

/** The name the dns-mode endpoint is served under (.test: RFC 2606, never a real name). */
export const DNS_ENDPOINT_NAME = 'db.sandbox.test';
/** Green's address in dns mode: all of 127.0.0.0/8 is loopback on Linux. */
export const GREEN_DNS_HOST = '127.0.0.2';

/**
 * The endpoint as RDS moves it: by DNS. The steps' proxy operations mean, without a proxy: setTarget —
 * point the name at that server's address (clients follow when they next resolve it, within the TTL);
 * dropConnections — kill the application's connections on the server the name points at (RDS drops
 * them on the old instance); refuse/accept — nothing (a name has no listener to close: clients that
 * reconnect meanwhile reach the old instance, read-only during a switchover). Network faults need the proxy.
 */
export class DnsEndpoint implements ProxyControl {
  private target: ProxyTarget;

  constructor(
    private readonly dns: DnsServer,
    readonly name: string,
    initial: SandboxServer,
    /** The server listening at an address (for dropConnections). */
    private readonly serverAt: (t: ProxyTarget) => SandboxServer | undefined,
    private readonly sql: SqlDialect = mariadbDialect,
  ) {
    this.target = addressOf(initial);
  }

  get port(): number {
    return this.target.port;
  }

  async setTarget(t: ProxyTarget): Promise<void> {
    this.target = t;
    await this.dns.set(this.name, t.host);
  }

  async refuse(): Promise<void> {}

  async accept(): Promise<void> {}

  async dropConnections(): Promise<void> {
    const server = this.serverAt(this.target);
    if (server === undefined) return;
    try {
      const rows = await server.rootQuery<{ id: number }[]>(this.sql.listSessions(APP_USER));
      for (const r of rows) {
        try {
          await server.rootQuery(this.sql.killSession(r.id));
        } catch {
          // gone already
        }
      }
    } catch {
      // the server is down (a restart step): nothing to drop
    }
  }

  fault(): Promise<{ atMs: number }> {
    return Promise.reject(
      new DowntimeError(
        'network faults need the endpoint proxy; start the sandbox without endpoint: dns (DNS faults: sandbox.dns.fault())',
        ExitCode.Usage,
      ),
    );
  }

  clearFault(): Promise<FaultTimes | null> {
    return Promise.resolve(null);
  }
}
