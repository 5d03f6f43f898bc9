import { createConnection, createServer, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { resetSocket } from '../../src/sandbox/endpoint/proxy.js';

/**
 * For test/proxy-reset.test.ts: 100 connections whose write side is ended (a FIN passed on) and then reset, the
 * way the endpoint proxy resets its clients under a `reset` fault; `workerData.reset` says how: `proxy` through
 * the proxy's resetSocket(), `node` with Node's own resetAndDestroy(). Says `done` with how many resets failed once every socket closed or failed.
 */
const how = (workerData as { reset: 'proxy' | 'node' }).reset;
const port = parentPort;
if (port === null) throw new Error('reset-worker.ts must run as a worker thread');
const server = createServer((s) => s.on('error', () => undefined));
const N = 100;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  let settled = 0;
  let failed = 0;
  for (let i = 0; i < N; i++) {
    const c: Socket = createConnection(address.port, '127.0.0.1', () => {
      c.write('x');
      c.end();
      if (how === 'proxy') resetSocket(c);
      else c.resetAndDestroy();
    });
    // A failed reset leaves a socket that never closes: settled by its error.
    let done = false;
    const settle = (): void => {
      if (done) return;
      done = true;
      if (++settled === N) {
        server.close();
        port.postMessage({ done: true, failed });
      }
    };
    c.on('error', () => {
      failed++;
      settle();
    });
    c.on('close', settle);
  }
});
