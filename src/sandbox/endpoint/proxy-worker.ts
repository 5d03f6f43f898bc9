import { parentPort, workerData } from 'node:worker_threads';
import { isDowntimeError } from '../../errors.js';
import { handle, type ControlRequest } from './proxy-control.js';
import { startProxy, type ProxyOptions } from './proxy.js';
import type { ProxyThreadReply } from './proxy-thread.js';

/**
 * The endpoint proxy's own thread (proxy-thread.ts): it owns the listening socket and every proxied
 * connection, so that it carries bytes and applies faults on time while the thread that started it (the
 * harness's main thread, in a sandbox run) is busy — a proxy sharing that thread made reconnects slow under
 * load, which no real endpoint does.
 */
const port = parentPort;
if (port === null) throw new Error('proxy-worker.ts must run as a worker thread');

const reply = (r: ProxyThreadReply): void => port.postMessage(r);
const failure = (id: number, err: unknown): ProxyThreadReply => ({
  id,
  ok: false,
  error: err instanceof Error ? err.message : String(err),
  ...(isDowntimeError(err) ? { exitCode: err.exitCode } : {}),
});

try {
  const proxy = await startProxy(workerData as ProxyOptions);
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    void proxy.close().then(() => port.close());
  };
  port.on('message', (m: ControlRequest & { id: number }) => {
    handle(proxy, m, shutdown).then(
      (answer) => reply({ id: m.id, ok: true, ...answer }),
      (err: unknown) => reply(failure(m.id, err)),
    );
  });
  reply({ id: 0, ok: true, port: proxy.port });
} catch (err) {
  reply(failure(0, err));
  port.close();
}
