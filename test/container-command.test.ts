import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initCommand, serverBinary, serverCommand, upgradeCommand } from '../src/sandbox/containers/command.js';
import { parseVersionString, type ServerVersion } from '../src/sandbox/versions.js';

/**
 * The command lines a containerised server runs, for the images CI cannot run here too (MySQL 8.0/8.4): one
 * command line for official images and locally built ones, their entrypoint scripts bypassed.
 */
const v = (s: string): ServerVersion => parseVersionString(s) as ServerVersion;

test('MariaDB: mariadb-install-db, mariadbd with binlog and explicit log names, mariadb-upgrade in the container', () => {
  const m = v('11.8.9-MariaDB');
  assert.equal(serverBinary(m), 'mariadbd');
  assert.equal(initCommand(m).entrypoint[0], 'mariadb-install-db');
  assert.ok(initCommand(m).cmd.includes('--auth-root-authentication-method=normal'));
  const args = serverCommand(m, { host: '127.0.0.1', port: 3307, serverId: 2, binlog: true, readOnly: true });
  assert.deepEqual(args.slice(0, 5), [
    '--no-defaults',
    '--user=root',
    '--datadir=/var/lib/mysql',
    '--port=3307',
    '--bind-address=127.0.0.1',
  ]);
  for (const a of ['--server-id=2', '--log-bin=binlog', '--relay-log=relay-bin', '--read-only'])
    assert.ok(args.includes(a), a);
  assert.ok(!args.some((a) => a.startsWith('--gtid-mode')), 'MariaDB has GTIDs without gtid_mode');
  assert.deepEqual(upgradeCommand(m), ['mariadb-upgrade', '--no-defaults', '--socket=/tmp/mysqld.sock', '-uroot']);
  assert.equal(upgradeCommand(v('10.4.30-MariaDB'))?.[0], 'mysql_upgrade');
  assert.equal(serverBinary(v('10.4.30-MariaDB')), 'mysqld');
});

test('MySQL 8.0/8.4: --initialize-insecure, gtid_mode on, no X plugin, no upgrade tool from 8.0.16', () => {
  const m = v('8.4.3');
  assert.equal(serverBinary(m), 'mysqld');
  assert.deepEqual(initCommand(m), {
    entrypoint: ['mysqld'],
    cmd: ['--no-defaults', '--initialize-insecure', '--user=root', '--datadir=/var/lib/mysql'],
  });
  const args = serverCommand(m, { host: '127.0.0.1', port: 3306, serverId: 1, binlog: true, readOnly: false });
  for (const a of ['--mysqlx=OFF', '--gtid-mode=ON', '--enforce-gtid-consistency=ON']) assert.ok(args.includes(a), a);
  assert.equal(upgradeCommand(m), null);
  assert.equal(upgradeCommand(v('8.0.16')), null);
  assert.deepEqual(upgradeCommand(v('8.0.15')), [
    'mysql_upgrade',
    '--no-defaults',
    '--socket=/tmp/mysqld.sock',
    '-uroot',
  ]);
  assert.equal(upgradeCommand(v('5.7.44'))?.[0], 'mysql_upgrade');
});
