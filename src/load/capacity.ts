/**
 * The harness's connections against the server's limits. A pool the server cannot open in full before the
 * start (max_connections, max_user_connections, an account's MAX_USER_CONNECTIONS) is the harness's problem:
 * measured, its shortage would read as the database's downtime (every probe that finds no connection fails
 * with 1040). So the run is refused before the start, with the numbers and the flags that change them.
 *
 * Only the pool model opens its connections ahead of the start. A per-probe client holds one connection per
 * probe in flight; a server that runs out of them during the run is what its clients meet, and is measured.
 */
import type mysql from 'mysql2/promise';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Op } from '../results/types.js';
import { setupQuery } from './preflight.js';

/** What the server says about its connection limits (null: it would not say). */
export interface ConnectionLimits {
  maxConnections: number | null;
  /** 0 = no limit. The session's value: an account's own limit when it has one (MySQL). */
  maxUserConnections: number | null;
  /** Connections open on the server now, this setup connection included. */
  connected: number | null;
  /** Connections of this account now (the ones it may see: its own, or all with PROCESS). */
  userConnected: number | null;
}

/** One op's pool in one worker, as it came out of opening it before the start. */
export interface PoolOpened {
  op: Op;
  wanted: number;
  opened: number;
  /** The class of the first handshake that failed (classify.ts), and its message; null when none did. */
  errorClass: string | null;
  message: string | null;
}

/** The pools' connections the run opens before the start: per worker and op, min(pool size, in-flight cap). */
export interface PoolNeed {
  workers: number;
  ops: number;
  perPool: number;
}

function total(n: PoolNeed): number {
  return n.workers * n.ops * n.perPool;
}

function describe(n: PoolNeed): string {
  return `${total(n)} (${n.workers} worker(s) × ${n.ops} op(s) × ${n.perPool} connections)`;
}

const FIX = 'lower --pool-size (or --workers), or raise the limit; nothing was measured';

function num(v: unknown): number | null {
  const n = Number(v);
  return v === null || v === undefined || !Number.isFinite(n) ? null : n;
}

/** Reads the limits on the setup connection; anything the server will not tell stays null. */
export async function readConnectionLimits(conn: mysql.Connection): Promise<ConnectionLimits> {
  const limits: ConnectionLimits = {
    maxConnections: null,
    maxUserConnections: null,
    connected: null,
    userConnected: null,
  };
  const read = async (sql: string): Promise<Record<string, unknown> | undefined> => {
    try {
      const rows = (await setupQuery(conn, sql, [], 'reading the connection limits')) as Record<string, unknown>[];
      return rows[0];
    } catch (err) {
      if (err instanceof DowntimeError) throw err;
      return undefined; // not told: the pools' own opening says it, if it comes to that
    }
  };
  const vars = await read(
    'SELECT @@GLOBAL.max_connections AS max_connections, @@SESSION.max_user_connections AS max_user_connections',
  );
  limits.maxConnections = num(vars?.max_connections);
  limits.maxUserConnections = num(vars?.max_user_connections);
  limits.connected = num((await read("SHOW GLOBAL STATUS LIKE 'Threads_connected'"))?.Value);
  limits.userConnected = num(
    (
      await read(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)",
      )
    )?.n,
  );
  return limits;
}

/** Refuses a run whose pools cannot fit under the server's limits as they stand now. */
export function checkCapacity(need: PoolNeed, limits: ConnectionLimits, where: string): void {
  const want = total(need);
  if (limits.maxConnections !== null && limits.connected !== null) {
    const room = limits.maxConnections - limits.connected;
    if (want > room) {
      throw new DowntimeError(
        `${where} has room for ${Math.max(0, room)} more connection(s) (max_connections ${limits.maxConnections}, ${limits.connected} open) but the run's pools open ${describe(need)}: ${FIX} (max_connections)`,
        ExitCode.Unreachable,
      );
    }
  }
  if (limits.maxUserConnections !== null && limits.maxUserConnections > 0 && limits.userConnected !== null) {
    const room = limits.maxUserConnections - limits.userConnected;
    if (want > room) {
      throw new DowntimeError(
        `the probe user may open ${Math.max(0, room)} more connection(s) on ${where} (max_user_connections ${limits.maxUserConnections}, ${limits.userConnected} open) but the run's pools open ${describe(need)}: ${FIX} (max_user_connections)`,
        ExitCode.Unreachable,
      );
    }
  }
}

/**
 * The largest pool (per op per worker) the pools may grow to without a size given (rate-capacity.ts): the
 * pools as opened, plus `share` of the connections the server had left beside them. Null: it did not say.
 */
export function roomPerPool(need: PoolNeed, limits: ConnectionLimits, share: number): number | null {
  const rooms: number[] = [];
  if (limits.maxConnections !== null && limits.connected !== null) rooms.push(limits.maxConnections - limits.connected);
  if (limits.maxUserConnections !== null && limits.maxUserConnections > 0 && limits.userConnected !== null) {
    rooms.push(limits.maxUserConnections - limits.userConnected);
  }
  if (rooms.length === 0) return null;
  const free = Math.max(0, Math.min(...rooms) - total(need));
  return need.perPool + Math.floor((free * share) / (need.workers * need.ops));
}

/**
 * After the pools were opened: one the server refused for lack of connections (too-many-connections) refuses
 * the run. Other failures (the server went away meanwhile) are left to the run to measure.
 */
export function checkPoolsOpened(pools: readonly PoolOpened[], need: PoolNeed, where: string): void {
  const short = pools.filter((p) => p.opened < p.wanted && p.errorClass === 'too-many-connections');
  if (short.length === 0) return;
  const opened = pools.reduce((s, p) => s + p.opened, 0);
  const message = short[0]?.message ?? 'too many connections';
  throw new DowntimeError(
    `${where} let the run's pools open only ${opened} of their ${describe(need)} before the start (${message.replace(/\s+/g, ' ').trim()}): ${FIX} (max_connections, max_user_connections or the account's MAX_USER_CONNECTIONS)`,
    ExitCode.Unreachable,
  );
}
