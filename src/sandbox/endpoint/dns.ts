import { isIPv4 } from 'node:net';
import { DowntimeError, ExitCode } from '../../errors.js';
import { startRpcWorker } from './worker-rpc.js';

/**
 * A tiny authoritative DNS server for the sandbox and the tests, on loopback UDP only: it answers A
 * queries from a mutable table { name → IPv4 } with a fixed TTL, so that an endpoint name can be moved
 * from one loopback address to another mid-run (127.0.0.0/8 is all loopback on Linux: blue on
 * 127.0.0.1, green on 127.0.0.2), as RDS moves an endpoint's DNS record in a blue/green switchover or a
 * Multi-AZ failover. Faults: NXDOMAIN (the name is gone), SERVFAIL, and drop (no answer at all: the
 * client's resolver times out).
 *
 * What it answers: A for a name in the table → NOERROR, AA, one answer with the TTL; any other type
 * (AAAA, …) for a name in the table → NOERROR with no answer (NODATA); a name not in the table →
 * NXDOMAIN; a malformed query or one with other than one question → FORMERR; an opcode other than
 * QUERY → NOTIMP. No negative-caching SOA is sent, so resolvers do not cache NXDOMAIN.
 *
 * It runs in a worker thread of its own (dns-worker.ts), as a real DNS server is independent of its
 * clients: the harness's main thread, where a test starts it, blocks for fdatasync every second. So the
 * changes are messages: each resolves with the epoch ms at which the server applied it.
 */
export type DnsFaultMode = 'nxdomain' | 'servfail' | 'drop';

export interface DnsServerOptions {
  /** TTL of every answer, seconds (default 1; 0 = do not cache). */
  ttlS?: number;
  /** UDP port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Initial records. */
  records?: Record<string, string>;
}

export interface DnsServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `127.0.0.1:PORT`, as `--dns-server` takes it. */
  readonly address: string;
  /** TTL of answers (seconds), as last set. */
  readonly ttlS: number;
  /** Sets the TTL of answers from now on; resolves with the epoch ms it took effect. */
  setTtl(ttlS: number): Promise<number>;
  /** Points `name` at `ipv4`; resolves with the epoch ms from which queries get the new answer. */
  set(name: string, ipv4: string): Promise<number>;
  /** Removes `name` (queries get NXDOMAIN); resolves with the epoch ms it took effect. */
  delete(name: string): Promise<number>;
  /** What `name` resolves to, as last set (null if not in the table). */
  get(name: string): string | null;
  /**
   * A fault for `name` (or every name, with `name` omitted); null ends it. Resolves with the epoch ms it
   * took effect. A name's own fault wins over the server-wide one.
   */
  fault(mode: DnsFaultMode | null, name?: string): Promise<number>;
  /** Queries received, per lowercased name (all types), or in all. */
  queries(name?: string): Promise<number>;
  close(): Promise<void>;
}

/** What the worker is started with. */
export interface DnsWorkerData {
  ttlS: number;
  port: number;
  records: Record<string, string>;
}

export type DnsCommand =
  | { id: number; op: 'set'; name: string; ipv4: string }
  | { id: number; op: 'delete'; name: string }
  | { id: number; op: 'ttl'; ttlS: number }
  | { id: number; op: 'fault'; mode: DnsFaultMode | null; name?: string }
  | { id: number; op: 'queries'; name?: string }
  | { id: number; op: 'close' };

/** id 0: listening (value: the port); -1: a socket error; else the reply to that command. */
export interface DnsReply {
  id: number;
  atMs: number;
  value?: number;
  error?: string;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function checkTtl(ttlS: number): number {
  if (!Number.isInteger(ttlS) || ttlS < 0 || ttlS > 86_400) {
    throw new DowntimeError(`DNS TTL must be a whole number of seconds from 0 to 86400 (got ${ttlS})`, ExitCode.Usage);
  }
  return ttlS;
}

function checkRecord(name: string, ipv4: string): void {
  if (!isIPv4(ipv4)) {
    throw new DowntimeError(`DNS record for ${name} must be an IPv4 address (got "${ipv4}")`, ExitCode.Usage);
  }
  if (
    !/^[A-Za-z0-9_.-]{1,253}$/.test(name) ||
    normalize(name)
      .split('.')
      .some((l) => l === '' || l.length > 63)
  ) {
    throw new DowntimeError(`"${name}" is not a DNS name (labels of letters, digits, - and _)`, ExitCode.Usage);
  }
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** Starts the DNS server on 127.0.0.1 (UDP) in its own thread; resolves when it is listening. */
export async function startDnsServer(opts: DnsServerOptions = {}): Promise<DnsServer> {
  let ttlS = checkTtl(opts.ttlS ?? 1);
  const mirror = new Map<string, string>();
  for (const [name, ip] of Object.entries(opts.records ?? {})) {
    checkRecord(name, ip);
    mirror.set(normalize(name), ip);
  }
  const rpc = await startRpcWorker<DnsReply>(
    new URL('./dns-worker.js', import.meta.url),
    { ttlS, port: opts.port ?? 0, records: Object.fromEntries(mirror) } satisfies DnsWorkerData,
    'the DNS server',
    (r) => ({
      ...(r.value !== undefined ? { started: r.value } : {}),
      ...(r.error !== undefined ? { error: new Error(`DNS server socket error: ${r.error}`) } : {}),
    }),
  );
  const port = rpc.started;
  const ask = (c: WithoutId<DnsCommand>): Promise<DnsReply> => rpc.ask(c);
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    get ttlS() {
      return ttlS;
    },
    setTtl(v) {
      ttlS = checkTtl(v);
      return ask({ op: 'ttl', ttlS: v }).then((r) => r.atMs);
    },
    set(name, ipv4) {
      checkRecord(name, ipv4);
      mirror.set(normalize(name), ipv4);
      return ask({ op: 'set', name, ipv4 }).then((r) => r.atMs);
    },
    delete(name) {
      mirror.delete(normalize(name));
      return ask({ op: 'delete', name }).then((r) => r.atMs);
    },
    get(name) {
      return mirror.get(normalize(name)) ?? null;
    },
    fault(mode, name) {
      if (mode !== null && mode !== 'nxdomain' && mode !== 'servfail' && mode !== 'drop') {
        throw new DowntimeError(`DNS fault must be nxdomain, servfail or drop (got "${String(mode)}")`, ExitCode.Usage);
      }
      return ask({ op: 'fault', mode, ...(name !== undefined ? { name } : {}) }).then((r) => r.atMs);
    },
    queries(name) {
      return ask({ op: 'queries', ...(name !== undefined ? { name } : {}) }).then((r) => r.value ?? 0);
    },
    close: () => rpc.close({ op: 'close' } satisfies WithoutId<DnsCommand>),
  };
}
