import { randomBytes } from 'node:crypto';

import { dialectFor } from '../dialect.js';
import { localProcesses } from '../servers/local-process.js';
import type { MysqlServer, ServerProvider } from '../servers/types.js';
import { createTopologyTable } from './rds-topology.js';
import { startReplication, waitCaughtUp } from './replication.js';
import type { Topology } from './types.js';

export const APP_USER = 'downtime';
export const APP_DATABASE = 'probe';
const REPL_USER = 'downtime_repl';

export function randomPassword(): string {
  return 'pw-' + randomBytes(12).toString('base64url');
}

export interface Credentials {
  appPassword: string;
  replPassword: string;
}

/** What to build: the topology, where, with which passwords, on which ports and addresses, by which provider. */
export interface BuildOptions {
  topology: Topology;
  /** Directory the servers' own directories are made in. */
  dir: string;
  creds: Credentials;
  /** Fixed ports (default: free ones). */
  ports?: { blue?: number; green?: number };
  /** Servers that outlive this process (`sandbox up`). */
  detached?: boolean;
  /** Loopback addresses (default 127.0.0.1); a green with its own address shares blue's port unless given one. */
  hosts?: { blue?: string; green?: string };
  /**
   * What starts the servers: `from` the version running now (blue; the single server), `to` the version to
   * upgrade to (green of blue/green; what an in-place upgrade switches the server to). Default: local
   * processes of the binaries on PATH, and `to` the same as `from` (a restart rehearsal).
   */
  servers?: { from?: ServerProvider; to?: ServerProvider };
}

/**
 * Starts blue (and green as its replica) from scratch in `dir`, with the replication and app users.
 * The users are made on blue after replication runs, so green gets them through the binlog; the app
 * user has privileges on its database only (no SUPER, no READ ONLY ADMIN): read_only applies to it.
 */
export async function buildServers(o: BuildOptions): Promise<{ blue: MysqlServer; green?: MysqlServer }> {
  const { topology, dir, creds, ports = {}, detached = false, hosts = {} } = o;
  const from = o.servers?.from ?? localProcesses;
  const to = o.servers?.to ?? from;
  const blue = await from.start({
    baseDir: dir,
    name: 'blue',
    serverId: 1,
    binlog: true,
    ...(to !== from ? { upgradeTo: to } : {}),
    ...(hosts.blue !== undefined ? { host: hosts.blue } : {}),
    ...(ports.blue !== undefined ? { port: ports.blue } : {}),
    ...(detached ? { detached } : {}),
  });
  let green: MysqlServer | undefined;
  const dialect = dialectFor(blue.flavor);
  try {
    if (topology === 'blue-green') {
      for (const sql of dialect.createReplicationUser(REPL_USER, creds.replPassword)) await blue.rootQuery(sql);
      // Green runs the new version, replicating from blue: blue/green as RDS sets it up.
      green = await to.start({
        baseDir: dir,
        name: 'green',
        serverId: 2,
        binlog: true,
        readOnly: true,
        ...(hosts.green !== undefined ? { host: hosts.green } : {}),
        ...(ports.green !== undefined
          ? { port: ports.green }
          : hosts.green !== undefined && hosts.green !== (hosts.blue ?? '127.0.0.1')
            ? { port: blue.port }
            : {}),
        ...(detached ? { detached } : {}),
      });
      await startReplication(blue, green, { user: REPL_USER, password: creds.replPassword }, 20_000, dialect);
    }
    if (green) await createTopologyTable([blue, green], blue, green, dialect);
    await blue.createUser(APP_USER, creds.appPassword, APP_DATABASE);
    if (green) {
      // As RDS's rds_topology_role: the app user may read the topology (granted on blue, replicated).
      for (const sql of dialect.grantTopologyRead(APP_USER)) await blue.rootQuery(sql);
      await waitCaughtUp(blue, green, 20_000, dialect);
    }
  } catch (err) {
    await green?.destroy();
    await blue.destroy();
    throw err;
  }
  return green ? { blue, green } : { blue };
}
