import { parentPort, workerData } from 'node:worker_threads';
import { ProbeEngine } from './engine.js';
import type { MainMessage, WorkerConfig, WorkerMessage } from './protocol.js';

/** Worker thread entry: one ProbeEngine with its own mysql2 connections. */
const port = parentPort;
if (port === null) throw new Error('worker.ts must run as a worker thread');
const send = (m: WorkerMessage): void => port.postMessage(m);
try {
  const engine = new ProbeEngine(workerData as WorkerConfig, send);
  port.on('message', (m: MainMessage) => {
    if (m.type === 'start') engine.start(m.t0Ms, m.endMs);
    else if (m.type === 'stop') engine.stop(m.atMs);
    else if (m.type === 'grow')
      void engine.grow(m.poolSize).then((pools) => send({ type: 'ready', pools, latencyMs: null }));
    // The strategies read cfg.conn for each new connection: the next one uses the new password.
    else if (m.type === 'password') (workerData as WorkerConfig).conn.password = m.password;
  });
  void engine.warm().then(({ pools, latencyMs }) => send({ type: 'ready', pools, latencyMs }));
} catch (err) {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
