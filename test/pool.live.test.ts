/**
 * The pool model's connections, against a real server behind the sandbox's endpoint proxy.
 *
 * The pool owns the connections it opens: a probe that gives up while a connection's handshake is still
 * running leaves it to the next probe. It once handed a connecting connection to the probe that asked, and
 * discarded it with that probe's timeout; after a backlog every new connection belonged to a probe about to
 * time out, and the pool did not refill while the load lasted (a 50 ms blackhole at 1000 probes/s read as a
 * 4.4 s outage in bench/accuracy.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError } from '../src/load/classify.js';
import { PoolStrategy, type Waiter } from '../src/load/connections.js';
import type { WorkerConfig } from '../src/load/protocol.js';
import { startProxy, type EndpointProxy } from '../src/sandbox/endpoint/proxy.js';
import { sleep } from '../src/util/sleep.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let srv: TestServer;
let proxy: EndpointProxy;

before(async () => {
  srv = await startTestServer();
  proxy = await startProxy({ target: { host: '127.0.0.1', port: srv.server.port } });
});
after(async () => {
  await proxy?.close();
  await srv?.cleanup();
});

function conn(): WorkerConfig['conn'] {
  return { host: '127.0.0.1', port: proxy.port, user: srv.user, database: srv.database, password: srv.password };
}

/** Connections the server has accepted so far (its own counter; the root connection is already open). */
async function accepted(): Promise<number> {
  const rows = await srv.server.rootQuery<{ Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Connections'");
  return Number(rows[0]?.Value);
}

type Mysql2Connection = Parameters<PoolStrategy['release']>[0];

interface Probe {
  conn: Mysql2Connection | null;
  error: Error | null;
  gaveUp: boolean;
  /** The connection it was given; rejects with the error it was failed with. */
  got: Promise<Mysql2Connection>;
}

/** A probe as the engine makes one: asks for a connection and gives up after `giveUpMs`. */
function probe(pool: PoolStrategy, giveUpMs: number): Probe {
  let resolve: (c: Mysql2Connection) => void = () => undefined;
  let reject: (err: Error) => void = () => undefined;
  const p: Probe = {
    conn: null,
    error: null,
    gaveUp: false,
    got: new Promise<Mysql2Connection>((res, rej) => {
      resolve = res;
      reject = rej;
    }),
  };
  p.got.catch(() => undefined);
  // The probe's own remaining time, as the engine passes it: the pool must not use it for its handshakes.
  const waiter: Waiter = pool.acquire(1, {
    take: (c) => {
      p.conn = c;
      resolve(c);
    },
    fail: (err) => {
      p.error = err;
      reject(err);
    },
  });
  setTimeout(() => {
    if (p.conn !== null || p.error !== null) return;
    p.gaveUp = true;
    waiter.cancel();
  }, giveUpMs);
  return p;
}

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    sleep(ms).then(() => {
      throw new Error(`${what}: nothing within ${ms} ms`);
    }),
  ]);
}

test('a probe that gives up during the handshake leaves the connection to the next probe', async () => {
  // Every chunk held 150 ms each way: the handshake takes several hundred ms, the first probe gives up at 50.
  const fault = await proxy.fault({ kind: 'latency', latencyMs: 150 });
  const pool = new PoolStrategy(conn(), 1, 10_000);
  try {
    const before = await accepted();
    const first = probe(pool, 50);
    await sleep(80);
    assert.equal(first.gaveUp, true, 'the first probe gave up while the handshake ran');
    const second = probe(pool, 10_000);
    const c = await within(8000, 'the second probe', second.got);
    assert.equal(first.conn, null, 'a probe that gave up gets no connection');
    assert.equal(first.error, null, 'nor an error');
    const rows = await within(
      8000,
      'a query on the handed-over connection',
      new Promise<unknown>((resolve, reject) =>
        c.query('SELECT 1 AS one', (err, r) => (err ? reject(err) : resolve(r))),
      ),
    );
    assert.deepEqual(rows, [{ one: 1 }]);
    assert.equal(await accepted(), before + 1, 'one handshake served both probes');
    assert.equal(pool.openCount(), 1);
    pool.release(c, true);
  } finally {
    await fault.clear();
    pool.close();
  }
});

test('a refused handshake fails the waiting probes with its cause, oldest first, and frees the slot', async () => {
  await proxy.refuse();
  const pool = new PoolStrategy(conn(), 2, 5000);
  try {
    const probes = [probe(pool, 5000), probe(pool, 5000), probe(pool, 5000)];
    const order: number[] = [];
    probes.forEach((p, i) => p.got?.catch(() => order.push(i)));
    await within(3000, 'three refused probes', Promise.allSettled(probes.map((p) => p.got)));
    for (const p of probes) {
      assert.equal(p.conn, null);
      assert.equal(classifyError(p.error), 'refused', String(p.error));
    }
    assert.deepEqual(order, [0, 1, 2], 'the oldest waiter meets the first failure');
    await sleep(50);
    assert.equal(pool.openCount(), 0, 'failed handshakes hold no slot');
  } finally {
    await proxy.accept();
    pool.close();
  }
  // The same pool object is not reused after close(); a new one connects once the port is back.
  const again = new PoolStrategy(conn(), 2, 5000);
  try {
    const p = probe(again, 5000);
    const c = await within(5000, 'a probe after the port came back', p.got);
    again.release(c, true);
    assert.equal(again.openCount(), 1);
  } finally {
    again.close();
  }
});

test('after every pooled connection hung, the pool refills for the probes still waiting', async () => {
  const pool = new PoolStrategy(conn(), 2, 2000);
  try {
    await pool.warm(2);
    assert.equal(pool.openCount(), 2);
    // Both connections in use when the network goes quiet: their queries hang, as in a blackhole.
    const held = [probe(pool, 5000), probe(pool, 5000)];
    const conns = await within(2000, 'the warm connections', Promise.all(held.map((p) => p.got)));
    const fault = await proxy.fault({ kind: 'blackhole' });
    const hung = conns.map((c) => new Promise<unknown>((resolve) => c.query('SELECT 1', (err) => resolve(err))));
    // Probes queue behind them, each giving up after 300 ms, one every 20 ms.
    const waiting: Probe[] = [];
    for (let i = 0; i < 10; i++) {
      const p = probe(pool, i === 9 ? 3000 : 300);
      // Served after the fault: its query is quick, and the connection goes back.
      p.got.then((c) => pool.release(c, true)).catch(() => undefined);
      waiting.push(p);
      await sleep(20);
    }
    await fault.clear();
    // The held probes time out: the engine discards their connections (the query may still run).
    for (const c of conns) pool.release(c, false);
    void hung;
    // Probes arriving now are served by new connections at once (each gives its connection back, as after a
    // quick query).
    const late = [probe(pool, 3000), probe(pool, 3000), probe(pool, 3000)];
    const served = late.map((p) => p.got.then((c) => pool.release(c, true)));
    await within(4000, 'probes after the fault', Promise.all(served));
    assert.ok(
      waiting.some((p) => p.conn !== null),
      'the probes still waiting when the fault ended were served',
    );
    assert.ok(pool.openCount() <= 2, `at most the pool size open, got ${pool.openCount()}`);
    assert.ok(
      waiting.every((p) => p.error === null),
      'no waiting probe met an error: they waited or were served',
    );
  } finally {
    pool.close();
  }
});

test("a new connection's first probe is not queued behind the pool's identity query", async () => {
  // The pool asks each new connection whom it reached (one round trip), after the probe it was opened for: an
  // application's pool runs no such query, and a probe behind it answered a round trip late (after an outage,
  // its window ended that much late).
  const order: string[] = [];
  const pool = new PoolStrategy(conn(), 2, 2000, (info) => order.push(`identity ${info.identity?.version ?? '?'}`));
  try {
    // As the engine does: the probe's query is sent as soon as the connection is given.
    const answered = new Promise<void>((resolve, reject) =>
      pool.acquire(2000, {
        take: (c) =>
          c.query('SELECT 1', (err) => {
            if (err) return reject(err);
            order.push('probe');
            pool.release(c, true);
            resolve();
          }),
        fail: reject,
      }),
    );
    await within(3000, 'the probe', answered);
    for (let i = 0; i < 100 && order.length < 2; i++) await sleep(10);
    assert.equal(order.length, 2, `order: ${order.join(', ')}`);
    assert.equal(order[0], 'probe', `order: ${order.join(', ')}`);
    assert.match(order[1] ?? '', /^identity \d/);
  } finally {
    pool.close();
  }
});
