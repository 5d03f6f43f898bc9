import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { DowntimeError, ExitCode } from '../../errors.js';
import type { Flavor } from '../dialect.js';

const execFileP = promisify(execFile);

/** The server programs of one installation, and the version the server reports. */
export interface Binaries {
  flavor: Flavor;
  server: string;
  /** mariadb-install-db, or null for MySQL (mysqld --initialize-insecure). */
  installDb: string | null;
  upgrade: string | null;
  version: string;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin', '/usr/local/bin', '/usr/bin'];

/** The first of `names` that is an executable on PATH or in `extraDirs` (the usual server locations). */
export function findOnPath(names: string[], extraDirs: string[] = SEARCH_DIRS): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  for (const name of names) {
    for (const d of dirs) {
      const p = join(d, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // keep looking
      }
    }
  }
  return null;
}

let cachedBinaries: Binaries | undefined;

/** Finds the server binaries: MariaDB's mariadbd + mariadb-install-db, else MySQL's mysqld. */
export async function findBinaries(): Promise<Binaries> {
  if (cachedBinaries) return cachedBinaries;
  const server = findOnPath(['mariadbd', 'mysqld']);
  if (server === null) {
    throw new DowntimeError(
      'no MySQL or MariaDB server binary (mariadbd or mysqld) found on PATH; install one, e.g. apt-get install mariadb-server',
      ExitCode.Sandbox,
    );
  }
  const { stdout } = await execFileP(server, ['--version']);
  const version = stdout.trim();
  const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const installDb = flavor === 'mariadb' ? findOnPath(['mariadb-install-db', 'mysql_install_db']) : null;
  if (flavor === 'mariadb' && installDb === null) {
    throw new DowntimeError(
      `found ${server} but not mariadb-install-db on PATH; install mariadb-server (it ships both)`,
      ExitCode.Sandbox,
    );
  }
  const upgrade = findOnPath(flavor === 'mariadb' ? ['mariadb-upgrade', 'mysql_upgrade'] : ['mysql_upgrade']);
  cachedBinaries = { flavor, server, installDb, upgrade, version };
  return cachedBinaries;
}
