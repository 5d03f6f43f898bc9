import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../src/analyze/index.js';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { assertInvariants } from './helpers/invariants.js';
import { runMain, type CliOutput } from './helpers/cli.js';

/**
 * Reads only (a reader endpoint, a read replica: --writes 0) and writes only: the run, the report, the
 * thresholds and a comparison work with one op, and nothing about the other op is made up.
 */
let srv: TestServer;
let dir: string;

before(async () => {
  ({ srv, dir } = await serverAndDir('downtime-one-op-'));
  await srv.server.rootQuery(
    `CREATE TABLE ${srv.database}.downtime_probe (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (run_id, seq)) ENGINE=InnoDB`,
  );
});

after(async () => {
  await srv?.server.rootQuery('SET GLOBAL read_only = OFF').catch(() => undefined);
  await removeServerAndDir(srv, dir);
});

function run(args: string[]): Promise<CliOutput> {
  return runMain(
    ['run', '--target', srv.url, '--duration', '3s', '--progress', ...args],
    bufferIo({ MYSQL_PWD: srv.password }),
  );
}

test('--writes 0 against a read-only server: reads only, no write verification, no clean-up, one chart panel', async () => {
  await srv.server.rootQuery('SET GLOBAL read_only = ON');
  try {
    const out = join(dir, 'reads.ndjson');
    const res = await run(['--writes', '0', '--reads', '100', '--out', out, '--threshold', 'read_downtime==0']);
    assert.equal(res.code, ExitCode.Ok, res.err);
    assert.doesNotMatch(
      res.err,
      /could not (delete|verify)/,
      'no clean-up or verification warning on a read-only server',
    );
    assert.match(res.out, /read_downtime==0: 0 ms — ok/);
    assert.doesNotMatch(res.out, /lost_writes/, 'no write verification threshold without writes');
    assert.match(res.out, /writes: not probed/);
    const r = readResults(out);
    assertInvariants(r);
    assert.deepEqual(Object.keys(r.header.ops), ['read']);
    assert.equal(r.seconds.write.length, 0);
    assert.equal(r.trailer?.writes, undefined);
    assert.equal(
      r.seconds.read.reduce((a, s) => a + s.ok, 0),
      300,
    );
    const s = analyze(r);
    assert.equal(s.downtimeMs.write, null);
    assert.equal(s.availability.read, 1);
    const summary = JSON.parse(readFileSync(join(dir, 'reads', 'summary.json'), 'utf8')) as { ops: object };
    assert.deepEqual(Object.keys(summary.ops), ['read']);
    const md = readFileSync(join(dir, 'reads', 'summary.md'), 'utf8');
    assert.match(md, /Writes: not probed/);
  } finally {
    await srv.server.rootQuery('SET GLOBAL read_only = OFF');
  }
});

test('--reads 0: writes only, verified; compare with the reads-only run works', async () => {
  const out = join(dir, 'writes.ndjson');
  const res = await run(['--reads', '0', '--writes', '50', '--out', out]);
  assert.equal(res.code, ExitCode.Ok, res.err);
  assert.match(res.out, /lost_writes==0: 0 — ok/);
  const r = readResults(out);
  assert.deepEqual(Object.keys(r.header.ops), ['write']);
  assert.equal(r.trailer?.writes?.lost, 0);
  assert.equal(r.trailer?.writes?.acknowledged, 150);
  const io = bufferIo({});
  const code = await main(['compare', join(dir, 'reads.ndjson'), out, '--out', join(dir, 'cmp')], io);
  assert.equal(code, ExitCode.Ok, io.err.join(''));
  assert.match(io.out.join(''), /read downtime/);
});
