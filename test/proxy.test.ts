import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { startProxy, type EndpointProxy } from '../src/sandbox/proxy.js';

/** An upstream that greets each connection with its name, so a client can tell where it landed. */
async function namedServer(name: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** Connects and resolves with the first data, or rejects with the socket error code. */
function greet(port: number): Promise<{ text: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('data', (d) => resolve({ text: d.toString(), socket }));
    socket.once('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code ?? e.message)));
    socket.once('close', () => reject(new Error('closed')));
  });
}

const a = await namedServer('A');
const b = await namedServer('B');
let proxy: EndpointProxy | undefined;
after(async () => {
  await proxy?.close();
  for (const s of [a, b]) {
    for (const sock of s.sockets) sock.destroy();
    await new Promise((r) => s.server.close(r));
  }
});

test('proxy: pipes, refuses, accepts again on the same port, drops, repoints', async () => {
  proxy = await startProxy({ target: { host: '127.0.0.1', port: a.port } });
  const port = proxy.port;
  const c1 = await greet(port);
  assert.equal(c1.text, 'A');
  assert.equal(proxy.connectionCount(), 1);

  await proxy.refuse();
  await assert.rejects(greet(port), /ECONNREFUSED/);
  // An open connection survives refuse(): only new ones are turned away.
  assert.equal(c1.socket.destroyed, false);
  assert.equal(proxy.connectionCount(), 1);

  await proxy.accept();
  assert.equal(proxy.port, port);
  const c2 = await greet(port);
  assert.equal(c2.text, 'A');
  assert.equal(proxy.connectionCount(), 2);

  const closed = Promise.all([c1, c2].map((c) => new Promise((r) => c.socket.once('close', r))));
  proxy.dropConnections();
  await closed;
  assert.equal(proxy.connectionCount(), 0);

  proxy.setTarget({ host: '127.0.0.1', port: b.port });
  const c3 = await greet(port);
  assert.equal(c3.text, 'B');
  c3.socket.destroy();

  // Refuse and accept many times in a row: the port is rebound every time (SO_REUSEADDR).
  for (let i = 0; i < 5; i++) {
    await proxy.refuse();
    await proxy.accept();
  }
  const c4 = await greet(port);
  assert.equal(c4.text, 'B');
  c4.socket.destroy();
});

test('proxy: an unreachable upstream closes the client', async () => {
  const dead = await namedServer('X');
  const deadPort = dead.port;
  await new Promise((r) => dead.server.close(r));
  const p = await startProxy({ target: { host: '127.0.0.1', port: deadPort } });
  try {
    await assert.rejects(greet(p.port), /closed|ECONNRESET/);
    assert.equal(p.connectionCount(), 0);
  } finally {
    await p.close();
  }
});
