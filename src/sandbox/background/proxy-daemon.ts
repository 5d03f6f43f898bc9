/**
 * The endpoint proxy of a detached sandbox (`downtime sandbox up`), as a process of its own, driven
 * through a JSON-lines control server on a unix socket in the state directory: one request object per
 * line ({op: 'setTarget', port} | {op: 'refuse'} | {op: 'accept'} | {op: 'drop'} | {op: 'status'} |
 * {op: 'fault', fault: FaultSpec} (answers {atMs}) | {op: 'clearFault'} (answers {times: {kind, atMs, endMs} | null}) |
 * {op: 'shutdown'}), one answer per line ({ok: true, ...} or {ok: false, error}).
 *
 * Usage: node proxy-daemon.js --control <socket path> --port <N> --target-port <M>
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { handle, type ControlRequest } from '../endpoint/proxy-control.js';
import { startProxy } from '../endpoint/proxy.js';

export type { ControlRequest, ProxyStatus } from '../endpoint/proxy-control.js';

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) {
    process.stderr.write(`proxy-daemon: missing ${name}\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const controlPath = arg('--control');
  const port = Number(arg('--port'));
  const targetPort = Number(arg('--target-port'));
  const proxy = await startProxy({ port, target: { host: '127.0.0.1', port: targetPort } });
  rmSync(controlPath, { force: true });
  const clients = new Set<Socket>();
  const control = createServer((sock) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    // Requests on one connection are answered in order, one at a time.
    let chain = Promise.resolve();
    sock.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        chain = chain.then(async () => {
          let answer: object;
          try {
            answer = { ok: true, ...(await handle(proxy, JSON.parse(line) as ControlRequest, shutdown)) };
          } catch (err) {
            answer = { ok: false, error: (err as Error).message };
          }
          if (!sock.destroyed) sock.write(JSON.stringify(answer) + '\n');
        });
      }
    });
  });
  let down = false;
  const shutdown = (): void => {
    if (down) return;
    down = true;
    for (const c of clients) c.destroy();
    control.close();
    rmSync(controlPath, { force: true });
    void proxy.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(controlPath, resolve);
  });
}

main().catch((err: Error) => {
  process.stderr.write(`proxy-daemon: ${err.message}\n`);
  process.exit(1);
});
