/**
 * Probe statements and probe tables that cannot work are refused before the start (exit 8, one line naming what
 * the server said), instead of being measured as 100 % downtime or as lost writes (#17 items 6 and 7). Each
 * refusal leaves no results file and no row of its run behind.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { readResults } from '../src/results/reader.js';
import { shortRun, type CliOutput } from './helpers/cli.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';

let srv: TestServer;
let dir: string;
let n = 0;

before(async () => {
  ({ srv, dir } = await serverAndDir('downtime-probe-sql-'));
  await srv.server.rootQuery('CREATE TABLE probe.other (x BIGINT NOT NULL)');
  await srv.server.rootQuery(
    'CREATE TABLE probe.keyed_by_run (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, PRIMARY KEY (run_id))',
  );
  await srv.server.rootQuery(
    'CREATE TABLE probe.unique_seq (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, PRIMARY KEY (run_id, seq), UNIQUE KEY by_seq (seq))',
  );
  await srv.server.rootQuery(
    'CREATE TABLE probe.no_key (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL)',
  );
  await srv.server.rootQuery(
    'CREATE TABLE probe.payload (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, payload VARCHAR(10) NOT NULL, PRIMARY KEY (run_id, seq))',
  );
  // Extra columns that fill themselves are fine: a default, NULL allowed, generated.
  await srv.server.rootQuery(
    "CREATE TABLE probe.extras (run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, note VARCHAR(10) NOT NULL DEFAULT 'x', maybe INT NULL, twice BIGINT AS (seq * 2) VIRTUAL, PRIMARY KEY (run_id, seq))",
  );
  await srv.server.rootQuery("CREATE USER 'noselect'@'%' IDENTIFIED BY 'pw-noselect'");
  await srv.server.rootQuery("GRANT INSERT, DELETE, CREATE ON probe.* TO 'noselect'@'%'");
});

after(() => removeServerAndDir(srv, dir));

function run(args: string[], opts: { url?: string; password?: string } = {}): Promise<CliOutput> & { out: string } {
  return shortRun(srv, join(dir, `r${++n}.ndjson`), ['--workers', '1', ...args], opts);
}

async function rowsIn(table: string): Promise<number> {
  const rows = await srv.server.rootQuery<{ n: number }[]>(`SELECT COUNT(*) AS n FROM probe.${table}`);
  return Number(rows[0]?.n);
}

const refused: [why: string, args: string[], message: RegExp][] = [
  [
    'a typo in --read-sql',
    ['--read-sql', 'SELEC 1'],
    /--read-sql \(load\.readSql\) cannot work: .*SQL syntax.*; fix the statement/,
  ],
  [
    'an unknown table in --read-sql',
    ['--read-sql', 'SELECT x FROM nowhere'],
    /--read-sql \(load\.readSql\) cannot work: Table 'probe\.nowhere' doesn't exist/,
  ],
  [
    'two statements in --read-sql',
    ['--read-sql', 'SELECT 1; SELECT 2'],
    /--read-sql \(load\.readSql\) cannot work: .*SQL syntax/,
  ],
  [
    'a typo in --write-sql',
    ['--write-sql', 'INSRT INTO downtime_probe VALUES (:run_id)'],
    /--write-sql \(load\.writeSql\) cannot work: .*SQL syntax/,
  ],
  [
    'a --write-sql that writes elsewhere',
    ['--write-sql', 'INSERT INTO other (x) VALUES (:seq)'],
    /--write-sql \(load\.writeSql\) did not leave the row \(run_id, seq\) = \(:run_id, :seq\) in downtime_probe: write verification would count every write lost; make it insert them, or pass --no-verify/,
  ],
  [
    'a table keyed by run_id alone',
    ['--table', 'keyed_by_run'],
    /table probe\.keyed_by_run exists with another shape \(PRIMARY KEY \(run_id\) would make the writes of a run collide/,
  ],
  [
    'a unique key on seq alone',
    ['--table', 'unique_seq'],
    /another shape \(UNIQUE KEY by_seq \(seq\) would make the writes of a run collide\)/,
  ],
  ['a table without a key', ['--table', 'no_key'], /another shape \(no key on \(run_id, seq\)\)/],
  [
    'an extra NOT NULL column',
    ['--table', 'payload'],
    /another shape \(column payload is NOT NULL without a default, so the harness's rows cannot be inserted\)/,
  ],
];

for (const [why, args, message] of refused) {
  test(`refused before the start: ${why} (exit 8, one line, no results, no rows left)`, async () => {
    const before = await rowsIn('downtime_probe').catch(() => 0);
    const r = run(args);
    const res = await r;
    assert.equal(res.code, ExitCode.Schema, res.err);
    assert.match(res.err, message);
    assert.equal(res.err.trim().split('\n').length, 1, res.err);
    assert.doesNotMatch(res.err, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(r.out), 'no results file');
    assert.equal(await rowsIn('downtime_probe').catch(() => 0), before, 'the run left no row');
    assert.equal(await rowsIn('other'), 0);
  });
}

test('a probe user without SELECT on the table: the read probe is refused with a grant hint', async () => {
  const url = srv.url.replace(`${srv.user}@`, 'noselect@');
  const res = await run([], { url, password: 'pw-noselect' });
  assert.equal(res.code, ExitCode.Schema, res.err);
  assert.match(
    res.err,
    /the built-in read probe cannot work: SELECT command denied .*; grant what it needs \(SELECT and INSERT on downtime_probe\)/,
  );
});

test('a --write-sql that writes elsewhere is fine with --no-verify: availability only', async () => {
  const r = run(['--write-sql', 'INSERT INTO other (x) VALUES (:seq)', '--no-verify']);
  const res = await r;
  assert.equal(res.code, ExitCode.Ok, res.err);
  const f = readResults(r.out);
  assert.equal(f.complete, true);
  assert.ok(
    f.seconds.write.every((s) => s.ok === s.due),
    'every write ok',
  );
  assert.ok((await rowsIn('other')) >= 15);
});

test('custom statements that work, on a table with extra self-filling columns: measured, all ok, writes verified', async () => {
  const r = run([
    '--table',
    'extras',
    '--read-sql',
    'SELECT seq, twice FROM extras WHERE run_id = :run_id AND seq = :seq',
    '--write-sql',
    "INSERT INTO extras (run_id, seq, intended_ms, note) VALUES (:run_id, :seq, :intended_ms, 'y')",
  ]);
  const res = await r;
  assert.equal(res.code, ExitCode.Ok, res.err);
  const f = readResults(r.out);
  assert.ok(f.seconds.read.every((s) => s.ok === s.due) && f.seconds.write.every((s) => s.ok === s.due));
  assert.equal(f.trailer?.writes?.lost, 0);
  assert.ok((f.trailer?.writes?.acknowledged ?? 0) >= 15);
  assert.equal(await rowsIn('extras'), 0, 'the run rows (and the check rows) were cleaned up');
});
