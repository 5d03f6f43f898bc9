import { sleep } from '../../util/sleep.js';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import { mariadbDialect, type ReplicaStatus, type SqlDialect } from '../dialect.js';
import type { SandboxServer } from './types.js';

/** The replica's threads and lag, or null if it replicates from nothing. */
export async function replicaStatus(s: SandboxServer, sql: SqlDialect): Promise<ReplicaStatus | null> {
  const rows = await s.rootQuery<Record<string, unknown>[]>(sql.showReplicaStatus());
  return sql.readReplicaStatus(rows[0]);
}

/** Points `replica` at `source` with GTIDs and waits until both replication threads run. */
export async function startReplication(
  source: SandboxServer,
  replica: SandboxServer,
  repl: { user: string; password: string },
  timeoutMs = 20_000,
  sql: SqlDialect = mariadbDialect,
): Promise<void> {
  await replica.rootQuery(
    sql.changeSource({ host: source.host ?? '127.0.0.1', port: source.port, user: repl.user, password: repl.password }),
  );
  await replica.rootQuery(sql.startReplica());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await replicaStatus(replica, sql);
    if (st?.ioRunning === 'Yes' && st.sqlRunning === 'Yes') return;
    if (Date.now() > deadline) {
      throw new DowntimeError(
        `replication from port ${source.port} to ${replica.port} did not start: ${oneLine(st?.lastIoError || st?.lastSqlError || 'threads not running')}`,
        ExitCode.Sandbox,
      );
    }
    await sleep(50);
  }
}

/** Waits until `replica` has applied every transaction `source` has written to its binlog. */
export async function waitCaughtUp(
  source: SandboxServer,
  replica: SandboxServer,
  timeoutMs: number,
  sql: SqlDialect = mariadbDialect,
): Promise<string> {
  const rows = await source.rootQuery<{ pos: string }[]>(sql.gtidPosition());
  const pos = rows[0]?.pos ?? '';
  const res = await replica.rootQuery<{ r: number | null }[]>(sql.waitForGtid(pos, timeoutMs / 1000));
  if (Number(res[0]?.r) !== 0) {
    throw new DowntimeError(
      `the replica on port ${replica.port} did not apply GTID position ${pos} within ${timeoutMs} ms; check ${sql.showReplicaStatus()} on it`,
      ExitCode.Sandbox,
    );
  }
  return pos;
}

/** The replica becomes a primary: it replicates from nothing any more, and takes writes. */
export async function promote(replica: SandboxServer, sql: SqlDialect): Promise<void> {
  await replica.rootQuery(sql.stopReplica());
  await replica.rootQuery(sql.resetReplica());
  await replica.rootQuery(sql.setReadOnly(false));
}
