/**
 * An emulation of RDS's `mysql.rds_topology` during a blue/green deployment: one row per environment
 * (`id, endpoint, port, role, status, version`), roles BLUE_GREEN_DEPLOYMENT_SOURCE / _TARGET, status
 * AVAILABLE → SWITCHOVER_INITIATED → SWITCHOVER_IN_PROGRESS → SWITCHOVER_IN_POST_PROCESSING →
 * SWITCHOVER_COMPLETED (then only the target row is left), as blue/green-aware drivers poll it.
 * Each server keeps its own copy, kept out of the binlog: a write on green must not enter its binlog (it
 * would fork its GTID history from blue's), and blue's must not replicate over green's.
 */
import { oneLine } from '../../errors.js';
import { mariadbDialect, TOPOLOGY_TABLE, type SqlDialect } from '../dialect.js';
import type { SandboxServer } from './types.js';

/** The statuses, in the order a switchover goes through them. */
export type TopologyStatus =
  | 'AVAILABLE'
  | 'SWITCHOVER_INITIATED'
  | 'SWITCHOVER_IN_PROGRESS'
  | 'SWITCHOVER_IN_POST_PROCESSING'
  | 'SWITCHOVER_COMPLETED';

/** The table on every server of `servers`, with blue as the source and green as the target, both AVAILABLE. */
export async function createTopologyTable(
  servers: SandboxServer[],
  blue: SandboxServer,
  green: SandboxServer,
  sql: SqlDialect = mariadbDialect,
): Promise<void> {
  const statements = sql.createTopology([
    { id: blue.serverId, endpoint: blue.host ?? '127.0.0.1', port: blue.port, role: 'BLUE_GREEN_DEPLOYMENT_SOURCE' },
    { id: green.serverId, endpoint: green.host ?? '127.0.0.1', port: green.port, role: 'BLUE_GREEN_DEPLOYMENT_TARGET' },
  ]);
  for (const s of servers) {
    for (const statement of statements) await s.rootQuery(statement);
  }
}

/** Sets the status on both servers; returns the error text instead of throwing (the metadata must not abort a step). */
export async function setTopologyStatus(
  servers: SandboxServer[],
  status: TopologyStatus,
  sql: SqlDialect,
): Promise<string | null> {
  const statements = [
    ...sql.setTopologyStatus(status),
    ...(status === 'SWITCHOVER_COMPLETED' ? sql.deleteTopologySource() : []),
  ];
  const errors: string[] = [];
  await Promise.all(
    servers.map(async (s) => {
      try {
        for (const statement of statements) await s.rootQuery(statement);
      } catch (err) {
        errors.push(`port ${s.port}: ${oneLine((err as Error).message)}`);
      }
    }),
  );
  return errors.length > 0 ? `${TOPOLOGY_TABLE} not updated to ${status} (${errors.join('; ')})` : null;
}
