import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { DowntimeError, ExitCode } from '../errors.js';
import { wallClockMs } from '../io.js';

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
  /** TTL of answers (seconds); may be changed at any time. */
  ttlS: number;
  /** Points `name` at `ipv4`; returns the epoch ms from which queries get the new answer. */
  set(name: string, ipv4: string): number;
  /** Removes `name` (queries get NXDOMAIN); returns the epoch ms it took effect. */
  delete(name: string): number;
  /** What `name` resolves to now (null if not in the table). */
  get(name: string): string | null;
  /**
   * A fault for `name` (or every name, with `name` omitted); null ends it. Returns the epoch ms it took
   * effect. A name's own fault wins over the server-wide one.
   */
  fault(mode: DnsFaultMode | null, name?: string): number;
  /** Queries received, per lowercased name (all types). */
  queries(name?: string): number;
  close(): Promise<void>;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const TYPE_A = 1;
const CLASS_IN = 1;
const ALL = '*';

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

interface Question {
  name: string;
  type: number;
  cls: number;
  /** Byte offset just past the question. */
  end: number;
}

/** Parses the first question of a query; null if malformed (no compression in questions). */
function parseQuestion(msg: Buffer): Question | null {
  let off = 12;
  const labels: string[] = [];
  for (let guard = 0; guard < 128; guard++) {
    if (off >= msg.length) return null;
    const len = msg[off] as number;
    off++;
    if (len === 0) {
      if (off + 4 > msg.length) return null;
      return {
        name: labels.join('.').toLowerCase(),
        type: msg.readUInt16BE(off),
        cls: msg.readUInt16BE(off + 2),
        end: off + 4,
      };
    }
    if (len > 63 || off + len > msg.length) return null;
    labels.push(msg.toString('latin1', off, off + len));
    off += len;
  }
  return null;
}

/** A response to `query`: its id, opcode and RD echoed, QR and AA set, the question copied. */
function response(query: Buffer, q: Question | null, rcode: number, answer: Buffer | null): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.length >= 2 ? query.readUInt16BE(0) : 0, 0);
  const qflags = query.length >= 4 ? query.readUInt16BE(2) : 0;
  const opcode = qflags & 0x7800;
  const rd = qflags & 0x0100;
  header.writeUInt16BE(0x8000 | opcode | 0x0400 | rd | rcode, 2);
  header.writeUInt16BE(q ? 1 : 0, 4);
  header.writeUInt16BE(answer ? 1 : 0, 6);
  const question = q ? query.subarray(12, q.end) : Buffer.alloc(0);
  return Buffer.concat([header, question, answer ?? Buffer.alloc(0)]);
}

function aRecord(ipv4: string, ttlS: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16BE(0xc00c, 0); // pointer to the question's name
  b.writeUInt16BE(TYPE_A, 2);
  b.writeUInt16BE(CLASS_IN, 4);
  b.writeUInt32BE(Math.max(0, Math.floor(ttlS)), 6);
  b.writeUInt16BE(4, 10);
  ipv4.split('.').forEach((p, i) => b.writeUInt8(Number(p), 12 + i));
  return b;
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

/** Starts the DNS server on 127.0.0.1 (UDP); resolves when it is listening. */
export async function startDnsServer(opts: DnsServerOptions = {}): Promise<DnsServer> {
  let ttlS = checkTtl(opts.ttlS ?? 1);
  const table = new Map<string, string>();
  const faults = new Map<string, DnsFaultMode>();
  const counts = new Map<string, number>();
  for (const [name, ip] of Object.entries(opts.records ?? {})) {
    checkRecord(name, ip);
    table.set(normalize(name), ip);
  }
  const sock: Socket = createSocket({ type: 'udp4' });
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12 || (msg[2] as number) & 0x80) return; // too short, or a response: ignore
    const opcode = ((msg[2] as number) >> 3) & 0x0f;
    const qdcount = msg.readUInt16BE(4);
    const q = opcode === 0 && qdcount === 1 ? parseQuestion(msg) : null;
    let reply: Buffer | null;
    if (opcode !== 0) reply = response(msg, null, RCODE.NOTIMP, null);
    else if (q === null) reply = response(msg, null, RCODE.FORMERR, null);
    else {
      counts.set(q.name, (counts.get(q.name) ?? 0) + 1);
      const mode = faults.get(q.name) ?? faults.get(ALL);
      const ip = table.get(q.name);
      if (mode === 'drop') reply = null;
      else if (mode === 'servfail') reply = response(msg, q, RCODE.SERVFAIL, null);
      else if (mode === 'nxdomain' || ip === undefined) reply = response(msg, q, RCODE.NXDOMAIN, null);
      else if (q.type === TYPE_A && q.cls === CLASS_IN) reply = response(msg, q, RCODE.NOERROR, aRecord(ip, ttlS));
      else reply = response(msg, q, RCODE.NOERROR, null);
    }
    if (reply !== null) sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port ?? 0, '127.0.0.1', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  // A late socket error (none expected on loopback) must not crash the process.
  sock.on('error', () => undefined);
  const port = sock.address().port;
  let closed = false;
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    get ttlS() {
      return ttlS;
    },
    set ttlS(v: number) {
      ttlS = checkTtl(v);
    },
    set(name, ipv4) {
      checkRecord(name, ipv4);
      table.set(normalize(name), ipv4);
      return wallClockMs();
    },
    delete(name) {
      table.delete(normalize(name));
      return wallClockMs();
    },
    get(name) {
      return table.get(normalize(name)) ?? null;
    },
    fault(mode, name) {
      const key = name === undefined ? ALL : normalize(name);
      if (mode === null) faults.delete(key);
      else if (mode === 'nxdomain' || mode === 'servfail' || mode === 'drop') faults.set(key, mode);
      else {
        throw new DowntimeError(`DNS fault must be nxdomain, servfail or drop (got "${String(mode)}")`, ExitCode.Usage);
      }
      return wallClockMs();
    },
    queries(name) {
      if (name !== undefined) return counts.get(normalize(name)) ?? 0;
      let n = 0;
      for (const c of counts.values()) n += c;
      return n;
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => sock.close(() => resolve()));
    },
  };
}
