import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import { parseVersionLine } from '../versions.js';
import { findBinaries, type Binaries } from './binaries.js';

const execFileP = promisify(execFile);

/** The upgrade step takes seconds on a sandbox's small data; bounded. */
const UPGRADE_TIMEOUT_MS = 300_000;

/**
 * Runs an installation's upgrade step (mariadb-upgrade / mysql_upgrade) against a running server on loopback.
 * MySQL >= 8.0.16 has none: mysqld upgrades its data dictionary and system tables itself at start.
 */
export async function runUpgradeOf(
  bin: Pick<Binaries, 'flavor' | 'version' | 'upgrade' | 'basedir'>,
  server: { host?: string; port: number },
): Promise<{ tool: string; ms: number }> {
  if (selfUpgrading(bin) || (bin.upgrade === null && bin.flavor === 'mysql')) {
    return { tool: 'none (mysqld upgrades at startup)', ms: 0 };
  }
  if (bin.upgrade === null) {
    throw new DowntimeError(
      bin.basedir === null
        ? 'no mariadb-upgrade or mysql_upgrade on PATH; install the server package'
        : `no mariadb-upgrade or mysql_upgrade in ${bin.basedir}; is the tarball complete?`,
      ExitCode.Sandbox,
    );
  }
  const started = Date.now();
  try {
    await execFileP(
      bin.upgrade,
      [
        '--no-defaults',
        `--host=${server.host ?? '127.0.0.1'}`,
        `--port=${server.port}`,
        '--user=root',
        '--force',
        '--silent',
      ],
      { timeout: UPGRADE_TIMEOUT_MS },
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new DowntimeError(
      `${bin.upgrade} failed: ${oneLine((e.stderr || e.message).trim().split('\n').slice(-2).join(' '))}`,
      ExitCode.Sandbox,
    );
  }
  return { tool: bin.upgrade, ms: Date.now() - started };
}

/** MySQL >= 8.0.16 upgrades its data dictionary and system tables itself when it starts. */
function selfUpgrading(bin: Pick<Binaries, 'flavor' | 'version'>): boolean {
  const v = parseVersionLine(bin.version);
  return (
    bin.flavor === 'mysql' && v !== undefined && (v.major > 8 || (v.major === 8 && (v.minor > 0 || v.patch >= 16)))
  );
}

/** The upgrade tool an installation runs after a new version starts, or null when the server does it itself. */
export function upgradeToolOf(bin: Pick<Binaries, 'flavor' | 'version' | 'upgrade'>): string | null {
  return selfUpgrading(bin) ? null : bin.upgrade;
}

/** Runs the upgrade step of the binaries on PATH against a running server (a server that knows no better). */
export async function runUpgrade(server: { host?: string; port: number }): Promise<{ tool: string; ms: number }> {
  return runUpgradeOf(await findBinaries(), server);
}
