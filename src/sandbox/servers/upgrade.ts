import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DowntimeError, ExitCode } from '../../errors.js';
import { findBinaries } from './binaries.js';
import type { MysqlServer } from './types.js';

const execFileP = promisify(execFile);

/** Runs the upgrade step (mariadb-upgrade / mysql_upgrade) against a running server. */
export async function runUpgrade(server: Pick<MysqlServer, 'port'>): Promise<{ tool: string; ms: number }> {
  const bin = await findBinaries();
  // MySQL 8.0.16+ has no mysql_upgrade: mysqld upgrades the data dictionary itself at startup.
  if (bin.upgrade === null && bin.flavor === 'mysql') return { tool: 'none (mysqld upgrades at startup)', ms: 0 };
  if (bin.upgrade === null) {
    throw new DowntimeError(
      'no mariadb-upgrade or mysql_upgrade on PATH; install the server package',
      ExitCode.Sandbox,
    );
  }
  const started = Date.now();
  await execFileP(
    bin.upgrade,
    ['--no-defaults', '--host=127.0.0.1', `--port=${server.port}`, '--user=root', '--force', '--silent'],
    { timeout: 120_000 },
  );
  return { tool: bin.upgrade, ms: Date.now() - started };
}
