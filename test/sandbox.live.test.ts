import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { createServer } from 'node:net';
import { startSandbox, type Sandbox, type SandboxEvent } from '../src/sandbox/index.js';
import { sleep } from '../src/util/sleep.js';

const events: SandboxEvent[] = [];
const sb: Sandbox = await startSandbox({ topology: 'blue-green', onEvent: (e) => events.push(e) });
after(() => sb.stop());

/**
 * A base port with `n` free ports after it, below the ephemeral range (32768+ on Linux), so that
 * ports other processes get from the OS are unlikely to land on base+1, base+2 meanwhile.
 */
async function consecutiveFreePorts(n: number): Promise<number> {
  const bindable = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let i = 0; i <= n && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error('no run of free ports found');
}

function connect(): Promise<mysql.Connection> {
  const e = sb.endpoint;
  return mysql.createConnection({
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    database: e.database,
    connectTimeout: 3000,
  });
}

async function serverId(): Promise<number> {
  const c = await connect();
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    return Number(rows[0]?.id);
  } finally {
    c.destroy();
  }
}

function phasesSince(n: number): SandboxEvent[] {
  return events.slice(n).filter((e) => e.kind === 'phase');
}

function assertIncreasing(list: SandboxEvent[]): void {
  for (let i = 1; i < list.length; i++) {
    assert.ok(list[i]!.atMs >= list[i - 1]!.atMs, `${list[i]!.name} after ${list[i - 1]!.name}`);
  }
}

test('blue-green: replication runs, the app user is bound by read_only, switchover moves the endpoint', async () => {
  assert.equal(await serverId(), 1);
  const c = await connect();
  await c.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
  await c.query("INSERT INTO t VALUES (1, 'before')");
  c.destroy();
  // A write on blue is read on green (replication really runs).
  const deadline = Date.now() + 10_000;
  for (;;) {
    // Until the CREATE TABLE has replicated, the table does not exist on green yet (1146): keep polling.
    const rows = await sb
      .green!.rootQuery<{ n: number }[]>('SELECT COUNT(*) AS n FROM probe.t')
      .catch((e: { errno?: number }) => {
        if (e.errno !== 1146) throw e;
        return [];
      });
    if (Number(rows[0]?.n) === 1) break;
    assert.ok(Date.now() < deadline, 'row replicated to green within 10 s');
    await sleep(50);
  }
  // The emulated mysql.rds_topology: readable by the app user, one row per environment, AVAILABLE.
  const topo = await connect();
  const [trows] = await topo.query<mysql.RowDataPacket[]>(
    'SELECT id, port, role, status, version FROM mysql.rds_topology ORDER BY id',
  );
  topo.destroy();
  assert.deepEqual(
    trows.map((r) => [Number(r.id), Number(r.port), r.role, r.status, r.version]),
    [
      [1, sb.blue.port, 'BLUE_GREEN_DEPLOYMENT_SOURCE', 'AVAILABLE', '1.0'],
      [2, sb.green!.port, 'BLUE_GREEN_DEPLOYMENT_TARGET', 'AVAILABLE', '1.0'],
    ],
  );
  // Writing it did not fork green's GTID history from blue's (sql_log_bin=0 on each server).
  const gtid = async (s: Sandbox['blue']): Promise<string> =>
    (await s.rootQuery<{ p: string }[]>('SELECT @@global.gtid_binlog_pos AS p'))[0]!.p;
  assert.equal(await gtid(sb.green!), await gtid(sb.blue));
  const grants = await sb.blue.rootQuery<Record<string, string>[]>("SHOW GRANTS FOR 'downtime'@'%'");
  assert.ok(!grants.some((g) => /SUPER|READ ONLY ADMIN|ALL PRIVILEGES ON \*\.\*/.test(Object.values(g)[0] ?? '')));

  // Rows written right up to the switchover, through the endpoint, must all be on green afterwards.
  const w = await connect();
  for (let i = 2; i <= 200; i++) await w.query('INSERT INTO t VALUES (?, ?)', [i, 'before']);
  w.destroy();

  const n0 = events.length;
  const during: { writeErrno?: number; read?: number; status?: string } = {};
  const detail = await sb.switchover({
    afterPhase: async (p) => {
      if (p !== 'SWITCHOVER_IN_PROGRESS') return;
      // Writes are blocked on blue while the endpoint still points at it: writes 1290, reads work.
      const probe = await connect();
      try {
        const [rows] = await probe.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
        during.read = Number(rows[0]?.n);
        const [st] = await probe.query<mysql.RowDataPacket[]>('SELECT DISTINCT status FROM mysql.rds_topology');
        during.status = st.map((r) => String(r.status)).join(',');
        await probe.query("INSERT INTO t VALUES (999, 'during')").catch((e: { errno?: number }) => {
          during.writeErrno = e.errno;
        });
      } finally {
        probe.destroy();
      }
    },
  });
  assert.deepEqual(during, { read: 200, writeErrno: 1290, status: 'SWITCHOVER_IN_PROGRESS' });
  assert.equal(detail.topologyErrors, undefined);
  const phases = phasesSince(n0).map((e) => e.name);
  assert.deepEqual(phases, [
    'SWITCHOVER_INITIATED',
    'SWITCHOVER_IN_PROGRESS',
    'SWITCHOVER_IN_POST_PROCESSING',
    'SWITCHOVER_COMPLETED',
  ]);
  assertIncreasing(phasesSince(n0));
  assert.equal(typeof detail.writeBlockMs, 'number');
  assert.ok((detail.writeBlockMs as number) > 0);

  assert.equal(await serverId(), 2);
  const c2 = await connect();
  const [rows] = await c2.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM t WHERE v = ?', ['before']);
  assert.equal(Number(rows[0]?.n), 200);
  await c2.query("INSERT INTO t VALUES (1000, 'after')"); // green is writable
  const [topoAfter] = await c2.query<mysql.RowDataPacket[]>('SELECT role, status FROM mysql.rds_topology');
  assert.deepEqual(
    topoAfter.map((r) => [r.role, r.status]),
    [['BLUE_GREEN_DEPLOYMENT_TARGET', 'SWITCHOVER_COMPLETED']],
  );
  c2.destroy();
  const blueRo = await sb.blue.rootQuery<{ ro: number }[]>('SELECT @@global.read_only AS ro');
  assert.equal(Number(blueRo[0]?.ro), 1);
  const slave = await sb.green!.rootQuery<unknown[]>('SHOW SLAVE STATUS');
  assert.equal(slave.length, 0);

  // A second switchover has nothing to switch to.
  await assert.rejects(sb.switchover(), /reset the sandbox/);
});

test('reset brings blue-green back; in-place upgrade offline time is measured', async () => {
  await sb.reset();
  assert.equal(sb.active, 'blue');
  assert.equal(await serverId(), 1);
  const st = await sb.green!.rootQuery<{ Slave_SQL_Running: string }[]>('SHOW SLAVE STATUS');
  assert.equal(st[0]?.Slave_SQL_Running, 'Yes');

  const offlineMs = 700;
  const n0 = events.length;
  const d = await sb.inPlaceUpgrade({ offlineMs });
  const phases = phasesSince(n0);
  assert.deepEqual(
    phases.map((e) => e.name),
    ['slow-shutdown', 'offline', 'starting', 'upgrading', 'available'],
  );
  assertIncreasing(phases);
  const measured = d.offlineMs as number;
  // At least the requested time; the server start (~0.4 s on a quiet machine) adds the rest.
  assert.ok(measured >= offlineMs, `measured ${measured} >= ${offlineMs}`);
  assert.ok(measured < offlineMs + 10_000, `measured ${measured} within 10 s of ${offlineMs}`);
  assert.equal(await serverId(), 1);
});

test('killAndStart and failover', async () => {
  const d = await sb.killAndStart();
  assert.ok((d.offlineMs as number) >= 0);
  assert.equal(await serverId(), 1);
  // Green may need to reconnect to the restarted blue (MASTER_CONNECT_RETRY=1).
  const f = await sb.failover();
  assert.equal(typeof f.switchMs, 'number');
  assert.equal(await serverId(), 2);
  const c = await connect();
  await c.query('CREATE TABLE IF NOT EXISTS t2 (id INT PRIMARY KEY)');
  await c.query('INSERT INTO t2 VALUES (1)');
  c.destroy();
});

test('single with basePort: endpoint on basePort, blue on basePort+1; restart measured; no switchover', async () => {
  const base = await consecutiveFreePorts(2);
  const single = await startSandbox({ topology: 'single', basePort: base });
  try {
    assert.equal(single.endpoint.port, base);
    assert.equal(single.blue.port, base + 1);
    assert.equal(single.green, undefined);
    const names: string[] = [];
    single.setOnEvent((e) => names.push(e.name));
    const d = await single.restart();
    assert.deepEqual(names, ['shutting-down', 'offline', 'starting', 'available']);
    assert.ok((d.offlineMs as number) >= 0 && (d.acceptingAtMs as number) >= (d.offlineAtMs as number));
    await assert.rejects(single.switchover(), /needs a blue-green sandbox/);
  } finally {
    await single.stop();
  }
});
