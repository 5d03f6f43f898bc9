import { sleep } from '../../util/sleep.js';
import { createServer } from 'node:net';
import mysql from 'mysql2/promise';
import { DowntimeError, ExitCode } from '../../errors.js';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Polls until a server on 127.0.0.1:`port` answers `SELECT 1` as root; fails at once if its process
 * exits, or after `timeoutMs`, with the error log's tail in the message.
 */
export async function waitAccepting(
  port: number,
  o: { timeoutMs: number; exited: () => boolean; what: string; log: () => string; host?: string },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.exited()) throw new DowntimeError(`${o.what} exited while starting; ${o.log()}`, ExitCode.Sandbox);
    try {
      const c = await mysql.createConnection({ host: o.host ?? '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await c.query('SELECT 1');
      await c.end();
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new DowntimeError(
          `${o.what} did not accept connections within ${o.timeoutMs} ms; ${o.log()}`,
          ExitCode.Sandbox,
        );
      }
      await sleep(50);
    }
  }
}
