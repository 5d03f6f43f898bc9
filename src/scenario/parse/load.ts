/** load: the probes' rates, client model, timeouts and statements. */
import type { ConnectionModel } from '../../results/types.js';
import { DNS_SERVER_PATTERN, IDENTIFIER_PATTERN, LOAD_KEYS } from '../shape.js';
import { CONNECTION_CHOICES, SCENARIO_DEFAULTS, SCENARIO_LIMITS, type LoadSpec } from '../types.js';
import { close, open, readDuration, readEnum, readNumber, readString, type Problems } from './read.js';

export function parseLoad(p: Problems, v: unknown): LoadSpec | undefined {
  const d = SCENARIO_DEFAULTS;
  if (v === undefined) v = {};
  const o = open(p, v, 'load', LOAD_KEYS, 'a mapping with reads:, writes:, … (or left out for the defaults)');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const rate = { min: 0, max: SCENARIO_LIMITS.maxRatePerSec, integer: false, unit: 'per second' };
  const reads = readNumber(p, o, 'reads', rate);
  const writes = readNumber(p, o, 'writes', rate);
  const workers = readNumber(p, o, 'workers', { min: 1, max: SCENARIO_LIMITS.maxWorkers, integer: true });
  const connection = readEnum(p, o, 'connection', CONNECTION_CHOICES);
  const connections = connection?.split(',') as ConnectionModel[] | undefined;
  const timeoutBounds = { minMs: SCENARIO_LIMITS.minTimeoutMs, maxMs: SCENARIO_LIMITS.maxTimeoutMs };
  const timeoutMs = readDuration(p, o, 'timeout', timeoutBounds);
  const connectTimeoutMs = readDuration(p, o, 'connectTimeout', timeoutBounds);
  const dnsServer = readString(p, o, 'dnsServer', {
    pattern: DNS_SERVER_PATTERN,
    patternText: 'an IPv4 address with an optional port, e.g. 127.0.0.1:5353',
  });
  const maxInFlight = readNumber(p, o, 'maxInFlight', { min: 1, max: SCENARIO_LIMITS.maxInFlight, integer: true });
  const table = readString(p, o, 'table', {
    pattern: IDENTIFIER_PATTERN,
    patternText: 'a plain identifier (letters, digits and _, not starting with a digit, at most 64)',
  });
  const readSql = readString(p, o, 'readSql');
  const writeSql = readString(p, o, 'writeSql');
  const readsPerSec = reads ?? d.readsPerSec;
  const writesPerSec = writes ?? d.writesPerSec;
  if (reads !== undefined && writes !== undefined && readsPerSec === 0 && writesPerSec === 0) {
    p.add('load', 'reads and writes are both 0; set at least one above 0');
  }
  close(p, o);
  if (p.list.length > before) return undefined;
  return {
    readsPerSec,
    writesPerSec,
    workers,
    connection: connections?.[0] ?? d.connection,
    connections: connections ?? [d.connection],
    timeoutMs: timeoutMs ?? d.timeoutMs,
    connectTimeoutMs: connectTimeoutMs ?? timeoutMs ?? d.timeoutMs,
    dnsServer: dnsServer === undefined ? undefined : dnsServer.includes(':') ? dnsServer : `${dnsServer}:53`,
    maxInFlight: maxInFlight ?? d.maxInFlight,
    table: table ?? d.table,
    readSql,
    writeSql,
  };
}
