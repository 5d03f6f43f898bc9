import mysql from 'mysql2';
import type { WorkerConfig } from './protocol.js';
import { streamFactory } from './resolve.js';
import { securityOptions } from './tls.js';

type Connection = mysql.Connection;

/** A request for a connection; cancel() withdraws it (the probe timed out while waiting). */
export interface Waiter {
  cancel(): void;
}

/**
 * How probes get a connection. `pool`: at most `poolSize` persistent connections reused like an
 * application's pool — a probe that finds them all busy waits for one (the wait is part of its latency,
 * as it is for the application), and a broken connection is discarded and replaced on demand.
 * `per-probe`: a new connection for every probe, as a serverless client sees DNS and connection refusal.
 */
export interface ConnectionStrategy {
  /** Calls `onConnection` with a connection, now or when one is free; connecting is bounded by `connectTimeoutMs`. */
  acquire(connectTimeoutMs: number, onConnection: (conn: Connection) => void): Waiter;
  /** Gives a connection back: healthy ones may be reused, others are destroyed. */
  release(conn: Connection, healthy: boolean): void;
  close(): void;
  /** Connections currently open (idle + in use). */
  openCount(): number;
  /** Opens up to `n` idle connections ahead of time (pool only); failures are left for probes to meet. */
  warm(n: number, connectTimeoutMs: number): Promise<void>;
}

const NO_WAIT: Waiter = { cancel: () => undefined };

/** Handshakes in flight at once while a pool is opened ahead of the start. */
const WARM_PARALLEL = 4;

function connect(cfg: WorkerConfig['conn'], connectTimeoutMs: number): Connection {
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
    ...securityOptions(cfg.tls, cfg.password),
  });
  return conn;
}

interface Tracked {
  dead: boolean;
  die: () => void;
}

const STATE = new WeakMap<Connection, Tracked>();

function track(conn: Connection, onDead: () => void): Connection {
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

function isDead(conn: Connection): boolean {
  return STATE.get(conn)?.dead ?? true;
}

export class PoolStrategy implements ConnectionStrategy {
  private idle: Connection[] = [];
  private open = 0;
  private waiters: { connectTimeoutMs: number; give: (c: Connection) => void; cancelled: boolean }[] = [];

  constructor(
    private readonly cfg: WorkerConfig['conn'],
    private readonly poolSize: number,
  ) {}

  private create(connectTimeoutMs: number): Connection {
    this.open++;
    let counted = true;
    const conn = track(connect(this.cfg, connectTimeoutMs), () => {
      if (counted) {
        counted = false;
        this.open--;
      }
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      // A slot came free: a waiting probe may open a new connection.
      this.serveWaiters();
    });
    return conn;
  }

  acquire(connectTimeoutMs: number, onConnection: (conn: Connection) => void): Waiter {
    while (this.idle.length > 0) {
      const c = this.idle.pop() as Connection;
      if (!isDead(c)) {
        onConnection(c);
        return NO_WAIT;
      }
    }
    if (this.open < this.poolSize) {
      onConnection(this.create(connectTimeoutMs));
      return NO_WAIT;
    }
    const w = { connectTimeoutMs, give: onConnection, cancelled: false };
    this.waiters.push(w);
    return { cancel: () => (w.cancelled = true) };
  }

  private nextWaiter(): (typeof this.waiters)[number] | undefined {
    let w = this.waiters.shift();
    while (w?.cancelled) w = this.waiters.shift();
    return w;
  }

  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const idle = this.idle.pop();
      if (idle !== undefined && isDead(idle)) continue;
      if (idle === undefined && this.open >= this.poolSize) return;
      const w = this.nextWaiter();
      if (w === undefined) {
        if (idle !== undefined) this.idle.push(idle);
        return;
      }
      w.give(idle ?? this.create(w.connectTimeoutMs));
    }
  }

  async warm(n: number, connectTimeoutMs: number): Promise<void> {
    // A bounded number of handshakes at a time: a large pool on many workers must not storm the server.
    let left = Math.min(n, this.poolSize) - this.open;
    const opener = async (): Promise<void> => {
      while (left > 0) {
        left--;
        const conn = this.create(connectTimeoutMs);
        const ok = await new Promise<boolean>((resolve) => conn.connect((err) => resolve(!err)));
        this.release(conn, ok);
        if (!ok) return; // the server refuses now: leave the rest for probes to meet
      }
    };
    await Promise.all(Array.from({ length: WARM_PARALLEL }, opener));
  }

  release(conn: Connection, healthy: boolean): void {
    if (healthy && !isDead(conn)) {
      const w = this.nextWaiter();
      if (w) w.give(conn);
      else this.idle.push(conn);
      return;
    }
    destroy(conn); // its slot frees through the dead hook, which serves waiters
  }

  close(): void {
    for (const w of this.waiters) w.cancelled = true;
    this.waiters = [];
    for (const c of this.idle) destroy(c);
    this.idle = [];
  }

  openCount(): number {
    return this.open;
  }
}

export class PerProbeStrategy implements ConnectionStrategy {
  private open = 0;
  constructor(private readonly cfg: WorkerConfig['conn']) {}

  acquire(connectTimeoutMs: number, onConnection: (conn: Connection) => void): Waiter {
    this.open++;
    let counted = true;
    onConnection(
      track(connect(this.cfg, connectTimeoutMs), () => {
        if (counted) {
          counted = false;
          this.open--;
        }
      }),
    );
    return NO_WAIT;
  }

  release(conn: Connection, healthy: boolean): void {
    if (healthy && !isDead(conn)) {
      // COM_QUIT, politely; the probe's latency was already taken, so closing costs it nothing.
      conn.end(() => destroy(conn));
      return;
    }
    destroy(conn);
  }

  close(): void {}

  async warm(): Promise<void> {}

  openCount(): number {
    return this.open;
  }
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

export function makeStrategy(cfg: WorkerConfig): ConnectionStrategy {
  return cfg.connection === 'pool' ? new PoolStrategy(cfg.conn, cfg.poolSize) : new PerProbeStrategy(cfg.conn);
}
