/**
 * What a worker does with its connections before the start (engine.ts `warm()`): the probe statements checked
 * for preparing, and the driver's code warmed by the read probe, whose median round trip the run checks its
 * rate against (rate-capacity.ts). Each step is bounded as a probe is: a server that takes a connection and
 * never answers (hung, blackholed) must not hold the run before its start.
 */
import type mysql from 'mysql2';
import type { ConnectionStrategy } from './connections.js';
import { bindParams, type CompiledSql } from './probes.js';
import { median } from './rate-capacity.js';

/** Queries, and at most this long, spent warming the driver's code before the start. */
const WARM_CODE_QUERIES = 2000;
const WARM_CODE_MS = 1000;
/** Per-probe: connects + queries timed before the start (rate-capacity.ts). */
const WARM_CONNECTS = 5;

export type QueryCallback = (err: mysql.QueryError | null, rows: unknown) => void;

/**
 * Sends a probe's statement, prepared (binary protocol) or as text. The SQL and values go as arguments: given as
 * one object, mysql2 spreads it into its options per call, a copy that changes the object's shape on every probe.
 */
export function sendProbe(
  prepared: boolean,
  c: mysql.Connection,
  sql: string,
  values: (string | number)[],
  cb: QueryCallback,
): void {
  if (prepared) c.execute(sql, values, cb);
  else c.query(sql, values, cb);
}

/** Whether a driver error broke its connection (mysql2 marks it `fatal`). */
export function isFatal(err: unknown): boolean {
  return (err as { fatal?: boolean } | null)?.fatal === true;
}

/**
 * Acquires a connection and hands it to `use`, which calls `done(result, healthy)` when its query answered.
 * Resolves with that result; with false when no connection came, or when `boundMs` passed first: then the
 * connection (or the wait for one) is given up and discarded, and a late answer is ignored.
 */
function useBounded(
  strategy: ConnectionStrategy,
  connectTimeoutMs: number,
  boundMs: number,
  use: (c: mysql.Connection, done: (result: boolean, healthy: boolean) => void) => void,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false;
    let conn: mysql.Connection | null = null;
    const settle = (result: boolean): void => {
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      if (conn === null) waiter.cancel();
      else strategy.release(conn, false);
      settle(false);
    }, boundMs);
    const waiter = strategy.acquire(connectTimeoutMs, {
      take: (c) => {
        if (settled) {
          strategy.release(c, true); // handed over after the bound passed
          return;
        }
        conn = c;
        use(c, (result, healthy) => {
          if (settled) return;
          strategy.release(c, healthy);
          settle(result);
        });
      },
      fail: () => {
        if (!settled) settle(false);
      },
    });
  });
}

export interface WarmBounds {
  connectTimeoutMs: number;
  timeoutMs: number;
}

/**
 * Prepares `sql` once: false when the server refuses to prepare it (e.g. 1295: the probes then use the text
 * protocol). A server that does not answer, or no connection now, leaves the prepared path on (true), for the
 * probes to meet the same trouble. The statement stays in mysql2's cache for the first probe on that connection.
 */
export async function preparable(strategy: ConnectionStrategy, sql: string, b: WarmBounds): Promise<boolean> {
  let refused = false;
  await useBounded(strategy, b.connectTimeoutMs, b.timeoutMs, (c, done) =>
    c.prepare(sql, (err) => {
      refused = err !== null && !isFatal(err);
      done(true, !isFatal(err));
    }),
  );
  return !refused;
}

export interface WarmCode extends WarmBounds {
  strategy: ConnectionStrategy;
  sql: CompiledSql;
  prepared: boolean;
  runId: string;
  pooled: boolean;
  poolSize: number;
  now: () => number;
}

/**
 * Runs the read probe's query (a read, so nothing is written) a few hundred times, on up to 4 pooled
 * connections at once, so that the first measured second does not pay for the driver's code being compiled by
 * the JIT; per-probe, a few connects and queries one at a time. Bounded in time; a failure here is left for the
 * measured probes to meet. Returns their median latency (ms), null when none answered.
 */
export async function warmCode(w: WarmCode): Promise<number | null> {
  const values = bindParams(w.sql, w.runId, -1, 0);
  const until = w.now() + WARM_CODE_MS;
  let left = w.pooled ? WARM_CODE_QUERIES : WARM_CONNECTS;
  const tookMs: number[] = [];
  const loop = async (): Promise<void> => {
    while (left > 0 && w.now() < until) {
      left--;
      const fromMs = w.now();
      const ok = await useBounded(w.strategy, w.connectTimeoutMs, w.timeoutMs, (c, done) =>
        sendProbe(w.prepared, c, w.sql.sql, values, (err) => {
          if (!err) tookMs.push(w.now() - fromMs);
          done(!err, !err);
        }),
      );
      if (!ok) return;
    }
  };
  await Promise.all(Array.from({ length: w.pooled ? Math.min(4, w.poolSize) : 1 }, loop));
  return median(tookMs);
}
