import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { DowntimeError, ExitCode } from '../../errors.js';
import { wallClockMs } from '../../io.js';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyOptions {
  /** Port to listen on, 127.0.0.1 only (default: a free one chosen by the OS). */
  port?: number;
  target: ProxyTarget;
}

/**
 * The endpoint clients always connect to, as an RDS endpoint: the sandbox repoints it, refuses new
 * connections or drops the open ones, the way DNS flips and instance restarts look to a client.
 */
export interface EndpointProxy {
  readonly port: number;
  readonly target: ProxyTarget;
  /** New connections go to `t`; open ones stay where they are (as with a DNS change). */
  setTarget(t: ProxyTarget): void;
  /** Close the listening socket: new clients get ECONNREFUSED. Open connections stay. */
  refuse(): Promise<void>;
  /** Listen again on the same port. */
  accept(): Promise<void>;
  /** Destroy every client and upstream socket (clients see a lost connection). */
  dropConnections(): void;
  connectionCount(): number;
  isAccepting(): boolean;
  /**
   * Starts a fault (replacing any active one, which ends first) and resolves once it is in force;
   * the handle's `atMs` is that moment. One fault at a time.
   */
  fault(spec: FaultSpec): Promise<FaultHandle>;
  /** Ends the active fault; resolves with its true start and end, or null if none was active. */
  clearFault(): Promise<FaultTimes | null>;
  /** The active fault, if any. */
  activeFault(): FaultTimes | null;
  close(): Promise<void>;
}

/**
 * A network fault the proxy applies to the connections it carries (Toxiproxy-style, loopback only).
 * - `refuse`: the port is closed (new clients get ECONNREFUSED); open connections stay.
 * - `reset`: open connections are reset (RST) and new ones are reset on accept.
 * - `blackhole`: bytes are swallowed both ways; connections stay open and stall (clients time out).
 * - `latency`: every chunk is held `latencyMs` (± `jitterMs`, uniform) in both directions, order kept.
 * - `bandwidth`: each direction is paced to `bytesPerSec`.
 * - `halfOpen`: one direction is swallowed (`drop`, default `toClient`: queries reach the server,
 *   answers never come back), as with an asymmetric partition.
 */
export type FaultSpec =
  | { kind: 'refuse' }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'latency'; latencyMs: number; jitterMs?: number }
  | { kind: 'bandwidth'; bytesPerSec: number }
  | { kind: 'halfOpen'; drop?: 'toClient' | 'toServer' };

type FaultKind = FaultSpec['kind'];
const FAULT_KINDS: readonly FaultKind[] = ['refuse', 'reset', 'blackhole', 'latency', 'bandwidth', 'halfOpen'];

/** When a fault was really in force, as the proxy applied it (epoch ms). */
export interface FaultTimes {
  kind: FaultKind;
  /** The fault took effect (listener closed, connections reset, filter on). */
  atMs: number;
  /** It stopped (listener open again, filter off); undefined while still active. */
  endMs?: number;
}

interface FaultHandle {
  readonly spec: FaultSpec;
  readonly atMs: number;
  /** Ends this fault (if still the active one); resolves with its true start and end. */
  clear(): Promise<FaultTimes>;
}

/** Throws a one-line DowntimeError unless `spec` is a fault the proxy can apply. */
export function validateFault(spec: FaultSpec): FaultSpec {
  const bad = (what: string): never => {
    throw new DowntimeError(`fault ${what}`, ExitCode.Usage);
  };
  const kind = (spec as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !FAULT_KINDS.includes(kind as FaultKind)) {
    bad(`kind must be one of ${FAULT_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  if (spec.kind === 'latency') {
    if (!Number.isFinite(spec.latencyMs) || spec.latencyMs < 0)
      bad(`latency needs latencyMs >= 0 (got ${spec.latencyMs})`);
    const j = spec.jitterMs ?? 0;
    if (!Number.isFinite(j) || j < 0 || j > spec.latencyMs) bad(`latency jitterMs must be 0…latencyMs (got ${j})`);
  }
  if (spec.kind === 'bandwidth' && (!Number.isFinite(spec.bytesPerSec) || spec.bytesPerSec <= 0)) {
    bad(`bandwidth needs bytesPerSec > 0 (got ${spec.bytesPerSec})`);
  }
  if (spec.kind === 'halfOpen' && spec.drop !== undefined && spec.drop !== 'toClient' && spec.drop !== 'toServer') {
    bad(`halfOpen drop must be toClient or toServer (got ${JSON.stringify(spec.drop)})`);
  }
  return spec;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Timers holding delayed chunks: cleared on teardown so a dead connection holds no handle. */
  lanes: Lane[];
}

type Direction = 'toServer' | 'toClient';

/** Queue bytes beyond this pause the reading side (the proxy never buffers without bound). */
const MAX_QUEUED_BYTES = 1 << 20;

/**
 * One direction of a connection. Chunks pass straight through unless a fault holds them: then each
 * gets a release time no earlier than the previous chunk's, so order is preserved, and a timer writes
 * them out. Chunks already queued when a fault ends still leave at their times (a packet in flight
 * is not un-delayed), and later chunks queue behind them.
 */
class Lane {
  private queue: { atMs: number; chunk: Buffer }[] = [];
  private queuedBytes = 0;
  private lastReleaseMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingDrain = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly dir: Direction,
    private readonly fault: () => FaultSpec | null,
  ) {
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    dst.on('drain', () => {
      this.waitingDrain = false;
      if (this.queuedBytes < MAX_QUEUED_BYTES) src.resume();
    });
  }

  private onData(chunk: Buffer): void {
    const f = this.fault();
    if (f !== null) {
      if (f.kind === 'blackhole' || f.kind === 'reset') return;
      if (f.kind === 'halfOpen' && (f.drop ?? 'toClient') === this.dir) return;
    }
    const nowMs = Date.now();
    let atMs = nowMs;
    if (f?.kind === 'latency') {
      const j = f.jitterMs ?? 0;
      atMs = nowMs + f.latencyMs + (j > 0 ? (Math.random() * 2 - 1) * j : 0);
    } else if (f?.kind === 'bandwidth') {
      atMs = Math.max(nowMs, this.lastReleaseMs) + (chunk.length / f.bytesPerSec) * 1000;
    }
    atMs = Math.max(atMs, this.lastReleaseMs);
    if (this.queue.length === 0 && atMs <= nowMs) {
      this.write(chunk);
      return;
    }
    this.lastReleaseMs = atMs;
    this.queue.push({ atMs, chunk });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= MAX_QUEUED_BYTES) this.src.pause();
    this.arm();
  }

  private write(chunk: Buffer): void {
    if (this.dst.destroyed) return;
    if (!this.dst.write(chunk) && !this.waitingDrain) {
      this.waitingDrain = true;
      this.src.pause();
    }
  }

  private arm(): void {
    if (this.timer !== null) return;
    const head = this.queue[0];
    if (head === undefined) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, head.atMs - Date.now()));
  }

  private release(): void {
    this.timer = null;
    const nowMs = Date.now();
    while (this.queue.length > 0 && (this.queue[0] as { atMs: number }).atMs <= nowMs) {
      const { chunk } = this.queue.shift() as { chunk: Buffer };
      this.queuedBytes -= chunk.length;
      this.write(chunk);
    }
    if (this.queuedBytes < MAX_QUEUED_BYTES && !this.waitingDrain) this.src.resume();
    this.arm();
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queuedBytes = 0;
  }
}

/**
 * RST where Node can send one (≥ 16.17), else an abrupt destroy. Never on a socket whose write side was ended (a
 * FIN passed on, its shutdown perhaps still pending): libuv refuses to reset a socket while it shuts down
 * (EINVAL), and Node then marks the handle closing without closing it, so the thread can never exit — its
 * clean-up spins at 100 % CPU and even process.exit() waits for it (test/proxy-reset.test.ts). Such a socket
 * is closing anyway: destroyed.
 */
export function resetSocket(s: Socket): void {
  const r = (s as Socket & { resetAndDestroy?: () => Socket }).resetAndDestroy;
  if (typeof r === 'function' && !s.destroyed && !s.writableEnded) {
    try {
      r.call(s);
      return;
    } catch {
      // not connected yet (resetAndDestroy throws ERR_SOCKET_CLOSED on a pending socket): destroy
    }
  }
  s.destroy();
}

/**
 * The one place where a client socket is joined to its upstream. Faults (reset on accept, blackhole,
 * latency, bandwidth, half-open) act here, on every chunk, so every connection passes the same code.
 */
function pipeConnection(client: Socket, target: ProxyTarget, pairs: Set<Pair>, fault: () => FaultSpec | null): void {
  client.on('error', () => undefined);
  if (fault()?.kind === 'reset') {
    // Torn down on accept, before any byte reaches the server: the client sees ECONNRESET.
    resetSocket(client);
    return;
  }
  const upstream = createConnection({ host: target.host, port: target.port });
  const pair: Pair = { client, upstream, lanes: [] };
  pairs.add(pair);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  // Either side ending or failing ends both: a client must never hang on a dead upstream, and an
  // upstream connect failure (server down) looks to the client like the server resetting it.
  const teardown = (): void => {
    pairs.delete(pair);
    for (const l of pair.lanes) l.dispose();
    client.destroy();
    upstream.destroy();
  };
  client.on('error', teardown);
  upstream.on('error', teardown);
  client.on('close', teardown);
  upstream.on('close', teardown);
  // A half-close (FIN) is passed on as one, as pipe() would.
  client.on('end', () => upstream.end());
  upstream.on('end', () => client.end());
  pair.lanes.push(new Lane(client, upstream, 'toServer', fault), new Lane(upstream, client, 'toClient', fault));
}

/** Ends every connection the proxy carries: the client's side reset (RST) or destroyed, the upstream destroyed. */
function endAll(pairs: Set<Pair>, client: 'reset' | 'destroy'): void {
  for (const p of [...pairs]) {
    pairs.delete(p);
    for (const l of p.lanes) l.dispose();
    if (client === 'reset') resetSocket(p.client);
    else p.client.destroy();
    p.upstream.destroy();
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new DowntimeError(
          `the endpoint proxy cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}; choose another port`,
          ExitCode.Sandbox,
        ),
      );
    };
    server.once('error', onError);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Starts the endpoint proxy on 127.0.0.1 and resolves once it listens. */
export async function startProxy(opts: ProxyOptions): Promise<EndpointProxy> {
  let target: ProxyTarget = { ...opts.target };
  const pairs = new Set<Pair>();
  let server: Server | null = null;
  let port = opts.port ?? 0;
  let fault: FaultSpec | null = null;
  let active: { spec: FaultSpec; times: FaultTimes; wasAccepting: boolean } | null = null;

  // A closed net.Server is not reused: each accept() makes a new listening socket on the same port
  // (Node sets SO_REUSEADDR on listening sockets, so the port can be bound again at once).
  const open = async (): Promise<void> => {
    const s = createServer({ noDelay: true }, (client) => pipeConnection(client, target, pairs, () => fault));
    await listen(s, port);
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const shut = async (): Promise<void> => {
    const s = server;
    server = null;
    if (s === null) return;
    // close()'s callback waits for open connections; the listening socket itself is gone at once.
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      if (pairs.size > 0) setImmediate(resolve);
    });
  };

  const clearFault = async (): Promise<FaultTimes | null> => {
    const a = active;
    if (a === null) return null;
    active = null;
    fault = null;
    // A refuse fault ends when the port listens again (unless a step had it closed before the fault).
    if (a.spec.kind === 'refuse' && a.wasAccepting && server === null) await open();
    a.times.endMs = wallClockMs();
    return { ...a.times };
  };
  const startFault = async (spec: FaultSpec): Promise<FaultHandle> => {
    validateFault(spec);
    await clearFault();
    const wasAccepting = server !== null;
    if (spec.kind === 'refuse') await shut();
    fault = { ...spec };
    if (spec.kind === 'reset') endAll(pairs, 'reset');
    const times: FaultTimes = { kind: spec.kind, atMs: wallClockMs() };
    const mine = { spec: fault, times, wasAccepting };
    active = mine;
    return {
      spec: fault,
      atMs: times.atMs,
      async clear() {
        if (active === mine) await clearFault();
        return { ...times };
      },
    };
  };

  await open();
  return {
    get port() {
      return port;
    },
    get target() {
      return target;
    },
    setTarget(t) {
      target = { ...t };
    },
    refuse: shut,
    async accept() {
      if (server === null) await open();
    },
    dropConnections() {
      endAll(pairs, 'destroy');
    },
    fault: startFault,
    clearFault,
    activeFault: () => (active === null ? null : { ...active.times }),
    connectionCount: () => pairs.size,
    isAccepting: () => server !== null,
    async close() {
      active = null;
      fault = null;
      endAll(pairs, 'destroy');
      await shut();
    },
  };
}
