import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { startTestServer, type TestServer } from './helpers/server.js';
import { freePort } from '../src/sandbox/index.js';
import { sleep } from '../src/util/sleep.js';

let ts: TestServer | undefined;
after(async () => {
  await ts?.cleanup();
});

/** A process that exists and is not a zombie (a zombie has exited: only its parent has not reaped it yet). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function connect(t: TestServer, connectTimeout = 3000): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: t.server.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectTimeout,
  });
}

async function count(t: TestServer): Promise<number> {
  const c = await connect(t);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
    return Number(rows[0]?.n);
  } finally {
    c.destroy();
  }
}

test('server: start, query, stop, start, pause, kill -9, start, destroy leaves nothing', async () => {
  ts = await startTestServer();
  const t = ts;
  const { server } = t;
  assert.ok(server.flavor === 'mariadb' || server.flavor === 'mysql');
  assert.equal(t.url, `mysql://downtime@127.0.0.1:${server.port}/probe`);
  assert.ok(!t.url.includes(t.password));
  const firstPid = server.pid;
  assert.ok(firstPid !== null && alive(firstPid));

  // The app user logs in with its password, over TCP, and owns the probe database only.
  const c = await connect(t);
  await c.query('CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB');
  await c.query('INSERT INTO t VALUES (1), (2)');
  await assert.rejects(c.query('CREATE DATABASE other'), (e: { errno?: number }) => e.errno === 1044);
  c.destroy();
  await assert.rejects(
    mysql.createConnection({
      host: '127.0.0.1',
      port: server.port,
      user: t.user,
      password: 'wrong',
      connectTimeout: 3000,
    }),
    (e: { errno?: number }) => e.errno === 1045,
  );
  const id = await server.rootQuery<{ id: number }[]>('SELECT @@server_id AS id');
  assert.equal(Number(id[0]?.id), server.serverId);

  // Graceful stop: the process is gone and the port refuses.
  await server.stop();
  assert.equal(alive(firstPid), false);
  await assert.rejects(connect(t), (e: { code?: string }) => e.code === 'ECONNREFUSED');

  // Start again on the same data directory and port: the rows are still there.
  await server.start();
  assert.equal(await count(t), 2);

  // Paused: connections time out instead of being refused; resumed: it answers again.
  server.pause();
  await assert.rejects(connect(t, 500), (e: { code?: string }) => e.code === 'ETIMEDOUT');
  server.resume();
  assert.equal(await count(t), 2);

  // kill -9: no graceful close; InnoDB recovers committed rows on the next start.
  const c2 = await connect(t);
  await c2.query('INSERT INTO t VALUES (3)');
  c2.destroy();
  const killedPid = server.pid!;
  await server.kill();
  assert.equal(alive(killedPid), false);
  await server.start();
  assert.notEqual(server.pid, killedPid);
  assert.equal(await count(t), 3);

  // Nothing in the server's directory knows the password (the error log included).
  const log = readFileSync(join(server.dir, 'error.log'), 'utf8');
  assert.ok(!log.includes(t.password));

  const lastPid = server.pid!;
  const dir = server.dir;
  await t.cleanup();
  ts = undefined;
  assert.equal(alive(lastPid), false);
  assert.equal(existsSync(dir), false);
  // Nor the temp dir that was made for it.
  assert.equal(existsSync(dirname(dir)), false);
});

test('server: stop() also ends a paused server', async () => {
  ts = await startTestServer({ serverId: 7, binlog: true });
  const { server } = ts;
  const rows = await server.rootQuery<{ id: number; lb: number }[]>('SELECT @@server_id AS id, @@log_bin AS lb');
  assert.deepEqual(
    rows.map((r) => [Number(r.id), Number(r.lb)]),
    [[7, 1]],
  );
  assert.ok(readdirSync(server.dataDir).some((f) => f.startsWith('binlog.')));
  const pid = server.pid!;
  server.pause();
  await server.stop(10_000);
  assert.equal(alive(pid), false);
  await ts.cleanup();
  ts = undefined;
});

test('freePort gives a bindable loopback port', async () => {
  const p = await freePort();
  assert.ok(Number.isInteger(p) && p > 0 && p < 65536);
});

test('a server started by a process that exits without cleanup does not outlive it', async () => {
  const mod = new URL('../src/sandbox/servers/local-process.js', import.meta.url).href;
  const script = `const { startServer } = await import(${JSON.stringify(mod)});
    const s = await startServer();
    process.stdout.write(JSON.stringify({ pid: s.pid, dir: s.dir }));
    process.exit(3);`;
  const out: { code?: number; stdout?: string } = await promisify(execFile)(process.execPath, [
    '--input-type=module',
    '-e',
    script,
  ]).catch((e: { code?: number; stdout?: string }) => e);
  assert.equal(out.code, 3);
  const { pid, dir } = JSON.parse(out.stdout ?? '') as { pid: number; dir: string };
  try {
    for (let i = 0; i < 250 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false);
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});
