import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DowntimeError, ExitCode } from '../../errors.js';
import { userArgs } from './args.js';
import type { Binaries } from './binaries.js';

const execFileP = promisify(execFile);

/**
 * Initialising a data directory takes seconds; copying one takes milliseconds. So one pristine data
 * directory per server version is made once (atomically: built aside, then renamed) and copied per server.
 * Returns the directory holding it as `data`.
 */
export async function templateDataDir(bin: Binaries): Promise<string> {
  // "-t2": the template's own settings are part of its identity (t2: a 16M redo log instead of 96M).
  const key = bin.version.replace(/[^A-Za-z0-9.]+/g, '_').slice(0, 80) + '-t2';
  const root = join(tmpdir(), `downtime-template-${process.getuid?.() ?? 'u'}`);
  const dir = join(root, key);
  if (existsSync(join(dir, 'READY'))) return dir;
  mkdirSync(root, { recursive: true });
  const building = mkdtempSync(join(root, 'building-'));
  const data = join(building, 'data');
  try {
    if (bin.installDb !== null) {
      await execFileP(
        bin.installDb,
        [
          '--no-defaults',
          ...(bin.basedir ? [`--basedir=${bin.basedir}`] : []),
          `--datadir=${data}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          ...userArgs(),
          '--skip-name-resolve',
          // The same small redo log the servers run with: a 34 MB template to copy instead of 114 MB,
          // and no log resize at each server's first start.
          '--innodb-log-file-size=16M',
          '--innodb-buffer-pool-size=32M',
        ],
        { timeout: 120_000 },
      );
    } else {
      mkdirSync(data);
      const basedir = bin.basedir ? [`--basedir=${bin.basedir}`] : [];
      await execFileP(
        bin.server,
        ['--no-defaults', ...basedir, '--initialize-insecure', `--datadir=${data}`, ...userArgs()],
        {
          timeout: 120_000,
        },
      );
    }
    await execFileP('touch', [join(building, 'READY')]);
    try {
      renameSync(building, dir);
    } catch {
      // Another process finished first: use theirs.
      rmSync(building, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new DowntimeError(
      `could not initialise a data directory with ${bin.installDb ?? bin.server}: ${(e.stderr ?? e.message).trim().split('\n').slice(-1)[0]}`,
      ExitCode.Sandbox,
    );
  }
  return dir;
}
