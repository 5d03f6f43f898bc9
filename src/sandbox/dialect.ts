/**
 * Every SQL statement the sandbox sends for users, read_only, replication, the `mysql.rds_topology`
 * emulation and dropping the application's sessions, written once per server dialect. The server setup and
 * the steps call these and spell no such SQL themselves, so that MySQL 8.0/8.4 (CHANGE REPLICATION SOURCE
 * TO … SOURCE_AUTO_POSITION=1, START/STOP REPLICA, super_read_only, WAIT_FOR_EXECUTED_GTID_SET, SET
 * sql_log_bin around unlogged writes) is a second object of the same shape.
 *
 * Statements are complete strings: values are quoted here with mysql2's `format`, exactly as a
 * parameterised `query(sql, values)` would send them; identifiers are the sandbox's own names. A function
 * returns a list where the statements run in order on one connection (a dialect may need several).
 */
import { format } from 'mysql2/promise';

export type Flavor = 'mariadb' | 'mysql';

/** What the sandbox reads of SHOW SLAVE STATUS (SHOW REPLICA STATUS): values as the server gives them. */
export interface ReplicaStatus {
  /** 'Yes', 'No' or 'Connecting'. */
  ioRunning?: string;
  sqlRunning?: string;
  /** Seconds behind the source; null while the SQL thread does not run. */
  lagS?: number | null;
  lastIoError?: string;
  lastSqlError?: string;
}

/** One row of the rds_topology emulation: an environment of the blue/green deployment. */
interface TopologyRow {
  id: number;
  endpoint: string;
  port: number;
  role: 'BLUE_GREEN_DEPLOYMENT_SOURCE' | 'BLUE_GREEN_DEPLOYMENT_TARGET';
}

/** Where RDS keeps the blue/green topology (the same table name on MariaDB and MySQL). */
export const TOPOLOGY_TABLE = 'mysql.rds_topology';

export interface SqlDialect {
  readonly flavor: Flavor;

  /** The application's database and its user on every host pattern, with privileges on that database only. */
  createAppUser(user: string, password: string, database: string): string[];
  /** The replication user, allowed from the loopback address replicas connect from. */
  createReplicationUser(user: string, password: string): string[];
  /** Read access to the topology table, as RDS's rds_topology_role grants it. */
  grantTopologyRead(user: string): string[];

  /** Writes refused for users without SUPER / READ ONLY ADMIN (the application user). */
  setReadOnly(on: boolean): string;

  /** Points a replica at its source, by GTID, retrying the connection every second. */
  changeSource(source: { host: string; port: number; user: string; password: string }): string;
  startReplica(): string;
  stopReplica(): string;
  /** Forgets the source entirely (the replica becomes a primary). */
  resetReplica(): string;
  /** The replica status statement; its one row (if any) is read with `readReplicaStatus`. */
  showReplicaStatus(): string;
  readReplicaStatus(row: Record<string, unknown> | undefined): ReplicaStatus | null;
  /** The source's GTID position, as one row `{pos}`. */
  gtidPosition(): string;
  /** Waits on a replica until it has applied `pos`: one row `{r}`, 0 when it has, else a timeout. */
  waitForGtid(pos: string, timeoutS: number): string;

  /**
   * The rds_topology emulation. Each server keeps its own copy: writes are kept out of the binlog, so that
   * a write on green does not fork its GTID history from blue's and blue's do not replicate over green's.
   */
  createTopology(rows: TopologyRow[]): string[];
  setTopologyStatus(status: string): string[];
  /** After a switchover only the target's row is left. */
  deleteTopologySource(): string[];

  /** The ids of `user`'s sessions, as rows `{id}`. */
  listSessions(user: string): string;
  killSession(id: number): string;
}

/** The host patterns the application user is made for: '%' for TCP, and 'localhost' so that a socket login is not matched by a more specific entry first. */
const APP_USER_HOSTS = ['%', 'localhost'];

/** Replicas connect to their source over loopback. */
const REPLICA_HOST = '127.0.0.1';

/** MariaDB's per-statement setting: this one statement stays out of the binlog. */
const NO_BINLOG = 'SET STATEMENT sql_log_bin=0 FOR ';

export const mariadbDialect: SqlDialect = {
  flavor: 'mariadb',

  createAppUser: (user, password, database) => [
    `CREATE DATABASE IF NOT EXISTS \`${database}\``,
    ...APP_USER_HOSTS.flatMap((host) => [
      format('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [user, host, password]),
      // Only the database's privileges: no SUPER / READ ONLY ADMIN, so read_only applies to this user.
      format(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ?@?`, [user, host]),
    ]),
  ],
  createReplicationUser: (user, password) => [
    format(`CREATE USER IF NOT EXISTS ?@'${REPLICA_HOST}' IDENTIFIED BY ?`, [user, password]),
    format(`GRANT REPLICATION SLAVE ON *.* TO ?@'${REPLICA_HOST}'`, [user]),
  ],
  grantTopologyRead: (user) =>
    APP_USER_HOSTS.map((host) => format(`GRANT SELECT ON ${TOPOLOGY_TABLE} TO ?@?`, [user, host])),

  setReadOnly: (on) => `SET GLOBAL read_only = ${on ? 'ON' : 'OFF'}`,

  changeSource: (s) =>
    format(
      // MASTER_SSL=0: the sandbox's servers offer no TLS to each other, and MariaDB >= 11.4 as a replica would
      // otherwise require it (and retry connecting forever against a 10.11 source).
      `CHANGE MASTER TO MASTER_HOST='${s.host}', MASTER_PORT=${s.port}, MASTER_USER=?, MASTER_PASSWORD=?, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_SSL=0`,
      [s.user, s.password],
    ),
  startReplica: () => 'START SLAVE',
  stopReplica: () => 'STOP SLAVE',
  resetReplica: () => 'RESET SLAVE ALL',
  showReplicaStatus: () => 'SHOW SLAVE STATUS',
  readReplicaStatus: (row) => {
    if (row === undefined) return null;
    // Passed on as the driver gives them (strings; the lag a number, or null while the SQL thread is stopped).
    return {
      ioRunning: row.Slave_IO_Running as string | undefined,
      sqlRunning: row.Slave_SQL_Running as string | undefined,
      lagS: row.Seconds_Behind_Master as number | null | undefined,
      lastIoError: row.Last_IO_Error as string | undefined,
      lastSqlError: row.Last_SQL_Error as string | undefined,
    };
  },
  gtidPosition: () => 'SELECT @@global.gtid_binlog_pos AS pos',
  waitForGtid: (pos, timeoutS) => format('SELECT MASTER_GTID_WAIT(?, ?) AS r', [pos, timeoutS]),

  createTopology: (rows) => [
    `${NO_BINLOG}CREATE TABLE IF NOT EXISTS ${TOPOLOGY_TABLE} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, endpoint VARCHAR(255) NOT NULL, port INT NOT NULL, role VARCHAR(64) NOT NULL, status VARCHAR(64) NOT NULL, version VARCHAR(16) NOT NULL) ENGINE=InnoDB`,
    `${NO_BINLOG}DELETE FROM ${TOPOLOGY_TABLE}`,
    format(
      `${NO_BINLOG}INSERT INTO ${TOPOLOGY_TABLE} VALUES ${rows.map(() => `(?, ?, ?, ?, 'AVAILABLE', '1.0')`).join(', ')}`,
      rows.flatMap((r) => [r.id, r.endpoint, r.port, r.role]),
    ),
  ],
  setTopologyStatus: (status) => [format(`${NO_BINLOG}UPDATE ${TOPOLOGY_TABLE} SET status = ?`, [status])],
  deleteTopologySource: () => [`${NO_BINLOG}DELETE FROM ${TOPOLOGY_TABLE} WHERE role = 'BLUE_GREEN_DEPLOYMENT_SOURCE'`],

  listSessions: (user) => format('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [user]),
  killSession: (id) => `KILL CONNECTION ${Number(id)}`,
};

/** MySQL keeps a statement out of the binlog by switching it off around it (no SET STATEMENT … FOR). */
const unlogged = (statements: string[]): string[] => [
  'SET SESSION sql_log_bin = 0',
  ...statements,
  'SET SESSION sql_log_bin = 1',
];

/**
 * MySQL 8.0 / 8.4: CHANGE REPLICATION SOURCE TO … SOURCE_AUTO_POSITION=1 (GTIDs: gtid_mode=ON, as the servers
 * run), START/STOP REPLICA, SHOW REPLICA STATUS, WAIT_FOR_EXECUTED_GTID_SET; super_read_only (which also sets
 * read_only) so that not even an account with SUPER writes on a read-only side. Users get the server's default
 * authentication plugin (caching_sha2_password; 8.4 disables mysql_native_password): the replica fetches the
 * source's RSA key (GET_SOURCE_PUBLIC_KEY=1) as the connection has no TLS. Not run against a MySQL server here
 * (none is installable on these machines): pinned by test/dialect.test.ts; see docs/sandbox.md.
 */
export const mysqlDialect: SqlDialect = {
  flavor: 'mysql',

  createAppUser: mariadbDialect.createAppUser,
  createReplicationUser: (user, password) => [
    format(`CREATE USER IF NOT EXISTS ?@'${REPLICA_HOST}' IDENTIFIED BY ?`, [user, password]),
    format(`GRANT REPLICATION SLAVE ON *.* TO ?@'${REPLICA_HOST}'`, [user]),
  ],
  grantTopologyRead: mariadbDialect.grantTopologyRead,

  setReadOnly: (on) => (on ? 'SET GLOBAL super_read_only = ON' : 'SET GLOBAL read_only = OFF'),

  changeSource: (s) =>
    format(
      `CHANGE REPLICATION SOURCE TO SOURCE_HOST='${s.host}', SOURCE_PORT=${s.port}, SOURCE_USER=?, SOURCE_PASSWORD=?, SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1`,
      [s.user, s.password],
    ),
  startReplica: () => 'START REPLICA',
  stopReplica: () => 'STOP REPLICA',
  resetReplica: () => 'RESET REPLICA ALL',
  showReplicaStatus: () => 'SHOW REPLICA STATUS',
  readReplicaStatus: (row) => {
    if (row === undefined) return null;
    return {
      ioRunning: row.Replica_IO_Running as string | undefined,
      sqlRunning: row.Replica_SQL_Running as string | undefined,
      lagS: row.Seconds_Behind_Source as number | null | undefined,
      lastIoError: row.Last_IO_Error as string | undefined,
      lastSqlError: row.Last_SQL_Error as string | undefined,
    };
  },
  gtidPosition: () => 'SELECT @@global.gtid_executed AS pos',
  // 0 when applied, 1 on timeout (as MASTER_GTID_WAIT's 0 / -1: callers test for 0).
  waitForGtid: (pos, timeoutS) => format('SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r', [pos, timeoutS]),

  createTopology: (rows) =>
    unlogged([
      `CREATE TABLE IF NOT EXISTS ${TOPOLOGY_TABLE} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, endpoint VARCHAR(255) NOT NULL, port INT NOT NULL, role VARCHAR(64) NOT NULL, status VARCHAR(64) NOT NULL, version VARCHAR(16) NOT NULL) ENGINE=InnoDB`,
      `DELETE FROM ${TOPOLOGY_TABLE}`,
      format(
        `INSERT INTO ${TOPOLOGY_TABLE} VALUES ${rows.map(() => `(?, ?, ?, ?, 'AVAILABLE', '1.0')`).join(', ')}`,
        rows.flatMap((r) => [r.id, r.endpoint, r.port, r.role]),
      ),
    ]),
  setTopologyStatus: (status) => unlogged([format(`UPDATE ${TOPOLOGY_TABLE} SET status = ?`, [status])]),
  deleteTopologySource: () => unlogged([`DELETE FROM ${TOPOLOGY_TABLE} WHERE role = 'BLUE_GREEN_DEPLOYMENT_SOURCE'`]),

  listSessions: mariadbDialect.listSessions,
  killSession: mariadbDialect.killSession,
};

/** The dialect of each server flavor. */
const DIALECTS: Record<Flavor, SqlDialect> = { mariadb: mariadbDialect, mysql: mysqlDialect };

export function dialectFor(flavor: Flavor): SqlDialect {
  return DIALECTS[flavor];
}
