import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../util/sleep.js';
import { fileURLToPath } from 'node:url';
import { DowntimeError, ExitCode } from '../../errors.js';
import { processAlive, SANDBOX_DIR_ARG, terminate } from './processes.js';
import { ProxyClient } from './proxy-client.js';

/** In the daemon's command line (its entry's file name): how its pid is told apart from a reused one. */
export const DAEMON_MARK = 'proxy-daemon';

/** The daemon's control socket: in the state directory, unless that path is too long for a unix socket. */
function controlPath(stateDir: string): string {
  const p = join(stateDir, 'proxy.sock');
  // A unix socket path must fit in sun_path (108 bytes on Linux).
  return p.length < 100 ? p : join(tmpdir(), `downtime-proxy-${randomBytes(6).toString('hex')}.sock`);
}

function daemonEntry(): string {
  return fileURLToPath(new URL('./proxy-daemon.js', import.meta.url));
}

/**
 * Starts the endpoint proxy as a detached process (proxy-daemon.ts) on `port`, pointing at `targetPort`;
 * resolves once it answers on its control socket.
 */
export async function startProxyDaemon(
  stateDir: string,
  port: number,
  targetPort: number,
): Promise<{ pid: number; control: string; client: ProxyClient }> {
  const control = controlPath(stateDir);
  const child = spawn(
    process.execPath,
    // --sandbox-dir only marks the process as this sandbox's (processesUnder): found again after a crash.
    [
      daemonEntry(),
      '--control',
      control,
      '--port',
      String(port),
      '--target-port',
      String(targetPort),
      SANDBOX_DIR_ARG,
      stateDir.endsWith('/') ? stateDir : stateDir + '/',
    ],
    { stdio: 'ignore', detached: true },
  );
  child.once('error', () => undefined);
  child.unref();
  const pid = child.pid ?? -1;
  const client = new ProxyClient(port, control);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.status();
      return { pid, control, client };
    } catch {
      if (!processAlive(pid, DAEMON_MARK) || Date.now() > deadline) {
        await terminate(pid, DAEMON_MARK, 1000);
        throw new DowntimeError(
          `the sandbox proxy could not start on 127.0.0.1:${port} (port taken?); choose another with --port`,
          ExitCode.Sandbox,
        );
      }
      await sleep(50);
    }
  }
}
