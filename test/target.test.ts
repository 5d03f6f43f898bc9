import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { resolveCredentials } from '../src/scenario/password.js';
import { validateTableName } from '../src/scenario/rules.js';
import { checkTargetUrlKey, parseTargetUrl, targetFromFlag } from '../src/scenario/target-url.js';
import { compileSql, bindParams, IdentityReader } from '../src/load/probes.js';

test('target URLs parse, and the stored URL never carries the password', () => {
  const { target, urlPassword } = parseTargetUrl('mysql://app:s3cret@db.example:3307/probe');
  assert.deepEqual(target, {
    host: 'db.example',
    port: 3307,
    user: 'app',
    database: 'probe',
    url: 'mysql://app@db.example:3307/probe',
  });
  assert.equal(urlPassword, 's3cret');
  assert.equal(parseTargetUrl('mysql://app@127.0.0.1/probe').target.port, 3306);
});

test('bad target URLs name the problem', () => {
  const rows: [url: string, message: RegExp][] = [
    ['db.example:3306', /is not a URL; write mysql:\/\/USER@HOST:PORT\/DATABASE/],
    ['http://app@db/probe', /must start with mysql:\/\//],
    ['mysql://db.example/probe', /has no user/],
    ['mysql://app@db.example:3306/', /names no database/],
    ['mysql://app@db.example:99999/probe', /--target port 99999 is not a port number \(1-65535\)/],
    ['mysql://app@db.example/pro;be', /not a plain identifier/],
    ['mysql://app@db.example/probe?ssl=true', /takes no \?options/],
    ['mysql://app:hunter2@db:x/probe', /is not a URL/],
  ];
  for (const [url, message] of rows) {
    assert.throws(
      () => parseTargetUrl(url),
      (e: unknown) =>
        e instanceof DowntimeError &&
        e.exitCode === ExitCode.Usage &&
        message.test(e.message) &&
        !e.message.includes('hunter2'),
      url,
    );
  }
});

test('one URL parser, two wordings: a flag names its first problem, a scenario key every one', () => {
  const usage = (message: RegExp) => (e: unknown) =>
    e instanceof DowntimeError && e.exitCode === ExitCode.Usage && message.test(e.message) && !e.message.includes('pw');
  assert.throws(
    () => targetFromFlag('mysql://db.example/probe', '--green-target'),
    usage(/^--green-target has no user/),
  );
  assert.throws(
    () => targetFromFlag('mysql://app:pw@db/probe', '--target'),
    usage(/^--target must not hold a password/),
  );
  assert.throws(
    () => targetFromFlag('mysql://app:pw@db/probe', '--green-target'),
    usage(/^--green-target is read with the --target credentials; remove the password from it$/),
  );
  assert.equal(targetFromFlag('mysql://app@db/probe', '--target').url, 'mysql://app@db:3306/probe');
  const form = 'write mysql://USER@HOST:PORT/DATABASE';
  assert.deepEqual(checkTargetUrlKey('mysql://db.example:0', 'target'), {
    ok: false,
    problems: [
      'target: port 0 is not a port number (1-65535)',
      `target: has no user; ${form}`,
      `target: names no database; ${form} (the harness creates its table there)`,
    ],
  });
  assert.deepEqual(checkTargetUrlKey(' mysql://app@db/probe ', 'greenTarget'), {
    ok: true,
    value: 'mysql://app@db/probe',
  });
});

test('credentials: password file, then URL, then MYSQL_PWD; unreadable file is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-pw-'));
  try {
    const file = join(dir, 'pw');
    writeFileSync(file, 'from-file\n');
    assert.deepEqual(resolveCredentials({ passwordFile: file, env: { MYSQL_PWD: 'env' } }), {
      password: 'from-file',
      source: 'password file',
    });
    assert.deepEqual(resolveCredentials({ urlPassword: 'u', env: { MYSQL_PWD: 'env' } }), {
      password: 'u',
      source: 'URL',
    });
    assert.deepEqual(resolveCredentials({ env: { MYSQL_PWD: 'env' } }), { password: 'env', source: 'MYSQL_PWD' });
    assert.deepEqual(resolveCredentials({ env: {} }), { password: undefined, source: 'none' });
    assert.throws(
      () => resolveCredentials({ passwordFile: join(dir, 'nope'), env: {} }),
      (e: unknown) => e instanceof DowntimeError && e.exitCode === ExitCode.InputFile && /no such file/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('table names are plain identifiers', () => {
  assert.equal(validateTableName('downtime_probe'), 'downtime_probe');
  for (const bad of ['x; DROP TABLE users', 'a`b', '1abc', '', 'a'.repeat(65), 'db.t'])
    assert.throws(() => validateTableName(bad), /not a plain identifier/, bad);
});

test('probe SQL placeholders compile to bound parameters, outside quotes only', () => {
  const c = compileSql("INSERT INTO t (a, b, c) VALUES (:run_id, ':seq', :seq) -- :intended_ms", '--write-sql');
  assert.equal(c.sql, "INSERT INTO t (a, b, c) VALUES (?, ':seq', ?) -- ?");
  assert.deepEqual(c.params, ['run_id', 'seq', 'intended_ms']);
  assert.deepEqual(bindParams(c, 'r', 5, 9), ['r', 5, 9]);
  assert.throws(
    () => compileSql('SELECT :nope', '--read-sql'),
    /--read-sql uses unknown placeholder :nope; available: :run_id, :seq, :intended_ms/,
  );
  assert.throws(() => compileSql("SELECT 'x", '--read-sql'), /unclosed ' quote/);
  assert.equal(compileSql('SELECT CAST(x AS CHAR) :: int', '--read-sql').params.length, 0);
});

test('whom a read probe reached: the same row gives the same identity again; another row, another', () => {
  const reader = new IdentityReader();
  const row = { server_id: 7, hostname: 'db-a', version: '10.11.18-MariaDB', read_only: 0 };
  const first = reader.read({ ...row });
  assert.deepEqual(first?.identity, { serverId: 7, hostname: 'db-a', version: '10.11.18-MariaDB', readOnly: false });
  assert.equal(first?.key, '7\u0000db-a\u000010.11.18-MariaDB\u0000false');
  assert.equal(reader.read({ ...row }), first, 'the same columns: the last identity, not a new one');
  for (const [column, value] of [
    ['server_id', 8],
    ['hostname', 'db-b'],
    ['version', '11.8.3-MariaDB'],
    ['read_only', 1],
  ] as const) {
    const other = reader.read({ ...row, [column]: value });
    assert.notEqual(other?.key, first?.key, `a new ${column} is a new server`);
    assert.deepEqual(reader.read({ ...row }), first, `and back to the first (${column})`);
  }
  assert.equal(reader.read({ answer: 1 }), null, 'a row without identity columns');
  assert.equal(reader.read(undefined), null, 'no row');
});
