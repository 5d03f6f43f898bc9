/**
 * A switchover by DNS, as RDS does it: blue on 127.0.0.1, green (its replica) on 127.0.0.2, the same
 * port, and a name `db.sandbox.test` served by the sandbox's DNS server (TTL 1 s) pointing at blue. Mid-run
 * green is promoted and the record moves to it. The harness resolves the name through that server
 * (--dns-server) for every new connection.
 *
 * - blue stays up and writable (the stale case): per-probe clients follow the record within one TTL + one
 *   probe interval; a pool keeps its connections to blue, its reads keep being answered by blue's
 *   server_id, the run warns `stale-endpoint`, and verification on the final endpoint (green) counts the
 *   writes blue acknowledged after replication stopped as lost — exactly the rows only blue has.
 * - blue is set read-only first (what RDS does to the old primary): the pool's writes fail `read-only`
 *   until the end of the run, nothing is lost; per-probe clients fail `read-only` until they follow.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { analyze, analyzeDetailed } from '../src/analyze/index.js';
import { summaryMarkdown } from '../src/report/text/index.js';
import { bufferIo, wallClockMs } from '../src/io.js';
import { runMeasurement, type RunOptions } from '../src/load/measurement.js';
import { readResults } from '../src/results/reader.js';
import type { ConnectionModel, EventRecord, ResultsFile } from '../src/results/types.js';
import { startDnsServer, type DnsServer } from '../src/sandbox/endpoint/dns.js';
import { startServer, type MysqlServer } from '../src/sandbox/index.js';
import { startReplication, waitCaughtUp } from '../src/sandbox/topology/replication.js';
import { sleep } from '../src/util/sleep.js';
import { assertInvariants } from './helpers/invariants.js';
import { targetAt, testRunOptions } from './helpers/run-options.js';

const NAME = 'db.sandbox.test';
const BLUE_IP = '127.0.0.1';
const GREEN_IP = '127.0.0.2';
const RATE = 50;
const INTERVAL_MS = 1000 / RATE;
const TTL_S = 1;
const TIMEOUT_MS = 1000;
const DURATION_MS = 6000;
const FLIP_AT_MS = 2000;
const USER = 'downtime';
const DATABASE = 'probe';
const TABLE = 'downtime_probe';

let dns: DnsServer;
let dir: string;

before(async () => {
  dns = await startDnsServer({ ttlS: TTL_S });
  dir = mkdtempSync(join(tmpdir(), 'downtime-stale-'));
});
after(async () => {
  await dns?.close();
  if (dir && !process.env.KEEP_STALE) rmSync(dir, { recursive: true, force: true });
  else if (dir) console.log('kept', dir);
});

interface Pair {
  blue: MysqlServer;
  green: MysqlServer;
  password: string;
  stop(): Promise<void>;
}

/** Blue on 127.0.0.1:P, green on 127.0.0.2:P replicating from it, the app user on both, the name on blue. */
async function startPair(tag: string): Promise<Pair> {
  const base = mkdtempSync(join(dir, `${tag}-`));
  const blue = await startServer({ baseDir: base, name: 'blue', serverId: 1, binlog: true, host: BLUE_IP });
  let green: MysqlServer | undefined;
  try {
    green = await startServer({
      baseDir: base,
      name: 'green',
      serverId: 2,
      binlog: true,
      readOnly: true,
      host: GREEN_IP,
      port: blue.port,
    });
    const repl = { user: 'downtime_repl', password: 'pw-' + randomBytes(9).toString('base64url') };
    await blue.rootQuery(`CREATE USER IF NOT EXISTS ?@'127.0.0.1' IDENTIFIED BY ?`, [repl.user, repl.password]);
    await blue.rootQuery(`GRANT REPLICATION SLAVE ON *.* TO ?@'127.0.0.1'`, [repl.user]);
    await startReplication(blue, green, repl);
    const password = 'pw-' + randomBytes(9).toString('base64url');
    await blue.createUser(USER, password, DATABASE);
    await waitCaughtUp(blue, green, 20_000);
    await dns.set(NAME, BLUE_IP);
    // The previous case left the name on green, and this process's resolver caches answers for their TTL, as
    // an application's would: the setup connection must not reach the new green from that cached answer.
    await sleep(TTL_S * 1000 + 100);
    const g = green;
    return {
      blue,
      green: g,
      password,
      stop: async () => {
        await g.destroy();
        await blue.destroy();
      },
    };
  } catch (err) {
    await green?.destroy();
    await blue.destroy();
    throw err;
  }
}

function options(model: ConnectionModel, pair: Pair, out: string, actions: RunOptions['actions']): RunOptions {
  return testRunOptions({
    target: targetAt(NAME, pair.blue.port, USER, DATABASE),
    dnsServer: dns.address,
    password: pair.password,
    rates: { read: RATE, write: RATE },
    durationMs: DURATION_MS,
    connection: model,
    timeoutMs: TIMEOUT_MS,
    poolSize: 4,
    table: TABLE,
    out,
    verify: true,
    keep: true, // the rows stay, so the test can compare blue's and green's own tables
    pollTopology: false,
    actions,
  });
}

async function seqsOn(server: MysqlServer, runId: string): Promise<Set<number>> {
  const rows = await server.rootQuery<{ seq: number }[]>(
    `SELECT seq FROM \`${DATABASE}\`.\`${TABLE}\` WHERE run_id = ? AND seq >= 0`,
    [runId],
  );
  return new Set(rows.map((r) => Number(r.seq)));
}

/** Epoch ms of the first `note` saying `op`s now reach `address`, or null. */
function reachedAtMs(file: ResultsFile, op: string, address: string): number | null {
  const e = file.events.find((x) => x.kind === 'note' && x.name === `${op}s now reach ${address}`);
  return e?.atMs ?? null;
}

/** server_ids that answered reads in the whole seconds from `fromMs` on (there must be some). */
function readServerIdsAfter(file: ResultsFile, fromMs: number): number[] {
  const ids = new Set<number | null>();
  let seconds = 0;
  for (const s of file.seconds.read) {
    if (s.sec * 1000 < fromMs) continue;
    seconds++;
    for (const v of s.servers) ids.add(v.serverId);
  }
  assert.ok(seconds > 0, 'whole seconds after the flip');
  return [...ids].map(Number).sort();
}

interface Flip {
  /** Green stopped replicating (after STOP SLAVE returned). */
  replicationStoppedMs: number;
  /** The record points at green. */
  flippedMs: number;
  /** Blue read-only (variant readOnly), when the statement returned. */
  blueReadOnlyMs?: number;
}

/**
 * The switchover by DNS. Stale variant: green promoted while blue stays writable, then the record moves.
 * Read-only variant: blue read-only first, green catches up and is promoted, then the record moves.
 */
async function flip(pair: Pair, readOnly: boolean): Promise<Flip> {
  let blueReadOnlyMs: number | undefined;
  if (readOnly) {
    await pair.blue.rootQuery('SET GLOBAL read_only = ON');
    blueReadOnlyMs = wallClockMs();
    await waitCaughtUp(pair.blue, pair.green, 5000);
  }
  await pair.green.rootQuery('STOP SLAVE');
  const replicationStoppedMs = wallClockMs();
  await pair.green.rootQuery('RESET SLAVE ALL');
  await pair.green.rootQuery('SET GLOBAL read_only = OFF');
  const flippedMs = await dns.set(NAME, GREEN_IP);
  return { replicationStoppedMs, flippedMs, ...(blueReadOnlyMs !== undefined ? { blueReadOnlyMs } : {}) };
}

async function runCase(
  model: ConnectionModel,
  readOnly: boolean,
): Promise<{ file: ResultsFile; flip: Flip; blueOnly: number[]; stderr: string }> {
  const pair = await startPair(`${model}-${readOnly ? 'ro' : 'stale'}`);
  try {
    let f: Flip | undefined;
    const out = join(dir, `${model}-${readOnly ? 'ro' : 'stale'}.ndjson`);
    const io = bufferIo();
    const result = await runMeasurement(
      options(model, pair, out, [
        {
          atMs: FLIP_AT_MS,
          name: 'dns-switchover',
          execute: async () => {
            f = await flip(pair, readOnly);
            return { ...f };
          },
        },
      ]),
      io,
    );
    assert.equal(result.trailer.reason, 'completed');
    assert.ok(f, 'the flip ran');
    const file = readResults(out);
    assertInvariants(file);
    const [onBlue, onGreen] = await Promise.all([seqsOn(pair.blue, result.runId), seqsOn(pair.green, result.runId)]);
    const blueOnly = [...onBlue].filter((s) => !onGreen.has(s)).sort((a, b) => a - b);
    return { file, flip: f, blueOnly, stderr: io.err.join('') };
  } finally {
    await pair.stop();
  }
}

function warnings(file: ResultsFile, name: string): EventRecord[] {
  return file.events.filter((e) => e.kind === 'warning' && e.name === name);
}

test(
  'stale pool: blue stays writable after the DNS flip; the pool keeps writing to it',
  { timeout: 90_000 },
  async () => {
    const { file, flip: f, blueOnly, stderr } = await runCase('pool', false);
    // The watcher saw the record move.
    const moved = file.events.find((e) => e.kind === 'dns' && e.name === `${NAME} resolves to ${GREEN_IP}`);
    assert.ok(moved, 'a dns event for the flip');
    assert.ok(
      moved.atMs >= f.flippedMs - 1 && moved.atMs <= f.flippedMs + 400,
      `dns event ${moved.atMs - f.flippedMs} ms after the flip`,
    );
    // The pool never left blue: every read after the flip (+ TTL) was answered by server_id 1.
    assert.deepEqual(readServerIdsAfter(file, f.flippedMs + TTL_S * 1000 + 100), [1]);
    assert.equal(reachedAtMs(file, 'write', GREEN_IP), null, 'no pooled write reached green');
    // The run says so.
    const stale = warnings(file, 'stale-endpoint');
    assert.ok(
      stale.some((w) => w.detail?.op === 'write' && w.detail.address === BLUE_IP),
      'stale-endpoint for writes',
    );
    for (const w of stale)
      assert.ok(w.atMs >= f.flippedMs + TTL_S * 1000 + 500, 'not before TTL + 0.5 s after the flip');
    // ... on stderr as it happens, and in the report.
    assert.match(
      stderr,
      /downtime: warning: stale-endpoint: writes acknowledged by 127\.0\.0\.1 though db\.sandbox\.test has resolved to 127\.0\.0\.2/,
    );
    const a = analyzeDetailed(file);
    assert.ok(a.summary.warnings.some((x) => x.name === 'stale-endpoint' && /^writes acknowledged by/.test(x.message)));
    assert.match(
      summaryMarkdown(a, [], []),
      /### Warnings\n\n- \+[\d.]+ s \([\d:.]+ UTC\) stale-endpoint: (reads|writes) acknowledged by 127\.0\.0\.1/,
    );
    // Nothing failed: the stale pool is invisible to availability.
    assert.deepEqual(a.summary.outages, []);
    // Verification on the final endpoint (green): blue's acknowledged writes after replication stopped are lost,
    // and they are exactly the rows only blue has.
    const w = file.trailer?.writes;
    assert.ok(w, 'writes verified');
    assert.ok(blueOnly.length > 100, `blue took ${blueOnly.length} writes after the flip`);
    assert.equal(w.lost, blueOnly.length, 'lost = the rows only blue has');
    assert.equal(w.inDoubtAbsent + w.inDoubtCommitted, 0);
    const firstLostSec = Math.min(...w.lostSeconds);
    assert.ok(
      firstLostSec * 1000 >= Math.floor(f.replicationStoppedMs / 1000) * 1000 - 1000,
      'no write before the flip lost',
    );
  },
);

test(
  'per-probe after the DNS flip: follows the record within one TTL + one probe interval',
  { timeout: 90_000 },
  async () => {
    const { file, flip: f, blueOnly } = await runCase('per-probe', false);
    for (const op of ['read', 'write']) {
      const at = reachedAtMs(file, op, GREEN_IP);
      assert.ok(at !== null, `${op}s reached green`);
      const lagMs = at - f.flippedMs;
      assert.ok(lagMs <= TTL_S * 1000 + INTERVAL_MS + 50, `${op}s moved ${Math.round(lagMs)} ms after the flip`);
    }
    // Reads end on green's server_id.
    assert.deepEqual(readServerIdsAfter(file, f.flippedMs + TTL_S * 1000 + 100), [2]);
    assert.equal(warnings(file, 'stale-endpoint').length, 0, 'per-probe clients are not stale beyond the TTL');
    // The writes blue took in the TTL gap after replication stopped are lost — that is the DNS TTL's cost.
    const w = file.trailer?.writes;
    assert.ok(w);
    assert.equal(w.lost, blueOnly.length);
    assert.ok(w.lost <= (TTL_S * 1000 + 500) / INTERVAL_MS, `${w.lost} lost: at most a TTL's worth`);
  },
);

test(
  'read-only blue after the flip: pooled writes fail read-only to the end; nothing lost',
  { timeout: 90_000 },
  async () => {
    const { file, flip: f, blueOnly } = await runCase('pool', true);
    assert.ok(f.blueReadOnlyMs !== undefined);
    const s = analyze(file);
    const writes = s.outages.filter((o) => o.op === 'write');
    assert.equal(writes.length, 1, 'one write outage');
    const o = writes[0] as (typeof writes)[number];
    assert.deepEqual(Object.keys(o.errors), ['read-only']);
    assert.ok(
      Math.abs(o.startMs - f.blueReadOnlyMs) <= INTERVAL_MS + 50 + 50,
      `starts ${o.startMs - f.blueReadOnlyMs} ms from read_only`,
    );
    assert.ok(o.endMs >= file.header.startMs + DURATION_MS - INTERVAL_MS - 1, 'lasts to the end of the run');
    assert.deepEqual(
      s.outages.filter((x) => x.op === 'read'),
      [],
      'reads stay ok on blue',
    );
    assert.deepEqual(readServerIdsAfter(file, f.flippedMs + TTL_S * 1000 + 100), [1]);
    assert.ok(
      warnings(file, 'stale-endpoint').some((w) => w.detail?.op === 'read'),
      'stale reads warned',
    );
    assert.equal(file.trailer?.writes?.lost, 0);
    assert.deepEqual(blueOnly, []);
  },
);

test(
  'read-only blue, per-probe: writes fail read-only until the record is followed, then green takes them',
  { timeout: 90_000 },
  async () => {
    const { file, flip: f } = await runCase('per-probe', true);
    assert.ok(f.blueReadOnlyMs !== undefined);
    const writes = analyze(file).outages.filter((o) => o.op === 'write');
    assert.equal(writes.length, 1);
    const o = writes[0] as (typeof writes)[number];
    assert.deepEqual(Object.keys(o.errors), ['read-only']);
    assert.ok(
      o.endMs - f.flippedMs <= TTL_S * 1000 + INTERVAL_MS + 50,
      `ends ${Math.round(o.endMs - f.flippedMs)} ms after the flip`,
    );
    assert.equal(file.trailer?.writes?.lost, 0);
  },
);
