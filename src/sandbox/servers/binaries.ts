import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import type { Flavor } from '../dialect.js';

const execFileP = promisify(execFile);

/** The server programs of one installation, and the version the server reports. */
export interface Binaries {
  flavor: Flavor;
  server: string;
  /** mariadb-install-db, or null for MySQL (mysqld --initialize-insecure). */
  installDb: string | null;
  upgrade: string | null;
  /** The server's `--version` line. */
  version: string;
  /** The installation's own prefix (a server directory: an extracted tarball), passed as --basedir; null on PATH. */
  basedir: string | null;
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

const cached = new Map<string, Binaries>();

/** Where a server directory keeps its programs: a MySQL/MariaDB tarball, or any prefix such as /usr. */
const DIRECTORY_SUBDIRS = ['bin', 'sbin', 'usr/sbin', 'usr/bin', 'scripts'];

/**
 * Finds the server binaries: MariaDB's mariadbd + mariadb-install-db, else MySQL's mysqld; on PATH (and the
 * usual places), or in a server directory `dir` (an extracted tarball: bin/, sbin/, scripts/).
 */
export async function findBinaries(dir?: string): Promise<Binaries> {
  const key = dir ?? '';
  const known = cached.get(key);
  if (known) return known;
  const where = dir === undefined ? undefined : DIRECTORY_SUBDIRS.map((d) => join(dir, d));
  const find = (names: string[]): string | null => (where === undefined ? findOnPath(names) : findIn(names, where));
  const server = find(['mariadbd', 'mysqld']);
  if (server === null) {
    throw dir === undefined
      ? new DowntimeError(
          'no MySQL or MariaDB server binary (mariadbd or mysqld) found on PATH; install one, e.g. apt-get install mariadb-server',
          ExitCode.Sandbox,
        )
      : new DowntimeError(
          `server directory ${dir} has no mariadbd or mysqld in ${DIRECTORY_SUBDIRS.map((d) => `${d}/`).join(', ')}; name the directory an extracted MySQL or MariaDB tarball unpacked into`,
          ExitCode.Usage,
        );
  }
  let version: string;
  try {
    version = (await execFileP(server, ['--version'], { timeout: 30_000 })).stdout.trim();
  } catch (err) {
    throw new DowntimeError(
      `${server} --version failed (${oneLine((err as Error).message)}); is it built for this machine?`,
      ExitCode.Sandbox,
    );
  }
  const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const installDb = flavor === 'mariadb' ? find(['mariadb-install-db', 'mysql_install_db']) : null;
  if (flavor === 'mariadb' && installDb === null) {
    throw new DowntimeError(
      dir === undefined
        ? `found ${server} but not mariadb-install-db on PATH; install mariadb-server (it ships both)`
        : `found ${server} but not mariadb-install-db in ${dir} (scripts/ or bin/); is the tarball complete?`,
      ExitCode.Sandbox,
    );
  }
  const upgrade = find(flavor === 'mariadb' ? ['mariadb-upgrade', 'mysql_upgrade'] : ['mysql_upgrade']);
  const found: Binaries = { flavor, server, installDb, upgrade, version, basedir: dir ?? null };
  cached.set(key, found);
  return found;
}

function findIn(names: string[], dirs: string[]): string | null {
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
