import mysql from 'mysql2';
import type { Op } from '../results/types.js';
import { identityKey, type Identity } from '../results/types.js';
import { wallClockMs } from '../io.js';
import { identityFromRow } from './probes.js';
import type { WorkerConfig, WorkerMessage } from './protocol.js';
import { remoteAddressOf, streamFactory } from './resolve.js';
import { securityOptions } from './tls.js';

/**
 * One mysql2 connection, as every connection model uses it: opened with the run's credentials, TLS and DNS
 * (connect), watched until it dies (track, isDead), torn down (destroy), and asked once whom it reached
 * (reportConnect, connectReporter). The driver's seam: a second database fills these.
 */
export type Connection = mysql.Connection;

/**
 * Prepared statements a connection keeps. mysql2's default (16,000) allocates four arrays of that length for
 * its statement cache in every new connection, 0.5 MB: at 2,000 new connections a second (per-probe clients,
 * a pool reconnecting) the worker spent over half its time collecting them and stalled. A connection here
 * prepares one probe statement (its op's); a few spare slots cost nothing.
 */
const PREPARED_PER_CONNECTION = 4;

/** A new connection to the target, its handshake bounded by `connectTimeoutMs` (it starts at once). */
export function connect(cfg: WorkerConfig['conn'], connectTimeoutMs: number): Connection {
  // With a DNS server of its own, the name is resolved for this connection (through a TTL cache) and the
  // socket goes to that address; remoteAddressOf(conn) (resolve.ts) tells which address it reached.
  const stream = streamFactory(cfg.host, cfg.port, cfg.dnsServer, connectTimeoutMs);
  const conn = mysql.createConnection({
    ...(stream !== undefined ? { stream } : {}),
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database: cfg.database,
    connectTimeout: Math.max(1, Math.round(connectTimeoutMs)),
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: true,
    multipleStatements: false,
    maxPreparedStatements: PREPARED_PER_CONNECTION,
    ...securityOptions(cfg.tls, cfg.password),
  });
  return conn;
}

/** What a new connection learned about its server when it connected (who answers it, and where it went). */
interface ConnectedInfo {
  /** Pool: from one identity query per new connection; per-probe: null (reads carry it; no extra round trip). */
  identity: Identity | null;
  /** The server version from the handshake. */
  version: string | null;
  /** The address the endpoint name resolved to: the socket's remote address. */
  address: string | null;
  /** When it was learned (epoch ms). */
  atMs: number;
}
export type OnConnected = (info: ConnectedInfo) => void;

/** The identity query a pooled connection runs once, right after its handshake. */
const IDENTITY_SQL =
  'SELECT @@server_id AS server_id, @@hostname AS hostname, @@version AS version, @@read_only AS read_only';

/**
 * Calls `onConnected` once the connection is up: pool connections run IDENTITY_SQL (one round trip per new
 * connection, queued after the probe it was opened for), per-probe connections report the handshake's version
 * only.
 */
export function reportConnect(conn: Connection, withQuery: boolean, onConnected: OnConnected | undefined): void {
  if (onConnected === undefined) return;
  const now = wallClockMs;
  if (withQuery) {
    conn.query(IDENTITY_SQL, (err, rows) => {
      if (err) return; // the probe on this connection meets the same error
      const row = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
      const identity = identityFromRow(row);
      onConnected({ identity, version: identity?.version ?? null, address: remoteAddressOf(conn), atMs: now() });
    });
  } else {
    conn.once('connect', (handshake: { serverVersion?: unknown } | undefined) => {
      // MariaDB prefixes its version with "5.5.5-" in the handshake, for old clients' sake.
      const version =
        typeof handshake?.serverVersion === 'string' ? handshake.serverVersion.replace(/^5\.5\.5-/, '') : null;
      onConnected({ identity: null, version, address: remoteAddressOf(conn), atMs: now() });
    });
  }
}

/**
 * An op's OnConnected that tells the main thread only what changed: a per-probe client connects for every
 * probe, and a pool replaces connections; most connect to the server the last one reached.
 */
export function connectReporter(op: Op, send: (m: WorkerMessage) => void): OnConnected {
  let last: string | null = null;
  return (info) => {
    const key = `${info.identity ? identityKey(info.identity) : ''}\u0000${info.version ?? ''}\u0000${info.address ?? ''}`;
    if (key === last) return;
    last = key;
    send({ type: 'connected', op, ...info });
  };
}

interface Tracked {
  dead: boolean;
  die: () => void;
}

const STATE = new WeakMap<Connection, Tracked>();

export function track(conn: Connection, onDead: () => void): Connection {
  const st: Tracked = {
    dead: false,
    die: () => {
      if (st.dead) return;
      st.dead = true;
      onDead();
    },
  };
  STATE.set(conn, st);
  const die = st.die;
  // An idle connection whose server went away emits 'error' (with no callback to receive it) or 'end':
  // without these listeners that error would crash the worker.
  conn.on('error', die);
  conn.on('end', die);
  return conn;
}

export function isDead(conn: Connection): boolean {
  return STATE.get(conn)?.dead ?? true;
}

export function connectionLost(): Error {
  return Object.assign(new Error('Connection lost: the server closed the connection.'), {
    code: 'PROTOCOL_CONNECTION_LOST',
    fatal: true,
  });
}

/** Tears a connection down at once and marks it dead (its pending callbacks get an error). */
export function destroy(conn: Connection): void {
  try {
    conn.destroy();
  } catch {
    // already gone
  }
  STATE.get(conn)?.die();
}

/**
 * Closes a healthy connection politely: COM_QUIT, then the socket. mysql2 calls end()'s callback just *before*
 * it writes COM_QUIT: destroying there ended the socket first, the quit failed (write after end) and the
 * server counted (and, at log_warnings=2, logged) the connection as aborted.
 */
export function quit(conn: Connection): void {
  if (isDead(conn)) return;
  try {
    conn.end(() => setImmediate(() => destroy(conn)));
  } catch {
    destroy(conn);
  }
}
