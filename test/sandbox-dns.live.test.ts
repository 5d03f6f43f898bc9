/**
 * The blue-green sandbox with a DNS endpoint (startSandbox({ endpoint: 'dns' })): blue on 127.0.0.1, green
 * on 127.0.0.2 (the same port), the endpoint the name db.sandbox.test served by the sandbox's DNS server
 * (TTL 1 s). The switchover does its steps (write block, connections on blue killed, catch-up, `rename`
 * wait), then moves the record, as RDS does. Run through measure() with the sandbox given, so the
 * scenario path carries the DNS server to the harness.
 *
 * - per-probe: reads move to green's server_id within a TTL of the flip; writes fail read-only from the
 *   block until then; nothing lost.
 * - pool: its connections are killed on blue, it reconnects at once — the record still names blue (the
 *   rename wait) — and stays there: reads are still answered by blue's server_id to the end (a connection
 *   replaced after the flip goes to green), writes fail read-only (on the connections still on
 *   blue, past the flip + TTL), and the run warns stale-endpoint for reads.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { measure } from '../src/index.js';
import { readResults } from '../src/results/reader.js';
import type { ResultsFile } from '../src/results/types.js';
import { DNS_ENDPOINT_NAME, GREEN_DNS_HOST, startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { sleep } from '../src/util/sleep.js';

const TTL_S = 1;
let sb: Sandbox;

before(async () => {
  sb = await startSandbox({ topology: 'blue-green', endpoint: 'dns', dnsTtlS: TTL_S });
});
after(async () => {
  await sb?.stop();
});

function scenario(connection: 'pool' | 'per-probe'): Record<string, unknown> {
  return {
    name: `dns-${connection}`,
    sandbox: 'blue-green',
    duration: '6s',
    load: { reads: 50, writes: 50, connection, timeout: '1s', workers: 1 },
    actions: [{ at: '2s', step: 'switchover', with: { rename: '500ms' } }],
  };
}

function flipMs(file: ResultsFile): number {
  const e = file.events.find(
    (x) => x.kind === 'dns' && x.name === `${DNS_ENDPOINT_NAME} resolves to ${GREEN_DNS_HOST}`,
  );
  assert.ok(e, 'the run saw the record move to green');
  return e.atMs;
}

function serverIdsFrom(file: ResultsFile, fromMs: number): number[] {
  const ids = new Set<number>();
  let seconds = 0;
  for (const s of file.seconds.read) {
    if (s.sec * 1000 < fromMs) continue;
    seconds++;
    for (const v of s.servers) ids.add(Number(v.serverId));
  }
  assert.ok(seconds > 0);
  return [...ids].sort();
}

test('sandbox dns mode: the endpoint is a name on the sandbox DNS server, servers on two loopback addresses', () => {
  assert.equal(sb.endpoint.host, DNS_ENDPOINT_NAME);
  assert.match(sb.endpoint.url, /^mysql:\/\/downtime@db\.sandbox\.test:\d+\/probe$/);
  assert.equal(sb.endpoint.dnsServer, sb.dns?.address);
  assert.equal(sb.dns?.get(DNS_ENDPOINT_NAME), '127.0.0.1');
  assert.equal(sb.green?.host, GREEN_DNS_HOST);
  assert.equal(sb.green?.port, sb.blue.port, 'green shares blue port, on its own address');
});

test(
  'sandbox dns mode, per-probe: follows the record to green within a TTL; nothing lost',
  { timeout: 120_000 },
  async () => {
    const m = await measure(scenario('per-probe'), { sandbox: sb });
    const file = readResults(m.resultsPath);
    const flip = flipMs(file);
    assert.equal(sb.dns?.get(DNS_ENDPOINT_NAME), GREEN_DNS_HOST);
    // The watcher polls every 250 ms, so the flip is known to within that; clients follow within a TTL.
    assert.deepEqual(serverIdsFrom(file, flip + TTL_S * 1000 + 300), [2]);
    const moved = file.events.find((e) => e.kind === 'note' && e.name === `reads now reach ${GREEN_DNS_HOST}`);
    assert.ok(moved && moved.atMs - flip <= TTL_S * 1000 + 300, 'reads reached green within a TTL of the flip');
    const writes = m.outages.filter((o) => o.op === 'write');
    assert.equal(writes.length, 1);
    assert.deepEqual(Object.keys((writes[0] as (typeof writes)[number]).errors), ['read-only']);
    assert.equal(m.writes?.lost, 0);
    assert.equal(file.events.filter((e) => e.kind === 'warning' && e.name === 'stale-endpoint').length, 0);
  },
);

test(
  'sandbox dns mode, pool: reconnects to blue before the record moves and stays there',
  { timeout: 120_000 },
  async () => {
    await sb.reset();
    assert.equal(sb.dns?.get(DNS_ENDPOINT_NAME), '127.0.0.1', 'reset points the name at blue again');
    // The previous case left the name on green, and this process's resolver caches answers for their TTL (as an
    // application's would): wait it out, or the setup connection reaches read-only green from the cache.
    await sleep(TTL_S * 1000 + 100);
    const m = await measure(scenario('pool'), { sandbox: sb });
    const file = readResults(m.resultsPath);
    const flip = flipMs(file);
    // Connections the pool opened after the drop and before the flip stay on blue; one it replaces after
    // the flip (a killed connection noticed late) goes to green: the pool is split, blue still in it.
    assert.ok(serverIdsFrom(file, flip + TTL_S * 1000 + 300).includes(1), 'reads still answered by blue');
    const writes = m.outages.filter((o) => o.op === 'write');
    assert.equal(writes.length, 1);
    const w = writes[0] as (typeof writes)[number];
    // Pooled connections killed on blue with a write on them, or handed out before their close was seen.
    assert.ok(w.errors['read-only'] !== undefined, 'read-only');
    for (const cls of Object.keys(w.errors)) assert.ok(['read-only', 'lost-connection'].includes(cls), cls);
    assert.ok(w.endMs > flip + TTL_S * 1000, 'writes still failing a TTL after the flip');
    let lateReadOnly = 0;
    for (const s of file.seconds.write)
      if (s.sec * 1000 >= flip + TTL_S * 1000 + 300) lateReadOnly += s.failed['read-only'] ?? 0;
    assert.ok(lateReadOnly > 0, `writes refused read-only by blue after the flip + TTL: ${lateReadOnly}`);
    assert.ok(
      file.events.some((e) => e.kind === 'warning' && e.name === 'stale-endpoint' && e.detail?.op === 'read'),
      'stale-endpoint warned',
    );
    assert.equal(m.writes?.lost, 0);
  },
);
