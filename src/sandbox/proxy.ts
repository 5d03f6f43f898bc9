import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { DowntimeError, ExitCode } from '../errors.js';

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
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * The one place where a client socket is joined to its upstream. Faults (reset on accept, blackhole,
 * latency, bandwidth, half-open) belong here, so every connection passes through the same code.
 */
function pipeConnection(client: Socket, target: ProxyTarget, pairs: Set<Pair>): void {
  const upstream = createConnection({ host: target.host, port: target.port });
  const pair: Pair = { client, upstream };
  pairs.add(pair);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  // Either side ending or failing ends both: a client must never hang on a dead upstream, and an
  // upstream connect failure (server down) looks to the client like the server resetting it.
  const teardown = (): void => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  client.on('error', teardown);
  upstream.on('error', teardown);
  client.on('close', teardown);
  upstream.on('close', teardown);
  client.pipe(upstream);
  upstream.pipe(client);
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

  // A closed net.Server is not reused: each accept() makes a new listening socket on the same port
  // (Node sets SO_REUSEADDR on listening sockets, so the port can be bound again at once).
  const open = async (): Promise<void> => {
    const s = createServer({ noDelay: true }, (client) => pipeConnection(client, target, pairs));
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
      for (const p of [...pairs]) {
        pairs.delete(p);
        p.client.destroy();
        p.upstream.destroy();
      }
    },
    connectionCount: () => pairs.size,
    isAccepting: () => server !== null,
    async close() {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await shut();
    },
  };
}
