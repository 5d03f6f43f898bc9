/**
 * The sandbox's DNS server (src/sandbox/endpoint/dns.ts) queried with Node's own dns.Resolver, and the harness's
 * resolution path (src/load/resolve.ts): TTL cache, errors classed `dns`, sockets going to the answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as dnsPromises } from 'node:dns';
import { createServer, type Server } from 'node:net';
import { classifyError } from '../src/load/classify.js';
import { EndpointResolver, parseDnsServer, streamFactory } from '../src/load/resolve.js';
import { startDnsServer, type DnsServer } from '../src/sandbox/endpoint/dns.js';
import { DowntimeError } from '../src/errors.js';
import { sleep } from '../src/util/sleep.js';

let dns: DnsServer;

before(async () => {
  dns = await startDnsServer({ ttlS: 7, records: { 'db.sandbox.test': '127.0.0.1' } });
});
after(async () => {
  await dns?.close();
});

function resolver(timeoutMs = 300): dnsPromises.Resolver {
  const r = new dnsPromises.Resolver({ timeout: timeoutMs, tries: 1 });
  r.setServers([dns.address]);
  return r;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'resolved';
}

test('A queries get the table entry with the TTL; names are case-insensitive; a change is seen at once', async () => {
  const r = resolver();
  assert.deepEqual(await r.resolve4('db.sandbox.test', { ttl: true }), [{ address: '127.0.0.1', ttl: 7 }]);
  assert.deepEqual(await r.resolve4('DB.Sandbox.TEST'), ['127.0.0.1']);
  await dns.set('db.sandbox.test', '127.0.0.2');
  assert.deepEqual(await r.resolve4('db.sandbox.test'), ['127.0.0.2']);
  assert.equal(dns.get('db.sandbox.test'), '127.0.0.2');
  await dns.setTtl(0);
  assert.deepEqual(await r.resolve4('db.sandbox.test', { ttl: true }), [{ address: '127.0.0.2', ttl: 0 }]);
  await dns.setTtl(7);
  await dns.set('db.sandbox.test', '127.0.0.1');
  assert.ok((await dns.queries('db.sandbox.test')) >= 4);
});

test('unknown names are NXDOMAIN, other types of a known name NODATA', async () => {
  const r = resolver();
  assert.equal(await code(r.resolve4('nope.sandbox.test')), 'ENOTFOUND');
  assert.equal(await code(r.resolve6('db.sandbox.test')), 'ENODATA');
  await dns.set('gone.sandbox.test', '127.0.0.3');
  assert.deepEqual(await r.resolve4('gone.sandbox.test'), ['127.0.0.3']);
  await dns.delete('gone.sandbox.test');
  assert.equal(await code(r.resolve4('gone.sandbox.test')), 'ENOTFOUND');
});

test('faults: NXDOMAIN, SERVFAIL, drop (the resolver times out); per name or server-wide; then recovery', async () => {
  const r = resolver(200);
  await dns.set('other.sandbox.test', '127.0.0.4');
  await dns.fault('nxdomain', 'db.sandbox.test');
  assert.equal(await code(r.resolve4('db.sandbox.test')), 'ENOTFOUND');
  assert.deepEqual(await r.resolve4('other.sandbox.test'), ['127.0.0.4'], 'a name fault affects that name only');
  await dns.fault('servfail', 'db.sandbox.test');
  assert.equal(await code(r.resolve4('db.sandbox.test')), 'ESERVFAIL');
  await dns.fault('drop', 'db.sandbox.test');
  const t = Date.now();
  assert.equal(await code(r.resolve4('db.sandbox.test')), 'ETIMEOUT');
  assert.ok(Date.now() - t >= 150, 'no answer: the resolver waited for its timeout');
  await dns.fault(null, 'db.sandbox.test');
  assert.deepEqual(await r.resolve4('db.sandbox.test'), ['127.0.0.1']);
  await dns.fault('servfail');
  assert.equal(await code(r.resolve4('other.sandbox.test')), 'ESERVFAIL');
  await dns.fault('nxdomain', 'other.sandbox.test');
  assert.equal(await code(r.resolve4('other.sandbox.test')), 'ENOTFOUND', "a name's own fault wins");
  await dns.fault(null, 'other.sandbox.test');
  await dns.fault(null);
  assert.deepEqual(await r.resolve4('other.sandbox.test'), ['127.0.0.4']);
  assert.throws(() => void dns.fault('bogus' as never), DowntimeError);
  assert.throws(() => void dns.set('x.test', 'not-an-ip'), DowntimeError);
  assert.throws(() => void dns.setTtl(-1), DowntimeError);
});

test('every resolver failure is classed dns, whatever its code (c-ares ECONNREFUSED included)', async () => {
  const r = resolver(200);
  await dns.fault('nxdomain', 'db.sandbox.test');
  const errors: unknown[] = [];
  for (const mode of ['nxdomain', 'servfail', 'drop'] as const) {
    await dns.fault(mode, 'db.sandbox.test');
    errors.push(await r.resolve4('db.sandbox.test').catch((e: unknown) => e));
  }
  await dns.fault(null, 'db.sandbox.test');
  // A DNS server that is not there: c-ares reports ECONNREFUSED (or times out), with syscall queryA.
  const dead = new dnsPromises.Resolver({ timeout: 200, tries: 1 });
  dead.setServers(['127.0.0.1:9']);
  errors.push(await dead.resolve4('db.sandbox.test').catch((e: unknown) => e));
  for (const e of errors) {
    assert.ok(e instanceof Error, 'the query failed');
    assert.equal(classifyError(e), 'dns', `${(e as { code?: string }).code} → dns`);
  }
  // The net layer's own refusals stay `refused`.
  assert.equal(classifyError({ code: 'ECONNREFUSED', syscall: 'connect' }), 'refused');
});

test('EndpointResolver caches an answer for its TTL and no longer; failures are not cached', async () => {
  let nowMs = 1_000_000;
  await dns.setTtl(2);
  const er = new EndpointResolver(dns.address, 300, () => nowMs);
  const first = await er.resolve('db.sandbox.test');
  assert.deepEqual(first, { address: '127.0.0.1', ttlS: 2, cached: false });
  await dns.set('db.sandbox.test', '127.0.0.2');
  nowMs += 1999;
  assert.deepEqual(await er.resolve('db.sandbox.test'), { address: '127.0.0.1', ttlS: 2, cached: true });
  nowMs += 1;
  assert.deepEqual(await er.resolve('db.sandbox.test'), { address: '127.0.0.2', ttlS: 2, cached: false });
  nowMs += 5000;
  await dns.fault('nxdomain', 'db.sandbox.test');
  assert.equal(await code(er.resolve('db.sandbox.test')), 'ENOTFOUND');
  await dns.fault(null, 'db.sandbox.test');
  assert.equal((await er.resolve('db.sandbox.test')).cached, false, 'the failure was not cached');
  await dns.setTtl(0);
  nowMs += 5000;
  await er.resolve('db.sandbox.test');
  assert.equal((await er.resolve('db.sandbox.test')).cached, false, 'TTL 0: every connection asks');
  await dns.setTtl(7);
  await dns.set('db.sandbox.test', '127.0.0.1');
});

test('a socket from streamFactory goes to the address the name resolves to (127.0.0.2 is loopback too)', async () => {
  const servers: Server[] = [];
  const listen = (host: string, port = 0): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = createServer((c) => c.end());
      servers.push(s);
      s.once('error', reject);
      s.listen(port, host, () => resolve((s.address() as { port: number }).port));
    });
  try {
    // Same port on two loopback addresses, as blue and green behind one RDS endpoint name.
    const port = await listen('127.0.0.1');
    await listen('127.0.0.2', port);
    const reached = async (): Promise<string | undefined> => {
      const make = streamFactory('db.sandbox.test', port, dns.address, 500);
      assert.ok(make);
      const sock = make();
      return new Promise((resolve, reject) => {
        sock.once('connect', () => {
          const a = sock.remoteAddress;
          sock.destroy();
          resolve(a);
        });
        sock.once('error', reject);
      });
    };
    await dns.setTtl(0);
    assert.equal(await reached(), '127.0.0.1');
    await dns.set('db.sandbox.test', '127.0.0.2');
    assert.equal(await reached(), '127.0.0.2');
    await dns.fault('nxdomain', 'db.sandbox.test');
    await assert.rejects(reached(), (err: unknown) => classifyError(err) === 'dns');
    await dns.fault(null, 'db.sandbox.test');
    assert.equal(streamFactory('127.0.0.1', port, dns.address, 500), undefined, 'an IP target is not resolved');
    assert.equal(streamFactory('db.sandbox.test', port, undefined, 500), undefined, 'no DNS server: mysql2 as usual');
  } finally {
    await dns.setTtl(7);
    await dns.set('db.sandbox.test', '127.0.0.1');
    for (const s of servers) s.close();
  }
});

test('parseDnsServer takes IPv4[:port] and refuses anything else', () => {
  assert.equal(parseDnsServer('127.0.0.1:5353'), '127.0.0.1:5353');
  assert.equal(parseDnsServer('10.0.0.2'), '10.0.0.2:53');
  for (const bad of ['', 'localhost:53', '127.0.0.1:0', '127.0.0.1:70000', '::1', '1.2.3:53', '127.0.0.1:53x']) {
    assert.throws(() => parseDnsServer(bad), DowntimeError, bad);
  }
});

test('--dns-server on the command line and load.dnsServer in a scenario reach the run options', async () => {
  const { parseRunArgs, planRun } = await import('../src/run/plan.js');
  const { bufferIo } = await import('../src/io.js');
  const io = bufferIo({ MYSQL_PWD: 'x' });
  const target = 'mysql://app@db.sandbox.test:3306/probe';
  const out = '/tmp/downtime-dns-flag-test.ndjson';
  assert.equal(parseRunArgs({ target, out, dnsServer: '127.0.0.1:5353' }, io).dnsServer, '127.0.0.1:5353');
  assert.equal(parseRunArgs({ target, out, dnsServer: '10.0.0.2' }, io).dnsServer, '10.0.0.2:53');
  assert.equal(parseRunArgs({ target, out }, io).dnsServer, undefined, 'default: the system resolver');
  assert.throws(
    () => parseRunArgs({ target, out, dnsServer: 'resolver.local' }, io),
    (err: unknown) => err instanceof DowntimeError && /--dns-server "resolver\.local"/.test(err.message),
  );
  const scenario = {
    name: 'dns',
    duration: '5s',
    target,
    load: { dnsServer: '127.0.0.1:5353' },
  };
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const d = mkdtempSync(join(tmpdir(), 'downtime-dns-scenario-'));
  try {
    const file = join(d, 's.json');
    writeFileSync(file, JSON.stringify(scenario));
    const plan = await planRun({ scenario: file, out: join(d, 'r.ndjson') }, io);
    assert.equal(plan.options.dnsServer, '127.0.0.1:5353');
    const flag = await planRun({ scenario: file, out: join(d, 'r.ndjson'), dnsServer: '127.0.0.9:53' }, io);
    assert.equal(flag.options.dnsServer, '127.0.0.9:53', 'the flag wins');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('the endpoint watcher: dns events on each change of the answer, stale-endpoint after TTL + 0.5 s', async () => {
  const { EndpointWatcher } = await import('../src/load/endpoint-watch.js');
  const events: { kind: string; name: string; atMs: number; detail?: Record<string, unknown> }[] = [];
  const said: string[] = [];
  await dns.setTtl(0);
  await dns.set('watch.sandbox.test', '127.0.0.1');
  const settle = (): Promise<void> => sleep(400); // > one 250 ms poll
  const w = await EndpointWatcher.start(
    'watch.sandbox.test',
    dns.address,
    300,
    (e) => events.push(e),
    Date.now,
    (m) => said.push(m),
  );
  assert.ok(w);
  try {
    w.observe(0, 'write', '127.0.0.1', Date.now(), Date.now());
    await dns.set('watch.sandbox.test', '127.0.0.2');
    await settle();
    const movedAt = events.find((e) => e.name === 'watch.sandbox.test resolves to 127.0.0.2')?.atMs;
    assert.ok(movedAt !== undefined, events.map((e) => e.name).join('; '));
    // Within the grace (TTL 0 + 0.5 s): a client honouring the TTL may still be on the old address.
    w.observe(0, 'write', '127.0.0.1', movedAt + 400, Date.now());
    assert.equal(said.length, 0);
    w.observe(0, 'write', '127.0.0.1', movedAt + 600, Date.now());
    w.observe(0, 'write', '127.0.0.1', movedAt + 900, Date.now()); // once per op, address and change
    assert.equal(said.length, 1);
    assert.match(
      said[0] as string,
      /^writes acknowledged by 127\.0\.0\.1 though watch\.sandbox\.test has resolved to 127\.0\.0\.2/,
    );
    // Moving with the record is not stale; failures and recovery are dns events too.
    w.observe(1, 'read', '127.0.0.2', movedAt + 2000, Date.now());
    await dns.fault('nxdomain', 'watch.sandbox.test');
    await settle();
    await dns.fault(null, 'watch.sandbox.test');
    await settle();
  } finally {
    await w.close();
    await dns.setTtl(7);
  }
  const names = events.map((e) => `${e.kind} ${e.name}`);
  assert.deepEqual(names, [
    'dns watch.sandbox.test resolves to 127.0.0.1',
    'note writes reach 127.0.0.1',
    'dns watch.sandbox.test resolves to 127.0.0.2',
    'warning stale-endpoint',
    'note reads reach 127.0.0.2',
    'dns watch.sandbox.test does not resolve (ENOTFOUND)',
    'dns watch.sandbox.test resolves to 127.0.0.2',
  ]);
  assert.equal(said.length, 1);
  // An IP target is not watched.
  assert.equal(await EndpointWatcher.start('127.0.0.1', dns.address, 300, () => undefined, Date.now), null);
});
