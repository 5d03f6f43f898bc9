import { createSocket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { wallClockMs } from '../../io.js';
import type { DnsCommand, DnsFaultMode, DnsReply, DnsWorkerData } from './dns.js';

/**
 * The DNS server's own thread (src/sandbox/dns.ts): it owns the UDP socket and the table, so that it keeps
 * answering while the thread that started it is busy — the harness's main thread blocks in fdatasync once
 * a second, and a DNS server on that thread stalled with it, which no real DNS server does.
 */
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const TYPE_A = 1;
const CLASS_IN = 1;
export const ALL = '*';

export function normalize(name: string): string {
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

const port = parentPort;
if (port === null) throw new Error('dns-worker.ts must run as a worker thread');
const init = workerData as DnsWorkerData;
let ttlS = init.ttlS;
const table = new Map<string, string>(Object.entries(init.records).map(([k, v]) => [normalize(k), v]));
const faults = new Map<string, DnsFaultMode>();
const counts = new Map<string, number>();
const sock = createSocket({ type: 'udp4' });
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
sock.on('error', (err) => {
  port.postMessage({ id: -1, atMs: wallClockMs(), error: err.message } satisfies DnsReply);
});
sock.bind(init.port, '127.0.0.1', () => {
  port.postMessage({ id: 0, atMs: wallClockMs(), value: sock.address().port } satisfies DnsReply);
});

port.on('message', (c: DnsCommand) => {
  let value: number | undefined;
  if (c.op === 'set') table.set(normalize(c.name), c.ipv4);
  else if (c.op === 'delete') table.delete(normalize(c.name));
  else if (c.op === 'ttl') ttlS = c.ttlS;
  else if (c.op === 'fault') {
    const key = c.name === undefined ? ALL : normalize(c.name);
    if (c.mode === null) faults.delete(key);
    else faults.set(key, c.mode);
  } else if (c.op === 'queries') {
    if (c.name !== undefined) value = counts.get(normalize(c.name)) ?? 0;
    else {
      value = 0;
      for (const n of counts.values()) value += n;
    }
  } else if (c.op === 'close') {
    sock.close(() => {
      port.postMessage({ id: c.id, atMs: wallClockMs() } satisfies DnsReply);
      port.close();
    });
    return;
  }
  port.postMessage({ id: c.id, atMs: wallClockMs(), ...(value !== undefined ? { value } : {}) } satisfies DnsReply);
});
