import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DowntimeError, ExitCode } from '../src/errors.js';
import {
  checkUpgrade,
  isUpgrade,
  parseServerSource,
  parseVersionLine,
  parseVersionString,
  type ServerVersion,
} from '../src/sandbox/versions.js';

test('from/to sources: PATH, a server directory, or an image; a typo is refused', () => {
  const rows: [string | undefined, ReturnType<typeof parseServerSource>][] = [
    [undefined, { kind: 'path' }],
    ['path', { kind: 'path' }],
    ['/opt/mysql-8.0.40', { kind: 'directory', dir: '/opt/mysql-8.0.40' }],
    ['./mysql-8.4.3', { kind: 'directory', dir: './mysql-8.4.3' }],
    ['~/servers/mariadb-11.8', { kind: 'directory', dir: '/home/u/servers/mariadb-11.8' }],
    ['mariadb:11.8', { kind: 'image', image: 'mariadb:11.8' }],
    ['mysql:8.4', { kind: 'image', image: 'mysql:8.4' }],
    ['downtime/mariadb:10.11', { kind: 'image', image: 'downtime/mariadb:10.11' }],
    [
      'registry.example.com:5000/db/mysql:8.0.40',
      { kind: 'image', image: 'registry.example.com:5000/db/mysql:8.0.40' },
    ],
  ];
  for (const [text, want] of rows) assert.deepEqual(parseServerSource(text, '--from', '/home/u'), want, String(text));
  assert.throws(
    () => parseServerSource('MariaDB 11', '--to'),
    (e: unknown) =>
      e instanceof DowntimeError &&
      e.exitCode === ExitCode.Usage &&
      /--to "MariaDB 11" is neither an image/.test(e.message),
  );
});

test('--version lines: MariaDB, MySQL, Percona; VERSION() strings', () => {
  const rows: [string, string, string][] = [
    ['mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)', 'mariadb', '10.11.18'],
    ['/usr/sbin/mysqld  Ver 8.0.40 for Linux on x86_64 (MySQL Community Server - GPL)', 'mysql', '8.0.40'],
    ['mysqld  Ver 8.0.36-28 for Linux on x86_64 (Percona Server (GPL), Release 28)', 'mysql', '8.0.36'],
    ['mysqld  Ver 10.5.23-MariaDB-1:10.5.23+maria~ubu2004 for debian-linux-gnu', 'mariadb', '10.5.23'],
  ];
  for (const [line, flavor, version] of rows) {
    const v = parseVersionLine(line);
    assert.equal(v?.flavor, flavor, line);
    assert.equal(v?.version, version, line);
  }
  assert.equal(parseVersionLine('garbage'), undefined);
  assert.equal(parseVersionString('11.8.9-MariaDB-0+deb13u1 from Debian-log')?.version, '11.8.9');
  assert.equal(parseVersionString('8.4.3')?.flavor, 'mysql');
});

const v = (s: string): ServerVersion => parseVersionString(s) as ServerVersion;

test('upgrade pairs: kind kept, no downgrade, MySQL one series at a time; the same version is a restart', () => {
  checkUpgrade(v('10.11.18-MariaDB'), v('11.8.9-MariaDB'));
  checkUpgrade(v('8.0.40'), v('8.4.3'));
  checkUpgrade(v('5.7.44'), v('8.0.40'));
  checkUpgrade(v('10.11.18-MariaDB'), v('10.11.18-MariaDB'));
  assert.equal(isUpgrade(v('10.11.18-MariaDB'), v('10.11.18-MariaDB')), false);
  assert.equal(isUpgrade(v('10.11.18-MariaDB'), v('10.11.19-MariaDB')), true);
  const refused: [string, string, RegExp][] = [
    ['8.0.40', '11.8.9-MariaDB', /MySQL 8\.0\.40 → MariaDB 11\.8\.9: an upgrade keeps the server's kind/],
    ['11.8.9-MariaDB', '10.11.18-MariaDB', /MariaDB 11\.8\.9 → MariaDB 10\.11\.18 is a downgrade; swap from and to/],
    ['5.7.44', '8.4.3', /MySQL does not upgrade 5\.7\.44 → 8\.4\.3 in one step/],
  ];
  for (const [from, to, message] of refused) {
    assert.throws(
      () => checkUpgrade(v(from), v(to)),
      (e: unknown) => e instanceof DowntimeError && e.exitCode === ExitCode.Usage && message.test(e.message),
      `${from} → ${to}`,
    );
  }
});
