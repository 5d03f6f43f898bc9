import { join } from 'node:path';
import type { Binaries } from './binaries.js';
import type { ServerOptions } from './types.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** mariadbd and mysqld refuse to run as root unless told to. */
export function userArgs(): string[] {
  return isRoot ? ['--user=root'] : [];
}

/** The command line of a local server process: its own directory, port and address, small and quick. */
export function serverArgs(
  bin: Pick<Binaries, 'flavor'> & Partial<Pick<Binaries, 'basedir'>>,
  o: {
    dir: string;
    dataDir: string;
    port: number;
    /** Bind address (default 127.0.0.1). */
    host?: string;
    serverId: number;
    binlog: boolean;
    gtid?: boolean;
    readOnly: boolean;
    extraArgs: string[];
  },
): string[] {
  const args = [
    '--no-defaults',
    // A server directory (tarball) finds its share/ (messages, charsets) through its base directory.
    ...(bin.basedir ? [`--basedir=${bin.basedir}`] : []),
    `--datadir=${o.dataDir}`,
    `--port=${o.port}`,
    `--bind-address=${o.host ?? '127.0.0.1'}`,
    `--socket=${join(o.dir, 'mysqld.sock')}`,
    `--pid-file=${join(o.dir, 'mysqld.pid')}`,
    `--log-error=${join(o.dir, 'error.log')}`,
    `--server-id=${o.serverId}`,
    '--skip-name-resolve',
    // Small and quick: these servers hold a probe table, not a workload.
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    '--performance-schema=OFF',
    '--max-connections=500',
    ...userArgs(),
  ];
  if (bin.flavor === 'mysql') {
    args.push('--mysqlx=OFF');
    if (o.gtid !== false) args.push('--gtid-mode=ON', '--enforce-gtid-consistency=ON');
  }
  if (o.binlog) args.push('--log-bin=binlog', '--binlog-format=ROW', '--log-slave-updates');
  if (o.readOnly) args.push('--read-only');
  return [...args, ...o.extraArgs];
}

export function tlsArgs(tls: ServerOptions['tls']): string[] {
  if (tls === undefined) return [];
  return [`--ssl-cert=${tls.cert}`, `--ssl-key=${tls.key}`, ...(tls.ca !== undefined ? [`--ssl-ca=${tls.ca}`] : [])];
}
