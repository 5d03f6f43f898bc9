import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface NamedServer {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  /** Destroys its connections and closes it. */
  close(): Promise<void>;
}

/** An upstream on 127.0.0.1 that greets each connection with its name, so a client can tell where it landed. */
export async function namedServer(name: string): Promise<NamedServer> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as { port: number }).port,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Connects and resolves with the first data (the greeting), or rejects with the socket error code. */
export function greet(port: number): Promise<{ text: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('data', (d) => resolve({ text: d.toString(), socket }));
    socket.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code ?? e.message)));
    socket.once('close', () => reject(new Error('closed')));
  });
}
