/** load: the probes' rates, client model, timeouts and statements. */
import {
  checkConnection,
  checkMaxInFlight,
  checkRate,
  checkSlow,
  checkTable,
  checkTimeout,
  checkWorkers,
} from '../rules.js';
import { DNS_SERVER_PATTERN, LOAD_KEYS } from '../shape.js';
import { SCENARIO_DEFAULTS, type LoadSpec } from '../types.js';
import { close, open, readString, readWith, type Problems } from './read.js';

export function parseLoad(p: Problems, v: unknown): LoadSpec | undefined {
  const d = SCENARIO_DEFAULTS;
  if (v === undefined) v = {};
  const o = open(p, v, 'load', LOAD_KEYS, 'a mapping with reads:, writes:, … (or left out for the defaults)');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const reads = readWith(p, o, 'reads', checkRate);
  const writes = readWith(p, o, 'writes', checkRate);
  const workers = readWith(p, o, 'workers', checkWorkers);
  const connections = readWith(p, o, 'connection', checkConnection);
  const timeoutMs = readWith(p, o, 'timeout', checkTimeout);
  const connectTimeoutMs = readWith(p, o, 'connectTimeout', checkTimeout);
  const slowMs = readWith(p, o, 'slow', checkSlow);
  const dnsServer = readString(p, o, 'dnsServer', {
    pattern: DNS_SERVER_PATTERN,
    patternText: 'an IPv4 address with an optional port, e.g. 127.0.0.1:5353',
  });
  const maxInFlight = readWith(p, o, 'maxInFlight', checkMaxInFlight);
  const table = readWith(p, o, 'table', checkTable);
  const readSql = readString(p, o, 'readSql');
  const writeSql = readString(p, o, 'writeSql');
  const readsPerSec = reads ?? d.readsPerSec;
  const writesPerSec = writes ?? d.writesPerSec;
  if (reads !== undefined && writes !== undefined && readsPerSec === 0 && writesPerSec === 0) {
    p.add('load', 'reads and writes are both 0; set at least one above 0');
  }
  if (slowMs !== undefined && slowMs >= (timeoutMs ?? d.timeoutMs)) {
    p.add('load.slow', 'must be below load.timeout (a probe slower than the timeout has failed, not slowed)');
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
    slowMs,
    dnsServer: dnsServer === undefined ? undefined : dnsServer.includes(':') ? dnsServer : `${dnsServer}:53`,
    maxInFlight: maxInFlight ?? d.maxInFlight,
    table: table ?? d.table,
    readSql,
    writeSql,
  };
}
