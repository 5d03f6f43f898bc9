/**
 * Can the harness carry the rate it was asked for? Little's law: an op sent at R probes/s whose probes each hold
 * a connection for L ms keeps R × L / 1000 connections busy on average. A worker holds at most min(pool size,
 * in-flight cap) of them per op (per-probe: the in-flight cap), so the workers carry at most
 * `workers × slots × 1000 / L` probes/s. Beyond that, probes queue for a connection, the in-flight cap fills
 * and due probes are `dropped`: an outage the harness made, not the database.
 *
 * L is the latency measured before the start (engine.ts warmCode: the warm-up queries on the pool, a few
 * connects + queries per-probe), on a quiet server; under load it is higher, hence the headroom. A CPU
 * ceiling of the load host is not guessed here: it cannot be measured before the start (the in-run watch,
 * bottleneck.ts, sees it as send lag).
 */
import type { ConnectionModel, Op } from '../results/types.js';
import { formatMs } from '../util/duration.js';

/** An op is carried when its rate is at most this share of what the pools can carry. */
const HEADROOM = 0.7;

/** The largest pool the flag accepts (scenario/types.ts limits): auto-sizing stays within it. */
const POOL_SIZE_LIMIT = 1000;

/** Of the connections the server has free, auto-sizing takes at most this share: the application needs them. */
export const SERVER_ROOM_SHARE = 0.5;

/** The harness as configured: what bounds the connections each op may have in flight. */
export interface Harness {
  connection: ConnectionModel;
  workers: number;
  /** Pool model: connections per op per worker. */
  poolSize: number;
  /** The in-flight cap per op, across workers (--max-in-flight). */
  maxInFlight: number;
}

/** Each worker's share of the in-flight cap (per op). */
export function inFlightCapPerWorker(maxInFlight: number, workers: number): number {
  return Math.max(1, Math.ceil(maxInFlight / workers));
}

/** The harness's in-flight cap per op per worker. */
export function capPerWorker(h: Harness): number {
  return inFlightCapPerWorker(h.maxInFlight, h.workers);
}

/** Connections one worker may hold for one op at once. */
function slotsPerWorker(h: Harness): number {
  return h.connection === 'pool' ? Math.min(h.poolSize, capPerWorker(h)) : capPerWorker(h);
}

/** Probes/s the workers can carry for one op at `latencyMs` per probe. */
export function capacityPerSec(h: Harness, latencyMs: number): number {
  return (h.workers * slotsPerWorker(h) * 1000) / Math.max(latencyMs, 1e-3);
}

/** Connections an op keeps in flight on average (across workers). */
function inFlightNeeded(ratePerSec: number, latencyMs: number): number {
  return (ratePerSec * latencyMs) / 1000;
}

/** Slots per worker that carry the rate with the headroom. */
export function slotsNeededPerWorker(ratePerSec: number, latencyMs: number, workers: number): number {
  return Math.max(1, Math.ceil(inFlightNeeded(ratePerSec, latencyMs) / workers / HEADROOM));
}

export function carries(h: Harness, ratePerSec: number, latencyMs: number): boolean {
  return ratePerSec <= HEADROOM * capacityPerSec(h, latencyMs);
}

/** The median of some samples (ms), or null when there are none. */
export function median(samples: readonly number[]): number | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}

export interface OpRate {
  op: Op;
  ratePerSec: number;
}

/** What holds an auto-sized pool below what the rate needs. */
export type SizeCap = 'max-in-flight' | 'server' | 'pool-size-limit';

/**
 * The pool size (per op per worker) the rates need, for a pool left at its default: never smaller than the
 * default, at most the in-flight cap, the flag's limit and `serverRoomPerPool` (null: the server did not say).
 * `cappedBy` names the bound that held it below the need, if any.
 */
export function autoPoolSize(
  h: Harness,
  rates: readonly OpRate[],
  latencyMs: number,
  serverRoomPerPool: number | null,
): { poolSize: number; cappedBy: SizeCap | null } {
  const need = Math.max(h.poolSize, ...rates.map((r) => slotsNeededPerWorker(r.ratePerSec, latencyMs, h.workers)));
  const bounds: [number, SizeCap][] = [
    [capPerWorker(h), 'max-in-flight'],
    [POOL_SIZE_LIMIT, 'pool-size-limit'],
  ];
  if (serverRoomPerPool !== null) bounds.push([serverRoomPerPool, 'server']);
  let poolSize = need;
  let cappedBy: SizeCap | null = null;
  for (const [bound, name] of bounds) {
    if (bound < poolSize) {
      poolSize = bound;
      cappedBy = name;
    }
  }
  return { poolSize: Math.max(h.poolSize, poolSize), cappedBy };
}

/** `reads`, `writes`: the op as its rate flag names it. */
export function opWords(op: Op): string {
  return op === 'read' ? 'reads' : 'writes';
}

function latencyWords(h: Harness, latencyMs: number): string {
  return `at the ${formatMs(latencyMs)} measured ${h.connection === 'pool' ? '' : 'connect + query '}latency`;
}

/** `10500 reads/s need ~33 connection(s) in flight at the 3.1 ms measured latency` */
function needWords(h: Harness, r: OpRate, latencyMs: number): string {
  const need = Math.max(1, Math.ceil(inFlightNeeded(r.ratePerSec, latencyMs)));
  return `${r.ratePerSec} ${opWords(r.op)}/s need ~${need} connection(s) in flight ${latencyWords(h, latencyMs)}`;
}

/**
 * The one line (without `downtime: warning: `) for an op the harness cannot carry: the need, what holds it,
 * and the flag to change. `sized`: the pool was raised from its default and held below the need by a cap.
 */
export function shortfallWarning(
  h: Harness,
  r: OpRate,
  latencyMs: number,
  sized?: { fromPoolSize: number; cappedBy: SizeCap | null },
): string {
  const perWorker = slotsNeededPerWorker(r.ratePerSec, latencyMs, h.workers);
  const poolBinds = h.connection === 'pool' && h.poolSize <= capPerWorker(h);
  const holds = poolBinds
    ? `the pool${sized ? `, raised from ${sized.fromPoolSize},` : ''} holds ${h.workers} worker(s) × ${h.poolSize}`
    : `the in-flight cap holds ${h.workers} worker(s) × ${capPerWorker(h)}`;
  let fix: string;
  if (sized?.cappedBy === 'server') {
    fix = `the server's free connections allow no more (auto-sizing takes at most ${SERVER_ROOM_SHARE * 100} % of them): give --pool-size, raise max_connections, or lower --${opWords(r.op)}`;
  } else if (sized?.cappedBy === 'pool-size-limit') {
    fix = `raise --workers, or lower --${opWords(r.op)}`;
  } else {
    const raise: string[] = [];
    // An auto-sized pool follows a raised cap by itself.
    if (h.connection === 'pool' && perWorker > h.poolSize && sized === undefined) {
      raise.push(`--pool-size to ${perWorker}`);
    }
    if (perWorker > capPerWorker(h)) raise.push(`--max-in-flight to ${perWorker * h.workers}`);
    // More workers add pools, but split the in-flight cap between them.
    const orWorkers = perWorker <= capPerWorker(h) ? ' (or --workers)' : '';
    fix = `raise ${raise.join(' and ')}${orWorkers}`;
  }
  return `${needWords(h, r, latencyMs)}; ${holds}; ${fix}`;
}

/** The info line (without `downtime: `) for a default pool raised to carry the rates. */
export function sizedNote(h: Harness, fromPoolSize: number, rates: readonly OpRate[], latencyMs: number): string {
  const top = rates.reduce((a, b) => (b.ratePerSec > a.ratePerSec ? b : a));
  return `pool size raised from ${fromPoolSize} to ${h.poolSize} per op per worker (${h.workers} worker(s)): ${needWords(h, top, latencyMs)} (--pool-size sets it)`;
}
