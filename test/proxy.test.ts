import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { greet, namedServer } from './helpers/net.js';
import { startProxy, type EndpointProxy } from '../src/sandbox/endpoint/proxy.js';

const a = await namedServer('A');
const b = await namedServer('B');
let proxy: EndpointProxy | undefined;
after(async () => {
  await proxy?.close();
  await a.close();
  await b.close();
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
  await dead.close();
  const p = await startProxy({ target: { host: '127.0.0.1', port: deadPort } });
  try {
    await assert.rejects(greet(p.port), /closed|ECONNRESET/);
    assert.equal(p.connectionCount(), 0);
  } finally {
    await p.close();
  }
});
