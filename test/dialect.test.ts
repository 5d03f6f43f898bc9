/**
 * The SQL the sandbox sends to MariaDB (src/sandbox/dialect.ts), pinned statement by statement: users,
 * read_only, replication, the rds_topology emulation and dropping sessions. No server: a MySQL dialect is
 * tested the same way, at the SQL it generates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dialectFor, mariadbDialect as d, mysqlDialect as m, TOPOLOGY_TABLE } from '../src/sandbox/dialect.js';

const NO_BINLOG = 'SET STATEMENT sql_log_bin=0 FOR ';

test('mariadb: the application user, on its database only, for TCP and socket logins', () => {
  assert.deepEqual(d.createAppUser('downtime', 'pw-x', 'probe'), [
    'CREATE DATABASE IF NOT EXISTS `probe`',
    "CREATE USER IF NOT EXISTS 'downtime'@'%' IDENTIFIED BY 'pw-x'",
    "GRANT ALL PRIVILEGES ON `probe`.* TO 'downtime'@'%'",
    "CREATE USER IF NOT EXISTS 'downtime'@'localhost' IDENTIFIED BY 'pw-x'",
    "GRANT ALL PRIVILEGES ON `probe`.* TO 'downtime'@'localhost'",
  ]);
  // Values are quoted as a parameterised query quotes them.
  assert.equal(d.createAppUser('u', "it's", 'db')[1], "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED BY 'it\\'s'");
});

test('mariadb: the replication user and read access to the topology table', () => {
  assert.deepEqual(d.createReplicationUser('downtime_repl', 'pw-r'), [
    "CREATE USER IF NOT EXISTS 'downtime_repl'@'127.0.0.1' IDENTIFIED BY 'pw-r'",
    "GRANT REPLICATION SLAVE ON *.* TO 'downtime_repl'@'127.0.0.1'",
  ]);
  assert.deepEqual(d.grantTopologyRead('downtime'), [
    "GRANT SELECT ON mysql.rds_topology TO 'downtime'@'%'",
    "GRANT SELECT ON mysql.rds_topology TO 'downtime'@'localhost'",
  ]);
});

test('mariadb: read_only', () => {
  assert.equal(d.setReadOnly(true), 'SET GLOBAL read_only = ON');
  assert.equal(d.setReadOnly(false), 'SET GLOBAL read_only = OFF');
});

test('mariadb: replication by GTID (slave_pos), started, stopped, reset, waited for', () => {
  assert.equal(
    d.changeSource({ host: '127.0.0.1', port: 3307, user: 'downtime_repl', password: 'pw-r' }),
    "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=3307, MASTER_USER='downtime_repl', MASTER_PASSWORD='pw-r', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_SSL=0",
  );
  assert.equal(d.startReplica(), 'START SLAVE');
  assert.equal(d.stopReplica(), 'STOP SLAVE');
  assert.equal(d.resetReplica(), 'RESET SLAVE ALL');
  assert.equal(d.showReplicaStatus(), 'SHOW SLAVE STATUS');
  assert.equal(d.gtidPosition(), 'SELECT @@global.gtid_binlog_pos AS pos');
  assert.equal(d.waitForGtid('0-1-42', 20), "SELECT MASTER_GTID_WAIT('0-1-42', 20) AS r");
  assert.equal(d.waitForGtid('0-1-42,1-2-3', 0.5), "SELECT MASTER_GTID_WAIT('0-1-42,1-2-3', 0.5) AS r");
});

test('mariadb: SHOW SLAVE STATUS read into a ReplicaStatus', () => {
  assert.equal(d.readReplicaStatus(undefined), null);
  assert.deepEqual(
    d.readReplicaStatus({
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'No',
      Seconds_Behind_Master: null,
      Last_IO_Error: '',
      Last_SQL_Error: 'Duplicate entry',
      Master_Port: 3307,
    }),
    { ioRunning: 'Yes', sqlRunning: 'No', lagS: null, lastIoError: '', lastSqlError: 'Duplicate entry' },
  );
  assert.deepEqual(d.readReplicaStatus({ Slave_IO_Running: 'Connecting', Seconds_Behind_Master: 3 }), {
    ioRunning: 'Connecting',
    sqlRunning: undefined,
    lagS: 3,
    lastIoError: undefined,
    lastSqlError: undefined,
  });
});

test('mariadb: the rds_topology emulation, kept out of the binlog', () => {
  assert.equal(TOPOLOGY_TABLE, 'mysql.rds_topology');
  assert.deepEqual(
    d.createTopology([
      { id: 1, endpoint: '127.0.0.1', port: 3307, role: 'BLUE_GREEN_DEPLOYMENT_SOURCE' },
      { id: 2, endpoint: '127.0.0.2', port: 3307, role: 'BLUE_GREEN_DEPLOYMENT_TARGET' },
    ]),
    [
      `${NO_BINLOG}CREATE TABLE IF NOT EXISTS mysql.rds_topology (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, endpoint VARCHAR(255) NOT NULL, port INT NOT NULL, role VARCHAR(64) NOT NULL, status VARCHAR(64) NOT NULL, version VARCHAR(16) NOT NULL) ENGINE=InnoDB`,
      `${NO_BINLOG}DELETE FROM mysql.rds_topology`,
      `${NO_BINLOG}INSERT INTO mysql.rds_topology VALUES (1, '127.0.0.1', 3307, 'BLUE_GREEN_DEPLOYMENT_SOURCE', 'AVAILABLE', '1.0'), (2, '127.0.0.2', 3307, 'BLUE_GREEN_DEPLOYMENT_TARGET', 'AVAILABLE', '1.0')`,
    ],
  );
  assert.deepEqual(d.setTopologyStatus('SWITCHOVER_IN_PROGRESS'), [
    `${NO_BINLOG}UPDATE mysql.rds_topology SET status = 'SWITCHOVER_IN_PROGRESS'`,
  ]);
  assert.deepEqual(d.deleteTopologySource(), [
    `${NO_BINLOG}DELETE FROM mysql.rds_topology WHERE role = 'BLUE_GREEN_DEPLOYMENT_SOURCE'`,
  ]);
});

test("mariadb: the application's sessions, listed and killed", () => {
  assert.equal(
    d.listSessions('downtime'),
    "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = 'downtime'",
  );
  assert.equal(d.killSession(17), 'KILL CONNECTION 17');
});

test('dialectFor: MariaDB servers get the MariaDB dialect', () => {
  assert.equal(dialectFor('mariadb'), d);
  assert.equal(d.flavor, 'mariadb');
});

test('mysql 8.0/8.4: replication by GTID auto-position, START/STOP REPLICA, super_read_only, unlogged topology writes', () => {
  assert.equal(
    m.changeSource({ host: '127.0.0.1', port: 3307, user: 'downtime_repl', password: 'pw-r' }),
    "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=3307, SOURCE_USER='downtime_repl', SOURCE_PASSWORD='pw-r', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1",
  );
  assert.deepEqual(
    [m.startReplica(), m.stopReplica(), m.resetReplica(), m.showReplicaStatus()],
    ['START REPLICA', 'STOP REPLICA', 'RESET REPLICA ALL', 'SHOW REPLICA STATUS'],
  );
  assert.deepEqual(
    m.readReplicaStatus({
      Replica_IO_Running: 'Yes',
      Replica_SQL_Running: 'Yes',
      Seconds_Behind_Source: 0,
      Last_IO_Error: '',
      Last_SQL_Error: '',
    }),
    { ioRunning: 'Yes', sqlRunning: 'Yes', lagS: 0, lastIoError: '', lastSqlError: '' },
  );
  assert.equal(m.gtidPosition(), 'SELECT @@global.gtid_executed AS pos');
  assert.equal(
    m.waitForGtid('3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5', 10),
    "SELECT WAIT_FOR_EXECUTED_GTID_SET('3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5', 10) AS r",
  );
  assert.equal(m.setReadOnly(true), 'SET GLOBAL super_read_only = ON');
  assert.equal(m.setReadOnly(false), 'SET GLOBAL read_only = OFF');
  assert.deepEqual(m.setTopologyStatus('SWITCHOVER_IN_PROGRESS'), [
    'SET SESSION sql_log_bin = 0',
    `UPDATE ${TOPOLOGY_TABLE} SET status = 'SWITCHOVER_IN_PROGRESS'`,
    'SET SESSION sql_log_bin = 1',
  ]);
  assert.equal(dialectFor('mysql'), m);
  assert.equal(dialectFor('mariadb'), d);
});
