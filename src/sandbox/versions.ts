import { DowntimeError, ExitCode } from '../errors.js';

export { parseServerSource } from '../scenario/server-source.js';

/**
 * The servers a sandbox runs, old (`from`) and new (`to`): a container image, a server directory (an
 * extracted MySQL/MariaDB tarball, or any prefix with bin/ or sbin/), or the binaries on PATH. This module
 * reads such a spec, reads a server's version from its `--version` line, and decides whether `from → to` is an
 * upgrade a sandbox can rehearse.
 */
type Flavor = 'mariadb' | 'mysql';

export interface ServerVersion {
  flavor: Flavor;
  /** e.g. "10.11.18" */
  version: string;
  major: number;
  minor: number;
  patch: number;
  /** The whole `--version` line, as the server printed it. */
  line: string;
}

/**
 * A server's `--version` line → flavor and version:
 *   mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)
 *   /usr/sbin/mysqld  Ver 8.0.40 for Linux on x86_64 (MySQL Community Server - GPL)
 *   mysqld  Ver 8.0.36-28 for Linux on x86_64 (Percona Server (GPL), Release 28, Revision 47601f19)
 */
export function parseVersionLine(line: string): ServerVersion | undefined {
  const m = /\bVer\s+(\d+)\.(\d+)\.(\d+)(\S*)/.exec(line);
  if (!m) return undefined;
  const [, major = '0', minor = '0', patch = '0', suffix = ''] = m;
  const flavor: Flavor = /mariadb/i.test(suffix) || /mariadb/i.test(line) ? 'mariadb' : 'mysql';
  return {
    flavor,
    version: `${major}.${minor}.${patch}`,
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    line: line.trim(),
  };
}

/** What `SELECT VERSION()` returns ("11.8.9-MariaDB-0+deb13u1 from Debian-log", "8.4.3") → a version. */
export function parseVersionString(v: string): ServerVersion | undefined {
  return parseVersionLine(`Ver ${v}`);
}

function order(v: ServerVersion): number {
  return v.major * 1_000_000 + v.minor * 1_000 + v.patch;
}

function productName(v: Pick<ServerVersion, 'flavor'>): string {
  return v.flavor === 'mariadb' ? 'MariaDB' : 'MySQL';
}

/** "MariaDB 10.11.18" */
export function versionName(v: ServerVersion): string {
  return `${productName(v)} ${v.version}`;
}

/**
 * Refuses what no sandbox can rehearse, before anything starts (exit 2): a change of kind (MySQL ⇄ MariaDB
 * is a migration — dump and load — not an upgrade, and neither replicates into the other's GTIDs), a
 * downgrade, and MySQL skipping a release series it does not support skipping (5.7 → 8.4: upgrade to 8.0
 * first). The same version twice is allowed: a restart rehearsal.
 */
export function checkUpgrade(from: ServerVersion, to: ServerVersion): void {
  if (from.flavor !== to.flavor) {
    throw new DowntimeError(
      `cannot rehearse ${versionName(from)} → ${versionName(to)}: an upgrade keeps the server's kind (MariaDB → MariaDB, MySQL → MySQL); moving between them is a migration (dump and load), not an in-place upgrade or blue/green replication`,
      ExitCode.Usage,
    );
  }
  if (order(to) < order(from)) {
    throw new DowntimeError(
      `${versionName(from)} → ${versionName(to)} is a downgrade; swap from and to (from is the version running now, to the one you upgrade to)`,
      ExitCode.Usage,
    );
  }
  if (from.flavor === 'mysql' && from.major === 5 && (to.major > 8 || (to.major === 8 && to.minor > 0))) {
    throw new DowntimeError(
      `MySQL does not upgrade ${from.version} → ${to.version} in one step (5.7 goes to 8.0 first, then to 8.4); rehearse ${from.version} → 8.0 and 8.0 → ${to.major}.${to.minor} separately`,
      ExitCode.Usage,
    );
  }
}

/** True when `to` is a newer release than `from` (a real upgrade, not a restart of the same binary). */
export function isUpgrade(from: ServerVersion, to: ServerVersion): boolean {
  return order(to) > order(from);
}
