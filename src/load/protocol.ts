import type { ConnectionModel, Op, SecondRecord } from '../results/types.js';
import type { Identity } from '../results/types.js';
import type { PoolOpened } from './capacity.js';
import type { CompiledSql } from './probes.js';
import type { TlsConfig } from './tls.js';

/** Everything a worker needs; passed as workerData. Holds the password: never log or store it. */
export interface WorkerConfig {
  worker: number;
  workers: number;
  runId: string;
  ops: Partial<Record<Op, { ratePerSec: number; sql: CompiledSql }>>;
  timeoutMs: number;
  connectTimeoutMs: number;
  connection: ConnectionModel;
  /** Cap on this worker's probes in flight, per op. */
  maxInFlight: number;
  /** Pool model: connections per op in this worker. */
  poolSize: number;
  conn: {
    host: string;
    port: number;
    user: string;
    database: string;
    password: string | undefined;
    /** Resolve `host` through this DNS server (IP:PORT) for every new connection (resolve.ts). */
    dnsServer?: string | undefined;
    /** TLS for every connection (tls.ts); `preferred` already settled at setup. */
    tls?: TlsConfig | undefined;
  };
  /** How often sealed seconds are sent to the main thread. */
  reportEveryMs: number;
}

/**
 * One worker's share of one op-second: a SecondRecord whose runs cover the worker's own seqs
 * ([firstSeq, count, outcome] over firstSeq, firstSeq + workers, …).
 */
export type WorkerBucket = Omit<SecondRecord, 'type' | 'sendLagUs' | 'edges'> & {
  sendLagUs: { p99: number; max: number };
  /** For each ok probe of this worker's share, in seq order: µs from its intended time to its answer. */
  okAfterUs: number[];
};

export type WorkerMessage =
  | { type: 'buckets'; buckets: WorkerBucket[]; sealedThroughSec: number }
  /**
   * Modules loaded and pool warmed (or grown): ready to be given a start time. What opening the pools gave, and
   * the warm-up probes' median latency (ms; null when none answered, or after a grow).
   */
  | { type: 'ready'; pools: PoolOpened[]; latencyMs: number | null }
  | { type: 'done' }
  /** This worker's reads are now answered by another server (or the same one with read_only flipped). */
  | {
      type: 'identity';
      identity: Identity;
      intendedMs: number;
      atMs: number;
      /** The address the answering connection reached (its socket's remote address). */
      address?: string | null;
    }
  /**
   * A new connection of `op` reached a server other than the op's last one did (connections.ts): pool
   * connections ask who they reached once (identity); per-probe ones report the handshake's version only.
   */
  | {
      type: 'connected';
      op: Op;
      identity: Identity | null;
      version: string | null;
      address: string | null;
      atMs: number;
    }
  /** This op's acknowledged probes reached `address` (sent on a change, and every 250 ms while it holds). */
  | { type: 'address'; op: Op; address: string; intendedMs: number; atMs: number }
  /**
   * While `op`'s pool was stuck (probes waiting, a handshake hanging, nothing answered), a connection opened
   * beside it (its scout: pool-scout.ts), begun at `startedMs`, was answered at `atMs`: the database is back.
   */
  | { type: 'reach'; op: Op; startedMs: number; atMs: number }
  /** The worker's event loop did not run from `fromMs` to `toMs` (longer than its stall threshold: stall.ts). */
  | { type: 'stall'; fromMs: number; toMs: number }
  | { type: 'error'; message: string };

export type MainMessage =
  | { type: 'start'; t0Ms: number; endMs: number }
  /** Before the start: raise the pools to this size (the rate needs it); answered with `ready`. */
  | { type: 'grow'; poolSize: number }
  | { type: 'stop'; atMs: number }
  /** A new password (--password-command refreshed it): connections opened from now on use it. */
  | { type: 'password'; password: string };

/** sealedThroughSec once a worker has nothing left to report. */
export const ALL_SEALED = Number.MAX_SAFE_INTEGER;
