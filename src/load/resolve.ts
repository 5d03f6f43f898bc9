import { promises as dnsPromises, lookup as systemLookup, type LookupAddress } from 'node:dns';
import { connect, isIP, isIPv4, type LookupFunction, type Socket } from 'node:net';
import { DowntimeError, ExitCode } from '../errors.js';

/**
 * How the endpoint's name becomes an address. By default Node's system resolver (getaddrinfo: /etc/hosts,
 * then the resolvers in /etc/resolv.conf), as mysql2 does it. With `--dns-server HOST:PORT` the name is
 * resolved with an A query to that server instead, for every new connection, through a TTL cache: an
 * answer is reused until its TTL runs out, as a caching stub resolver (systemd-resolved, nscd, the VPC
 * resolver) keeps it for a client; failures are not cached. A pool therefore resolves only when it opens
 * a connection — its open connections stay where they were — and a per-probe client follows a changed
 * record within one TTL. IPv4 only (A records).
 */

/** Checks a `--dns-server` value: IPv4[:port] (port 53 by default); returns `IP:PORT`. */
export function parseDnsServer(text: string, flag = '--dns-server'): string {
  const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  if (m === null || !isIPv4(m[1] as string) || port < 1 || port > 65535) {
    throw new DowntimeError(
      `${flag} "${text}" is not an IPv4 address with an optional port; write e.g. 127.0.0.1:5353`,
      ExitCode.Usage,
    );
  }
  return `${m[1]}:${port}`;
}

export interface Resolved {
  address: string;
  /** The answer's TTL, seconds. */
  ttlS: number;
  /** Served from the cache (no query sent). */
  cached: boolean;
}

/** Resolves names through one DNS server with a TTL cache (see above). */
export class EndpointResolver {
  private readonly resolver: dnsPromises.Resolver;
  private readonly cache = new Map<string, { address: string; ttlS: number; expiresAtMs: number }>();

  constructor(
    readonly server: string,
    timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.resolver = new dnsPromises.Resolver({ timeout: Math.max(1, Math.round(timeoutMs)), tries: 1 });
    this.resolver.setServers([server]);
  }

  resolve(host: string): Promise<Resolved> {
    const hit = this.cache.get(host);
    if (hit !== undefined && hit.expiresAtMs > this.now()) {
      return Promise.resolve({ address: hit.address, ttlS: hit.ttlS, cached: true });
    }
    // Each miss sends its own query, as each getaddrinfo() call does: one query that goes unanswered
    // must not hold up the connections after it.
    return this.query(host);
  }

  /** One A query, bypassing the cache (the cache is refreshed with the answer). */
  async query(host: string): Promise<Resolved> {
    const answers = await this.resolver.resolve4(host, { ttl: true });
    const first = answers[0];
    if (first === undefined) {
      // Not expected from resolve4 (no answer is ENODATA), but never connect to "undefined".
      throw Object.assign(new Error(`queryA ENODATA ${host}`), { code: 'ENODATA', syscall: 'queryA', hostname: host });
    }
    const ttlS = Math.min(...answers.map((a) => a.ttl));
    this.cache.set(host, { address: first.address, ttlS, expiresAtMs: this.now() + ttlS * 1000 });
    return { address: first.address, ttlS, cached: false };
  }

  cancel(): void {
    this.resolver.cancel();
  }
}

/**
 * Bound on one query of the shared resolver. A connection waits for its answer only up to its own
 * connect timeout (lookupVia); this only keeps an unanswered query from being waited on for ever.
 */
const QUERY_TIMEOUT_MS = 2000;

/** One resolver per (thread, server): a worker's connections share its cache, as an application's do. */
const resolvers = new Map<string, EndpointResolver>();

export function resolverFor(server: string): EndpointResolver {
  let r = resolvers.get(server);
  if (r === undefined) {
    r = new EndpointResolver(server, QUERY_TIMEOUT_MS);
    resolvers.set(server, r);
  }
  return r;
}

/**
 * A net.connect lookup function that resolves through `resolver`, waiting at most `timeoutMs` (just
 * under the connection's connect timeout, so that a DNS server that does not answer shows as `dns`, not
 * as a connect timeout). Errors keep c-ares' code and syscall (queryA).
 */
function lookupVia(resolver: EndpointResolver, timeoutMs: number): LookupFunction {
  return (hostname, options, callback) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            Object.assign(new Error(`queryA ETIMEOUT ${hostname}`), { code: 'ETIMEOUT', syscall: 'queryA', hostname }),
          ),
        Math.max(1, timeoutMs - 1),
      );
    });
    Promise.race([resolver.resolve(hostname), expired])
      .finally(() => clearTimeout(timer))
      .then(
        (r) => {
          if (options.all === true) callback(null, [{ address: r.address, family: 4 } satisfies LookupAddress]);
          else callback(null, r.address, 4);
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 4),
      );
  };
}

/**
 * mysql2's `stream` option for a connection to host:port whose name is resolved through `dnsServer`
 * (undefined without one, or when the host is an IP address: mysql2 connects as it always does).
 */
export function streamFactory(
  host: string,
  port: number,
  dnsServer: string | undefined,
  timeoutMs: number,
): (() => Socket) | undefined {
  if (dnsServer === undefined || isIP(host) !== 0) return undefined;
  const lookup = lookupVia(resolverFor(dnsServer), timeoutMs);
  return () => {
    const socket = connect({ host, port, lookup, family: 4, autoSelectFamily: false });
    socket.setNoDelay(true); // as mysql2 does for its own sockets
    return socket;
  };
}

/** The address(es) `host` resolves to now, through `dnsServer` (one A query) or the system resolver. */
export async function resolveNow(host: string, dnsServer: string | undefined): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  if (dnsServer !== undefined) return [(await resolverFor(dnsServer).query(host)).address];
  const all = await new Promise<LookupAddress[]>((resolve, reject) =>
    systemLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
  return all.map((a) => a.address);
}

/** The peer address a connection actually reached (its socket's remoteAddress), or null before it connected. */
export function remoteAddressOf(conn: unknown): string | null {
  const stream = (conn as { stream?: { remoteAddress?: string } } | null)?.stream;
  return stream?.remoteAddress ?? null;
}
