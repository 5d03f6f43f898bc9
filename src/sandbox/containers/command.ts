import type { ServerVersion } from '../versions.js';

/**
 * The command lines a containerised server runs, the same for official images and locally built ones (their
 * entrypoint scripts are not used): initialising a data directory, the server itself, its upgrade tool.
 * Everything runs as root inside the container (`--user=root`), so a volume's files open in any image.
 */
export const DATA_DIR = '/var/lib/mysql';
export const SOCKET = '/tmp/mysqld.sock';

/** mariadbd in MariaDB >= 10.5 images; mysqld in MySQL's (and older MariaDB). */
export function serverBinary(v: ServerVersion): string {
  return v.flavor === 'mariadb' && v.major * 100 + v.minor >= 1005 ? 'mariadbd' : 'mysqld';
}

/** A fresh data directory in DATA_DIR, root without a password: MariaDB's install-db, or MySQL's --initialize-insecure. */
export function initCommand(v: ServerVersion): { entrypoint: string[]; cmd: string[] } {
  if (v.flavor === 'mariadb') {
    return {
      entrypoint: [v.major * 100 + v.minor >= 1005 ? 'mariadb-install-db' : 'mysql_install_db'],
      cmd: [
        '--no-defaults',
        '--user=root',
        `--datadir=${DATA_DIR}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
        '--innodb-log-file-size=16M',
        '--innodb-buffer-pool-size=32M',
      ],
    };
  }
  return {
    entrypoint: [serverBinary(v)],
    cmd: ['--no-defaults', '--initialize-insecure', '--user=root', `--datadir=${DATA_DIR}`],
  };
}

/** The server's own command line: loopback, its port, small and quick, binlog and GTIDs where asked. */
export function serverCommand(
  v: ServerVersion,
  o: { host: string; port: number; serverId: number; binlog: boolean; readOnly: boolean; extraArgs?: string[] },
): string[] {
  const args = [
    '--no-defaults',
    '--user=root',
    `--datadir=${DATA_DIR}`,
    `--port=${o.port}`,
    `--bind-address=${o.host}`,
    `--socket=${SOCKET}`,
    '--pid-file=/tmp/mysqld.pid',
    `--server-id=${o.serverId}`,
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    '--performance-schema=OFF',
    '--max-connections=500',
  ];
  if (v.flavor === 'mysql') args.push('--mysqlx=OFF', '--gtid-mode=ON', '--enforce-gtid-consistency=ON');
  // Named explicitly: with the host's network every container has the host's name, which default names use.
  if (o.binlog) args.push('--log-bin=binlog', '--relay-log=relay-bin', '--binlog-format=ROW', '--log-slave-updates');
  if (o.readOnly) args.push('--read-only');
  return [...args, ...(o.extraArgs ?? [])];
}

/**
 * The new version's upgrade step, run in its container: mariadb-upgrade (mysql_upgrade before MariaDB 10.5);
 * none for MySQL >= 8.0.16, which upgrades its data dictionary and system tables itself at start.
 */
export function upgradeCommand(v: ServerVersion): string[] | null {
  if (v.flavor === 'mysql') {
    if (v.major > 8 || (v.major === 8 && (v.minor > 0 || v.patch >= 16))) return null;
    return ['mysql_upgrade', '--no-defaults', `--socket=${SOCKET}`, '-uroot'];
  }
  const tool = v.major * 100 + v.minor >= 1005 ? 'mariadb-upgrade' : 'mysql_upgrade';
  return [tool, '--no-defaults', `--socket=${SOCKET}`, '-uroot'];
}
