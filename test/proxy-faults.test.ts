import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { startProxy, validateFault, type FaultSpec } from '../src/sandbox/endpoint/proxy.js';
import { DowntimeError } from '../src/errors.js';
import { sleep } from '../src/util/sleep.js';

/** An upstream that greets with "hi" and echoes; it records what it received. */
const sockets = new Set<Socket>();
const received: string[] = [];
const upstream = createServer((s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => undefined);
  s.on('data', (d) => {
    received.push(d.toString());
    s.write(d);
  });
  s.write('hi');
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const proxy = await startProxy({ target: { host: '127.0.0.1', port: (upstream.address() as { port: number }).port } });
after(async () => {
  await proxy.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => upstream.close(r));
});

interface Client {
  socket: Socket;
  data: string;
  error: string | null;
  closed: Promise<void>;
  /** Resolves once `n` bytes arrived (rejects after `ms`). */
  bytes(n: number, ms: number): Promise<number>;
}

function connect(): Client {
  const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
  const c: Client = {
    socket,
    data: '',
    error: null,
    closed: new Promise((r) => socket.once('close', () => r())),
    bytes(n, ms) {
      const t0 = Date.now();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (c.data.length >= n) {
            clearTimeout(timer);
            socket.off('data', check);
            resolve(Date.now() - t0);
          }
        };
        const timer = setTimeout(() => {
          socket.off('data', check);
          reject(new Error(`only ${c.data.length} of ${n} bytes within ${ms} ms`));
        }, ms);
        socket.on('data', check);
        check();
      });
    },
  };
  socket.on('data', (d) => (c.data += d.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (c.error = e.code ?? e.message));
  return c;
}

test('fault refuse: new clients get ECONNREFUSED, open ones stay; the port listens again after', async () => {
  const open = connect();
  await open.bytes(2, 2000);
  const h = await proxy.fault({ kind: 'refuse' });
  const refused = connect();
  await refused.closed;
  assert.equal(refused.error, 'ECONNREFUSED');
  assert.equal(open.socket.destroyed, false);
  const t = await h.clear();
  assert.ok(t.endMs !== undefined && t.endMs >= t.atMs);
  const again = connect();
  await again.bytes(2, 2000);
  open.socket.destroy();
  again.socket.destroy();
});

test('fault reset: open connections and new ones are reset', async () => {
  const open = connect();
  await open.bytes(2, 2000);
  const h = await proxy.fault({ kind: 'reset' });
  await open.closed;
  assert.equal(open.error, 'ECONNRESET');
  const fresh = connect();
  await fresh.closed;
  assert.equal(fresh.error, 'ECONNRESET');
  assert.equal(fresh.data, '', 'no byte from the server reaches a connection reset on accept');
  await h.clear();
  const again = connect();
  await again.bytes(2, 2000);
  again.socket.destroy();
});

test('fault blackhole: bytes swallowed both ways, connections stay open; flows again after', async () => {
  const open = connect();
  await open.bytes(2, 2000);
  const before = received.length;
  const h = await proxy.fault({ kind: 'blackhole' });
  open.socket.write('ping');
  const fresh = connect();
  await sleep(200);
  assert.equal(received.length, before, 'nothing reached the server');
  assert.equal(open.data, 'hi');
  assert.equal(fresh.data, '', 'the greeting of a new connection is swallowed');
  assert.equal(open.socket.destroyed, false);
  await h.clear();
  open.socket.write('pong');
  await open.bytes(6, 2000);
  assert.equal(open.data, 'hipong');
  open.socket.destroy();
  fresh.socket.destroy();
});

test('fault latency: each chunk held, both directions, order preserved', async () => {
  const h = await proxy.fault({ kind: 'latency', latencyMs: 150, jitterMs: 50 });
  const c = connect();
  const greetMs = await c.bytes(2, 3000);
  assert.ok(greetMs >= 95, `greeting delayed (${greetMs} ms)`);
  for (let i = 0; i < 20; i++) c.socket.write(String.fromCharCode(97 + i));
  const echoMs = await c.bytes(22, 3000);
  // there and back: two delays of 100…200 ms
  assert.ok(echoMs >= 190, `echo delayed both ways (${echoMs} ms)`);
  assert.equal(c.data, 'hi' + 'abcdefghijklmnopqrst', 'order preserved despite jitter');
  await h.clear();
  c.socket.destroy();
});

test('fault bandwidth: bytes paced to the limit', async () => {
  const c = connect();
  await c.bytes(2, 2000);
  const h = await proxy.fault({ kind: 'bandwidth', bytesPerSec: 20_000 });
  c.socket.write(Buffer.alloc(4000, 120));
  // 4000 B each way at 20 kB/s: ≥ 400 ms in all
  const ms = await c.bytes(4002, 5000);
  assert.ok(ms >= 350, `paced (${ms} ms)`);
  await h.clear();
  c.socket.destroy();
});

test('fault halfOpen: client→server flows, server→client dropped', async () => {
  const c = connect();
  await c.bytes(2, 2000);
  const before = received.length;
  const h = await proxy.fault({ kind: 'halfOpen' });
  c.socket.write('q');
  await sleep(200);
  assert.equal(received.length, before + 1, 'the query reached the server');
  assert.equal(c.data, 'hi', 'the answer did not come back');
  await h.clear();
  c.socket.destroy();
});

test('one fault at a time; a handle of a replaced fault does not end the new one', async () => {
  const a = await proxy.fault({ kind: 'blackhole' });
  const b = await proxy.fault({ kind: 'latency', latencyMs: 10 });
  assert.equal(proxy.activeFault()?.kind, 'latency');
  await a.clear();
  assert.equal(proxy.activeFault()?.kind, 'latency');
  const t = await proxy.clearFault();
  assert.equal(t?.kind, 'latency');
  assert.equal(await proxy.clearFault(), null);
  await b.clear();
});

test('bad fault specs are one-line usage errors', () => {
  const bad: unknown[] = [
    { kind: 'nope' },
    { kind: 'latency', latencyMs: -1 },
    { kind: 'latency', latencyMs: 10, jitterMs: 20 },
    { kind: 'bandwidth', bytesPerSec: 0 },
    { kind: 'halfOpen', drop: 'sideways' },
  ];
  for (const spec of bad) assert.throws(() => validateFault(spec as FaultSpec), DowntimeError);
});

test('StepEngine.fault: a fault event with the true start and end, the fault cleared after its duration', async () => {
  const { StepEngine } = await import('../src/sandbox/topology/steps.js');
  const events: { atMs: number; endMs?: number; kind: string; name: string; detail?: Record<string, unknown> }[] = [];
  const noServer = {} as never;
  const engine = new StepEngine(
    'single',
    noServer,
    undefined,
    proxy,
    'blue',
    () => Promise.reject(new Error('no')),
    (e) => events.push(e),
  );
  const c = connect();
  await c.bytes(2, 2000);
  const detail = await engine.fault({ kind: 'blackhole', durationMs: 300 });
  assert.equal(proxy.activeFault(), null, 'the fault ended');
  assert.equal(events.length, 1);
  const e = events[0] as (typeof events)[number];
  assert.equal(e.kind, 'fault');
  assert.equal(e.name, 'blackhole');
  assert.ok(e.endMs !== undefined && Math.abs(e.endMs - e.atMs - 300) < 100, `lasted ${(e.endMs ?? 0) - e.atMs} ms`);
  assert.equal(detail.faultAtMs, e.atMs);
  c.socket.write('after');
  await c.bytes(7, 2000);
  c.socket.destroy();
  // An aborted run ends the fault early; bad options are usage errors before anything changes.
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const t0 = Date.now();
  await engine.fault({ kind: 'refuse', durationMs: 10_000, signal: ac.signal });
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(proxy.isAccepting(), true);
  await assert.rejects(engine.fault({ kind: 'latency', latencyMs: 5, durationMs: 0 }), DowntimeError);
  await assert.rejects(engine.fault({ kind: 'bogus', durationMs: 10 } as never), DowntimeError);
  assert.equal(proxy.activeFault(), null);
});

test('proxy daemon: fault and clearFault through the JSON-lines control socket', async () => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { freePort } = await import('../src/sandbox/index.js');
  const control = join(tmpdir(), `downtime-fault-test-${process.pid}.sock`);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../src/sandbox/background/proxy-daemon.js', import.meta.url)),
      '--control',
      control,
      '--port',
      String(port),
      '--target-port',
      String((upstream.address() as { port: number }).port),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((r) => child.once('exit', r));
  const ask = (req: object): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const s = createConnection(control);
      let buf = '';
      s.on('error', reject);
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\n')) {
          s.destroy();
          resolve(JSON.parse(buf) as Record<string, unknown>);
        }
      });
      s.write(JSON.stringify(req) + '\n');
    });
  try {
    for (let i = 0; ; i++) {
      try {
        await ask({ op: 'status' });
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(50);
      }
    }
    const started = await ask({ op: 'fault', fault: { kind: 'refuse' } });
    assert.equal(started.ok, true);
    assert.equal(typeof started.atMs, 'number');
    const st = await ask({ op: 'status' });
    assert.equal(st.accepting, false);
    assert.equal((st.fault as { kind: string }).kind, 'refuse');
    const cleared = await ask({ op: 'clearFault' });
    const times = cleared.times as { atMs: number; endMs: number };
    assert.equal(times.atMs, started.atMs);
    assert.ok(times.endMs >= times.atMs);
    assert.equal((await ask({ op: 'status' })).accepting, true);
    const bad = await ask({ op: 'fault', fault: { kind: 'latency', latencyMs: -5 } });
    assert.equal(bad.ok, false);
    assert.match(String(bad.error), /latencyMs/);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
