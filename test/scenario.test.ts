import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { loadScenario, parseScenario, parseScenarioText, ScenarioError } from '../src/scenario/parse.js';
import { suggest } from '../src/scenario/suggest.js';
import { reportDirFor, scenarioOutputs } from '../src/scenario/outputs.js';
import { expandHome, resolveScenarioPassword } from '../src/scenario/password.js';
import { redactScenario, scrubSecrets } from '../src/scenario/redact.js';
import { scenarioSchema } from '../src/scenario/schema.js';
import type { ParsedScenario } from '../src/scenario/types.js';
import { validate, type Schema } from './helpers/json-schema.js';

const SRC = 't.yaml';
/** A minimal good file; bad cases below are small edits of it. */
const BASE = 'name: t\nsandbox: blue-green\nduration: 1m\n';
const TARGET = 'name: t\ntarget: mysql://app@db.example:3306/probe\nduration: 1m\n';

function messageOf(text: string, source = SRC): string {
  try {
    parseScenarioText(text, source);
  } catch (err) {
    assert.ok(err instanceof DowntimeError, `expected a DowntimeError, got ${String(err)}`);
    assert.equal(err.exitCode, ExitCode.Usage);
    assert.ok(!err.message.includes('\n'), 'the message is one line');
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

/**
 * Bad files and their exact messages. `schema: false` marks what only the parser can check
 * (minimum durations, `at` before the end of the run, …); every other row must fail the JSON Schema too.
 */
const BAD: { why: string; text: string; message: string; schema?: false }[] = [
  {
    why: 'the example from the brief: three problems at once, unknown key last, no "duration is required" echo',
    text: 'name: x\nsandbox: blue-green\nduraton: 2m\nload:\n  reads: -5\nactions:\n  - {at: 10s, run: a}\n  - {at: 30, run: b}\n',
    message:
      't.yaml: 3 problems: load.reads: must be a number >= 0 (got -5); actions[1].at: "30" has no unit; write 30s or 30ms; unknown key "duraton" (did you mean "duration"?)',
  },
  {
    why: 'a sandbox mapping without its topology, a from that is no image nor path, an unknown key',
    text: 'name: t\nduration: 1m\nsandbox: {from: "MariaDB 10", to: mariadb:11.8, version: 2}\n',
    message:
      't.yaml: 3 problems: sandbox.topology: is required; blue-green or single; sandbox.from: "MariaDB 10" is neither an image (e.g. mariadb:11.8, mysql:8.4) nor a server directory (an absolute or ./relative path) nor "path"; sandbox: unknown key "version" (allowed: topology, from, to)',
  },
  {
    why: 'empty file',
    text: '# nothing but a comment\n',
    message:
      't.yaml: is empty; a scenario needs at least name:, duration: and target: or sandbox: (see docs/scenarios.md)',
  },
  {
    why: 'a list instead of a mapping',
    text: '- name: t\n',
    message: 't.yaml: must be a mapping with name:, duration:, load:, … (see docs/scenarios.md) (got a list)',
  },
  {
    why: 'no name',
    text: 'sandbox: single\nduration: 1m\n',
    message: 't.yaml: name: is required; add e.g. name: blue-green-rehearsal (the run label)',
  },
  {
    why: 'a name unusable in file names',
    text: BASE.replace('name: t', 'name: my run/2'),
    message:
      't.yaml: name: must be letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters (got "my run/2")',
  },
  {
    why: 'no duration',
    text: 'name: t\nsandbox: single\n',
    message: 't.yaml: duration: is required; add e.g. duration: 2m',
  },
  {
    why: 'a duration without a unit',
    text: BASE.replace('1m', '90'),
    message: 't.yaml: duration: "90" has no unit; write 90s or 90ms',
  },
  {
    why: 'a value with a newline in it still gives a one-line message',
    text: BASE.replace('1m', '"1m\\n30s"'),
    message: 't.yaml: duration: "1m 30s" is not a duration; write e.g. 500ms, 30s, 5m, 1h or 1m30s',
  },
  {
    why: 'a clock time is not a duration',
    text: BASE.replace('1m', '"1:30"'),
    message: 't.yaml: duration: "1:30" is not a duration; write e.g. 500ms, 30s, 5m, 1h or 1m30s',
  },
  {
    why: 'a duration shorter than one second',
    text: BASE.replace('1m', '500ms'),
    message: 't.yaml: duration: must be at least 1s (got 500ms)',
    schema: false,
  },
  {
    why: 'a duration of a year (a typo for 1m?)',
    text: BASE.replace('1m', '8760h'),
    message: 't.yaml: duration: must be at most 168h (got 8760h)',
    schema: false,
  },
  {
    why: 'neither sandbox nor target',
    text: 'name: t\nduration: 1m\n',
    message:
      't.yaml: set target: mysql://USER@HOST:PORT/DATABASE, or sandbox: blue-green or single to rehearse on local servers',
  },
  {
    why: 'both sandbox and target',
    text: BASE + 'target: mysql://app@db:3306/probe\n',
    message:
      't.yaml: set either sandbox: or target:, not both (sandbox: starts local servers; target: is an existing one)',
  },
  {
    why: 'a misspelt sandbox kind',
    text: BASE.replace('blue-green', 'bluegreen'),
    message: 't.yaml: sandbox: must be one of blue-green, single (got "bluegreen"; did you mean "blue-green"?)',
  },
  {
    why: 'a password inside the target URL (never echoed)',
    text: TARGET.replace('app@', 'app:s3cret@'),
    message:
      't.yaml: target: must not contain a password (scenario files get shared and stored); remove it and use password: {file: PATH} or {env: VAR}',
  },
  {
    why: 'not a mysql URL',
    text: TARGET.replace('mysql://', 'http://'),
    message: 't.yaml: target: must start with mysql:// (got http://); write mysql://USER@HOST:PORT/DATABASE',
  },
  {
    why: 'a target with no user and no database',
    text: TARGET.replace('app@', '').replace('/probe', ''),
    message:
      't.yaml: 2 problems: target: has no user; write mysql://USER@HOST:PORT/DATABASE; target: names no database; write mysql://USER@HOST:PORT/DATABASE (the harness creates its table there)',
  },
  {
    why: 'a target on port 0 (found here, not once the run starts)',
    text: TARGET.replace(':3306', ':0'),
    message: 't.yaml: target: port 0 is not a port number (1-65535)',
    schema: false,
  },
  {
    why: 'URL options belong under load:',
    text: TARGET.replace('/probe', '/probe?connectTimeout=1000'),
    message: 't.yaml: target: takes no ?options or #fragment; set timeouts under load: instead',
  },
  {
    why: 'the password itself (never echoed)',
    text: TARGET + 'password: hunter2\n',
    message:
      't.yaml: password: must not hold the password itself; write password: {file: PATH}, {env: VAR} or {command: CMD} instead',
  },
  {
    why: 'password with a sandbox',
    text: BASE + 'password: {env: MYSQL_PWD}\n',
    message: 't.yaml: password: only applies to target:; the sandbox needs no password',
  },
  {
    why: 'two password sources',
    text: TARGET + 'password: {file: ~/.pw, env: MYSQL_PWD}\n',
    message: 't.yaml: password: has file: and env:; keep one',
  },
  {
    why: 'a password pasted where the variable name goes (not echoed)',
    text: TARGET + 'password: {env: "pa$$ w0rd"}\n',
    message: 't.yaml: password.env: must be the name of an environment variable such as MYSQL_PWD (letters, digits, _)',
  },
  {
    why: 'a rate written as a string',
    text: BASE + 'load: {reads: "200"}\n',
    message: 't.yaml: load.reads: must be a number >= 0 (got "200")',
  },
  {
    why: 'a rate with an extra zero or three',
    text: BASE + 'load: {writes: 1000000}\n',
    message: 't.yaml: load.writes: must be at most 100000 per second (got 1000000)',
  },
  {
    why: 'no probes at all',
    text: BASE + 'load: {reads: 0, writes: 0}\n',
    message: 't.yaml: load: reads and writes are both 0; set at least one above 0',
  },
  {
    why: 'workers: zero and fractional in-flight cap',
    text: BASE + 'load: {workers: 0, maxInFlight: 2.5}\n',
    message:
      't.yaml: 2 problems: load.workers: must be a whole number from 1 to 64 (got 0); load.maxInFlight: must be a whole number from 1 to 100000 (got 2.5)',
  },
  {
    why: 'a DNS server given by name',
    text: BASE + 'load: {dnsServer: "localhost:53"}\n',
    message:
      't.yaml: load.dnsServer: must be an IPv4 address with an optional port, e.g. 127.0.0.1:5353 (got "localhost:53")',
  },
  {
    why: 'a DNS server on port 0',
    text: BASE + 'load: {dnsServer: "127.0.0.1:0"}\n',
    message:
      't.yaml: load.dnsServer: must be an IPv4 address with an optional port, e.g. 127.0.0.1:5353 (got "127.0.0.1:0")',
  },
  {
    why: 'a misspelt connection model',
    text: BASE + 'load: {connection: pooled}\n',
    message:
      't.yaml: load.connection: must be one of pool, per-probe, pool,per-probe, per-probe,pool (got "pooled"; did you mean "pool"?)',
  },
  {
    why: 'a zero timeout',
    text: BASE + 'load: {timeout: 0s}\n',
    message: 't.yaml: load.timeout: must be at least 10ms (got 0s)',
    schema: false,
  },
  {
    why: 'a latency SLO at the probe timeout',
    text: BASE + 'load: {timeout: 1s, slow: 1s}\n',
    message: 't.yaml: load.slow: must be below load.timeout (a probe slower than the timeout has failed, not slowed)',
    schema: false,
  },
  {
    why: 'a latency SLO of nothing',
    text: BASE + 'load: {slow: 0ms}\n',
    message: 't.yaml: load.slow: must be at least 1ms (got 0ms)',
    schema: false,
  },
  {
    why: 'SQL in the table name',
    text: BASE + 'load: {table: "probe; DROP TABLE users"}\n',
    message:
      't.yaml: load.table: must be a plain identifier (letters, digits and _, not starting with a digit, at most 64) (got "probe; DROP TABLE users")',
  },
  {
    why: 'misspelt load keys: a transposition and a case slip',
    text: BASE + 'load: {raeds: 5, connecttimeout: 1s}\n',
    message:
      't.yaml: 2 problems: load: unknown key "raeds" (did you mean "reads"?); load: unknown key "connecttimeout" (did you mean "connectTimeout"?)',
  },
  {
    why: 'actions as a mapping',
    text: BASE + 'actions: {at: 10s, run: x}\n',
    message: 't.yaml: actions: must be a list of actions, each with at: and run: or step: (got a mapping)',
  },
  {
    why: 'an action after the end of the run',
    text: BASE + 'actions:\n  - {at: 1m, step: restart}\n',
    message:
      't.yaml: actions[0].at: must be before the end of the run (got 1m; duration: 1m); start it earlier or run longer',
    schema: false,
  },
  {
    why: 'an action with no time',
    text: BASE + 'actions:\n  - run: date\n',
    message: 't.yaml: actions[0].at: is required; add e.g. at: 20s (the offset from the run start)',
  },
  {
    why: 'an action item that is a string',
    text: BASE + 'actions:\n  - restart at 10s\n',
    message: 't.yaml: actions[0]: must be a mapping with at: and run: or step: (got "restart at 10s")',
  },
  {
    why: 'both run and step',
    text: BASE + 'actions:\n  - {at: 10s, run: date, step: restart}\n',
    message: 't.yaml: actions[0]: has both run: and step:; keep one (run: a shell command, step: a sandbox step)',
  },
  {
    why: 'neither run nor step',
    text: BASE + 'actions:\n  - {at: 10s, name: nothing}\n',
    message: 't.yaml: actions[0]: needs run: (a shell command) or step: (a sandbox step)',
  },
  {
    why: 'a sandbox step against a real target',
    text: TARGET + 'actions:\n  - {at: 10s, step: restart}\n',
    message:
      't.yaml: actions[0].step: needs sandbox: (steps act on local sandbox servers); use run: for a command against target:',
  },
  {
    why: 'a switchover without a replica',
    text: BASE.replace('blue-green', 'single') + 'actions:\n  - {at: 10s, step: switchover}\n',
    message:
      't.yaml: actions[0].step: switchover needs sandbox: blue-green (sandbox: single has no replica to switch to)',
  },
  {
    why: 'a misspelt step',
    text: BASE + 'actions:\n  - {at: 10s, step: switchvoer}\n',
    message: 't.yaml: actions[0].step: unknown step "switchvoer" (did you mean "switchover"?)',
  },
  {
    why: 'an unknown step',
    text: BASE + 'actions:\n  - {at: 10s, step: reboot-the-world}\n',
    message:
      't.yaml: actions[0].step: unknown step "reboot-the-world"; steps: in-place-upgrade, switchover, restart, kill, failover, fault',
  },
  {
    why: 'a fault without its duration',
    text: BASE + 'actions:\n  - {at: 10s, step: fault, with: {kind: blackhole}}\n',
    message: 't.yaml: actions[0].with.duration: is required; how long the fault lasts, e.g. 2s',
    schema: false,
  },
  {
    why: 'fault options of another kind are refused, not ignored',
    text:
      BASE + 'actions:\n  - {at: 10s, step: fault, with: {kind: reset, duration: 1s, latency: 5ms, drop: toServer}}\n',
    message:
      't.yaml: 2 problems: actions[0].with.latency: only applies to kind: latency; actions[0].with.drop: only applies to kind: halfOpen',
    schema: false,
  },
  {
    why: 'an unknown fault kind',
    text: BASE + 'actions:\n  - {at: 10s, step: fault, with: {kind: wobble, duration: 1s}}\n',
    message:
      't.yaml: actions[0].with.kind: must be one of refuse, reset, blackhole, latency, bandwidth, halfOpen (got "wobble")',
  },
  {
    why: 'latency without latency, jitter above latency, bandwidth without bytesPerSec',
    text:
      BASE +
      'actions:\n  - {at: 10s, step: fault, with: {kind: latency, duration: 1s}}\n' +
      '  - {at: 20s, step: fault, with: {kind: latency, duration: 1s, latency: 100ms, jitter: 200ms}}\n' +
      '  - {at: 30s, step: fault, with: {kind: bandwidth, duration: 1s}}\n',
    message:
      't.yaml: 3 problems: actions[0].with.latency: is required; the delay added to each chunk, e.g. 500ms; actions[1].with.jitter: must be at most latency (100ms); actions[2].with.bytesPerSec: is required; the bandwidth, e.g. 10000',
    schema: false,
  },
  {
    why: 'step options on a command',
    text: BASE + 'actions:\n  - {at: 10s, run: date, with: {maxLag: 1s}}\n',
    message: 't.yaml: actions[0].with: only applies to step: actions; put options in the command itself',
  },
  {
    why: 'a command timeout on a step',
    text: BASE + 'actions:\n  - {at: 10s, step: switchover, timeout: 1m}\n',
    message:
      't.yaml: actions[0].timeout: only applies to run: actions; a step has its own limits (e.g. with: {timeout: 1m} for switchover)',
  },
  {
    why: 'misspelt and unitless step options',
    text: BASE + 'actions:\n  - {at: 10s, step: switchover, with: {maxlag: 1s, timeout: 30}}\n',
    message:
      't.yaml: 2 problems: actions[0].with.timeout: "30" has no unit; write 30s or 30ms; actions[0].with: unknown key "maxlag" (did you mean "maxLag"?)',
  },
  {
    why: 'options on a step that takes none',
    text: BASE + 'actions:\n  - {at: 10s, step: kill, with: {signal: 9}}\n',
    message: 't.yaml: actions[0].with: unknown key "signal" (kill takes no options)',
  },
  {
    why: 'thresholds in prose',
    text: BASE + 'thresholds:\n  - write downtime under a minute\n  - lost_writes==0\n',
    message:
      't.yaml: thresholds[0]: "write downtime under a minute" is not <metric><op><value>; write e.g. write_downtime<60s (op: < <= > >= == !=)',
  },
  {
    why: 'a single threshold not in a list',
    text: BASE + 'thresholds: write_downtime<60s\n',
    message:
      't.yaml: thresholds: must be a list such as [write_downtime<60s, lost_writes==0] (got "write_downtime<60s")',
  },
  {
    why: 'YAML 1.2: yes is a string, not a boolean',
    text: BASE + 'report: {enabled: yes}\n',
    message: 't.yaml: report.enabled: must be true or false (got "yes")',
  },
  {
    why: 'unknown report key with no near match',
    text: BASE + 'report: {format: png}\n',
    message: 't.yaml: report: unknown key "format" (allowed: out, enabled)',
  },
  {
    why: 'an empty description and a numeric out',
    text: BASE + 'description:\nout: 5\n',
    message: 't.yaml: 2 problems: description: must not be empty; out: must be a string (got 5)',
  },
  {
    why: '__proto__ is an unknown key like any other (no prototype games)',
    text: BASE + 'load:\n  __proto__: {reads: 1}\n',
    message:
      't.yaml: load: unknown key "__proto__" (allowed: reads, writes, workers, connection, timeout, connectTimeout, slow, dnsServer, maxInFlight, table, readSql, writeSql)',
  },
  {
    why: 'targets: a name twice, an item without url or sandbox, a sandbox server with target:, nothing to measure',
    text: 'name: t\ntarget: mysql://app@db/app\nduration: 1m\ntargets:\n  - {name: w, url: mysql://app@w/app}\n  - {name: w, url: mysql://app@r/app}\n  - {name: x}\n  - {name: g, sandbox: green}\n  - {name: z, url: mysql://app@z/app, reads: 0, writes: 0}\n',
    message:
      't.yaml: 4 problems: targets[1].name: w is used twice; give each endpoint its own name; targets[2]: needs one of url: (an existing server) or sandbox: endpoint, blue or green (a server of the sandbox); targets[3].sandbox: only applies with sandbox:; with target: give url:; targets[4]: reads and writes are both 0: nothing to measure there',
    schema: false,
  },
  {
    why: 'targets: a URL in a sandbox run, a name that is no name',
    text: 'name: t\nsandbox: blue-green\nduration: 1m\ntargets:\n  - {name: 1st, sandbox: green}\n  - {name: e, url: mysql://app@e/app}\n',
    message:
      't.yaml: 2 problems: targets[0].name: must be a letter, then letters, digits, _ or -, at most 32 characters (got "1st"); targets[1].url: a sandbox run watches its own servers: write sandbox: endpoint, blue or green',
    schema: false,
  },
  {
    why: 'unknown top-level key, no near match',
    text: BASE + 'retries: 3\n',
    message:
      't.yaml: unknown key "retries" (allowed: name, description, sandbox, target, greenTarget, targets, password, tls, duration, load, actions, thresholds, report, out)',
  },
];

describe('bad scenario files: one DowntimeError (ExitCode.Usage) listing every problem', () => {
  assert.ok(BAD.length >= 25);
  for (const row of BAD) {
    test(row.why, () => {
      assert.equal(messageOf(row.text), row.message);
      // Secrets in the file never reach the message.
      for (const secret of ['s3cret', 'hunter2', 'pa$$']) assert.ok(!row.message.includes(secret));
      if (row.schema !== false) {
        const errors = validate(scenarioSchema as unknown as Schema, parseYaml(row.text));
        assert.notDeepEqual(errors, [], 'the JSON Schema refuses it too');
      }
    });
  }
});

describe('unparseable text: one line with line:col', () => {
  test('YAML syntax error', () => {
    assert.equal(
      messageOf('name: t\nload: [1, 2\nduration: 1m\n'),
      't.yaml:3:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
  });
  test('a duplicate key is an error, not last-one-wins', () => {
    assert.equal(
      messageOf(BASE + 'duration: 2m\n'),
      't.yaml:4:1: invalid YAML: a key appears twice in one mapping; keep one',
    );
  });
  test('broken JSON in a .json file says JSON', () => {
    assert.equal(
      messageOf('{"name": "t",\n "sandbox" "single"}', 'x.json'),
      'x.json:2:12: invalid JSON: Missing , or : between flow map items',
    );
  });
  test('an alias to nowhere', () => {
    assert.equal(
      messageOf('name: *nope\n'),
      't.yaml: invalid YAML: Unresolved alias (the anchor must be set before the alias): nope',
    );
  });
  test('more than 20 problems: the first 20 and a count', () => {
    const keys = Array.from({ length: 22 }, (_, i) => `zz${i}: 1`).join('\n');
    const message = messageOf(BASE + keys + '\n');
    assert.match(message, /^t\.yaml: 22 problems: unknown key "zz0" /);
    assert.match(message, /unknown key "zz19" [^;]*; … and 2 more$/);
  });
});

const DEFAULT_LOAD = {
  readsPerSec: 100,
  writesPerSec: 50,
  workers: undefined,
  connection: 'pool',
  connections: ['pool'],
  timeoutMs: 2000,
  connectTimeoutMs: 2000,
  slowMs: undefined,
  dnsServer: undefined,
  maxInFlight: 256,
  table: 'downtime_probe',
  readSql: undefined,
  writeSql: undefined,
} as const;

describe('good files parse to the expected ParsedScenario', () => {
  test('the smallest file gets every default', () => {
    const expected: ParsedScenario = {
      source: SRC,
      name: 't',
      description: undefined,
      db: { kind: 'sandbox', sandbox: 'blue-green' },
      durationMs: 60_000,
      load: { ...DEFAULT_LOAD },
      actions: [],
      thresholds: [],
      report: { out: undefined, enabled: true },
      out: undefined,
    };
    assert.deepEqual(parseScenarioText(BASE, SRC), expected);
  });

  test('sandbox as a mapping: the topology and the two servers of an upgrade', () => {
    const text =
      'name: t\nduration: 1m\nsandbox: {topology: single, from: downtime/mariadb:10.11, to: /opt/mariadb-11.8}\n';
    assert.deepEqual(parseScenarioText(text, SRC).db, {
      kind: 'sandbox',
      sandbox: 'single',
      from: 'downtime/mariadb:10.11',
      to: '/opt/mariadb-11.8',
    });
  });

  test('every key set', () => {
    const text = `
name: full.run_1
description: Everything at once
target: "mysql://app@db.example:3307/probe"
password:
  command: aws rds generate-db-auth-token --hostname db.example --port 3307 --username app
duration: 1m30s
load:
  reads: 0.5
  writes: 0
  workers: 3
  connection: per-probe
  timeout: 1500ms
  connectTimeout: 750ms
  slow: 250ms
  dnsServer: 127.0.0.1
  maxInFlight: 8
  table: probe_2
  readSql: SELECT 1
  writeSql: INSERT INTO probe_2 (run_id) VALUES (?)
actions:
  - at: 0s
    run: "echo start"
  - at: 1m29s
    name: late
    run: sleep 100
    timeout: 0.5s
thresholds:
  - " write_downtime < 60s "
  - lost_writes==0
report: {out: /tmp/r, enabled: false}
out: /tmp/r.ndjson
`;
    const expected: ParsedScenario = {
      source: SRC,
      name: 'full.run_1',
      description: 'Everything at once',
      db: {
        kind: 'target',
        url: 'mysql://app@db.example:3307/probe',
        password: {
          from: 'command',
          command: 'aws rds generate-db-auth-token --hostname db.example --port 3307 --username app',
        },
      },
      durationMs: 90_000,
      load: {
        readsPerSec: 0.5,
        writesPerSec: 0,
        workers: 3,
        connection: 'per-probe',
        connections: ['per-probe'],
        timeoutMs: 1500,
        connectTimeoutMs: 750,
        slowMs: 250,
        dnsServer: '127.0.0.1:53',
        maxInFlight: 8,
        table: 'probe_2',
        readSql: 'SELECT 1',
        writeSql: 'INSERT INTO probe_2 (run_id) VALUES (?)',
      },
      actions: [
        { kind: 'run', index: 0, atMs: 0, name: 'action 1', command: 'echo start', timeoutMs: undefined },
        { kind: 'run', index: 1, atMs: 89_000, name: 'late', command: 'sleep 100', timeoutMs: 500 },
      ],
      thresholds: ['write_downtime < 60s', 'lost_writes==0'],
      report: { out: '/tmp/r', enabled: false },
      out: '/tmp/r.ndjson',
    };
    assert.deepEqual(parseScenarioText(text, SRC), expected);
    assert.deepEqual(validate(scenarioSchema as unknown as Schema, parseYaml(text)), []);
  });

  test('fault steps: kind, duration and the options of their kind', () => {
    const text =
      BASE +
      `actions:
  - {at: 10s, step: fault, with: {kind: latency, duration: 2s, latency: 500ms, jitter: 50ms}}
  - {at: 20s, step: fault, name: partition, with: {kind: halfOpen, duration: 1s, drop: toServer}}
  - {at: 30s, step: fault, with: {kind: bandwidth, duration: 1s, bytesPerSec: 10000}}
  - {at: 40s, step: fault, with: {kind: refuse, duration: 500ms}}
`;
    const none = { latencyMs: undefined, jitterMs: undefined, bytesPerSec: undefined, drop: undefined };
    assert.deepEqual(parseScenarioText(text, SRC).actions, [
      {
        kind: 'step',
        index: 0,
        atMs: 10_000,
        name: 'fault',
        step: { name: 'fault', options: { ...none, kind: 'latency', durationMs: 2000, latencyMs: 500, jitterMs: 50 } },
      },
      {
        kind: 'step',
        index: 1,
        atMs: 20_000,
        name: 'partition',
        step: { name: 'fault', options: { ...none, kind: 'halfOpen', durationMs: 1000, drop: 'toServer' } },
      },
      {
        kind: 'step',
        index: 2,
        atMs: 30_000,
        name: 'fault',
        step: { name: 'fault', options: { ...none, kind: 'bandwidth', durationMs: 1000, bytesPerSec: 10_000 } },
      },
      {
        kind: 'step',
        index: 3,
        atMs: 40_000,
        name: 'fault',
        step: { name: 'fault', options: { ...none, kind: 'refuse', durationMs: 500 } },
      },
    ]);
    assert.deepEqual(validate(scenarioSchema as unknown as Schema, parseYaml(text)), []);
  });

  test('every step, with options defaulted and given; actions stay in file order', () => {
    const text =
      BASE +
      `actions:
  - {at: 50s, step: failover}
  - {at: 40s, step: kill}
  - {at: 30s, step: restart, with: {}}
  - {at: 20s, step: switchover, with: {maxLag: 250ms}}
  - {at: 10s, step: in-place-upgrade, name: upgrade, with: {offline: 0s}}
  - {at: 5s, step: in-place-upgrade}
  - {at: 1s, step: switchover, with: {maxLag: 2s, timeout: 5m}}
`;
    assert.deepEqual(parseScenarioText(text, SRC).actions, [
      { kind: 'step', index: 0, atMs: 50_000, name: 'failover', step: { name: 'failover', options: {} } },
      { kind: 'step', index: 1, atMs: 40_000, name: 'kill', step: { name: 'kill', options: {} } },
      { kind: 'step', index: 2, atMs: 30_000, name: 'restart', step: { name: 'restart', options: {} } },
      {
        kind: 'step',
        index: 3,
        atMs: 20_000,
        name: 'switchover',
        step: { name: 'switchover', options: { maxLagMs: 250, timeoutMs: 60_000, blockWritesMs: 0, renameMs: 0 } },
      },
      {
        kind: 'step',
        index: 4,
        atMs: 10_000,
        name: 'upgrade',
        step: { name: 'in-place-upgrade', options: { offlineMs: 0 } },
      },
      {
        kind: 'step',
        index: 5,
        atMs: 5000,
        name: 'in-place-upgrade',
        step: { name: 'in-place-upgrade', options: { offlineMs: 10_000 } },
      },
      {
        kind: 'step',
        index: 6,
        atMs: 1000,
        name: 'switchover',
        step: { name: 'switchover', options: { maxLagMs: 2000, timeoutMs: 300_000, blockWritesMs: 0, renameMs: 0 } },
      },
    ]);
    assert.deepEqual(validate(scenarioSchema as unknown as Schema, parseYaml(text)), []);
  });

  test('connectTimeout defaults to load.timeout, as with downtime run', () => {
    const parsed = parseScenarioText(BASE + 'load: {timeout: 5s}\n', SRC);
    assert.equal(parsed.load.connectTimeoutMs, 5000);
  });

  test('JSON, by extension or by content, gives the same result as YAML', () => {
    const json = JSON.stringify({ name: 't', sandbox: 'blue-green', duration: '1m' }, null, '\t');
    const fromYaml = parseScenarioText(BASE, 'same');
    assert.deepEqual(parseScenarioText(json, 'same'), fromYaml);
    assert.deepEqual(parseScenarioText(json, 'x.json'), { ...fromYaml, source: 'x.json' });
  });

  test('the shipped local blue/green scenario', () => {
    const parsed = loadScenario(new URL('../../scenarios/local-blue-green.yaml', import.meta.url).pathname);
    assert.deepEqual({ ...parsed, source: '', description: '' }, {
      source: '',
      name: 'local-blue-green',
      description: '',
      db: { kind: 'sandbox', sandbox: 'blue-green' },
      durationMs: 75_000,
      load: { ...DEFAULT_LOAD, readsPerSec: 100, writesPerSec: 50, timeoutMs: 2000 },
      actions: [
        {
          kind: 'step',
          index: 0,
          atMs: 20_000,
          name: 'switchover',
          step: {
            name: 'switchover',
            options: { maxLagMs: 1000, timeoutMs: 30_000, blockWritesMs: 6000, renameMs: 3000 },
          },
        },
      ],
      thresholds: ['write_downtime<60s', 'lost_writes==0'],
      report: { out: undefined, enabled: true },
      out: undefined,
    } satisfies ParsedScenario);
  });

  test('the shipped RDS scenarios parse, with their placeholders inside strings', () => {
    for (const name of ['rds-in-place', 'rds-blue-green']) {
      const parsed = loadScenario(new URL(`../../scenarios/${name}.yaml`, import.meta.url).pathname);
      assert.equal(parsed.db.kind, 'target');
      const action = parsed.actions[0];
      assert.ok(action?.kind === 'run');
      assert.match(action.command, /^aws rds \S+ --\S+ FILL_IN_\w+ /);
      assert.ok(!action.command.includes('\n'), 'folded into one command line');
    }
  });
});

describe('threshold hook', () => {
  test('the real threshold parser can be plugged in; its message gets the path', () => {
    const known = new Set(['write_downtime', 'lost_writes']);
    const validateThreshold = (s: string): string | undefined => {
      const metric = /^\s*([A-Za-z_][A-Za-z0-9_.]*)/.exec(s)?.[1] ?? '';
      return known.has(metric) ? undefined : `unknown metric "${metric}"`;
    };
    const text = BASE + 'thresholds: [write_downtime<60s, read_dowtnime<1s, "bad"]\n';
    assert.equal(
      (() => {
        try {
          parseScenario(text, { source: SRC, validateThreshold });
        } catch (err) {
          return (err as Error).message;
        }
        return 'accepted';
      })(),
      't.yaml: 2 problems: thresholds[1]: unknown metric "read_dowtnime"; thresholds[2]: "bad" is not <metric><op><value>; write e.g. write_downtime<60s (op: < <= > >= == !=)',
    );
    const ok = parseScenario(BASE + 'thresholds: [lost_writes==0]\n', { source: SRC, validateThreshold });
    assert.deepEqual(ok.thresholds, ['lost_writes==0']);
  });
});

describe('loadScenario', () => {
  const dir = mkdtempSync(join(tmpdir(), 'downtime-scenario-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing file is ExitCode.InputFile', () => {
    const path = join(dir, 'nope.yaml');
    assert.throws(
      () => loadScenario(path),
      (err: unknown) =>
        err instanceof DowntimeError &&
        err.exitCode === ExitCode.InputFile &&
        err.message ===
          `cannot read scenario ${path}: no such file; check the path (ready-made ones are in scenarios/)`,
    );
  });

  test('a directory is ExitCode.InputFile', () => {
    const path = join(dir, 'sub');
    mkdirSync(path);
    assert.throws(
      () => loadScenario(path),
      (err: unknown) =>
        err instanceof DowntimeError &&
        err.exitCode === ExitCode.InputFile &&
        err.message === `scenario ${path} is a directory; name a .yaml or .json file in it`,
    );
  });

  test('a bad file is ExitCode.Usage, a ScenarioError with the problems one by one, prefixed by its path', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'name: t\nsandbox: single\nduration: 1m\nload: {reads: -1, writes: x}\n');
    assert.throws(
      () => loadScenario(path),
      (err: unknown) =>
        err instanceof ScenarioError &&
        err.exitCode === ExitCode.Usage &&
        err.message.startsWith(`${path}: 2 problems: load.reads:`) &&
        err.problems.length === 2 &&
        err.problems[1] === 'load.writes: must be a number >= 0 (got "x")',
    );
  });

  test('a good .json file', () => {
    const path = join(dir, 'good.json');
    writeFileSync(path, JSON.stringify({ name: 'j', sandbox: 'single', duration: '10s' }));
    const parsed = loadScenario(path);
    assert.equal(parsed.source, path);
    assert.equal(parsed.durationMs, 10_000);
  });
});

describe('redactScenario', () => {
  test('keeps where the password comes from, marked; scrubs secrets from commands; leaves the input alone', () => {
    const text = `
name: r
target: mysql://app@db:3306/probe
password: {command: "PGPASSWORD=x aws rds generate-db-auth-token --hostname db --username app"}
duration: 1m
actions:
  - at: 10s
    run: "MYSQL_PWD='hunter 2' mysql --password=s3cret -e 'SELECT 1' mysql://root:pw@db/x --api-token abc"
`;
    const parsed = parseScenarioText(text, SRC);
    const copy = structuredClone(parsed);
    const redacted = redactScenario(parsed);
    assert.deepEqual(parsed, copy, 'input unchanged');
    assert.deepEqual(redacted.db, {
      kind: 'target',
      url: 'mysql://app@db:3306/probe',
      password: {
        from: 'command',
        command: 'PGPASSWORD=*** aws rds generate-db-auth-token --hostname db --username app',
        valueStored: false,
      },
    });
    assert.equal(
      redacted.actions[0]?.kind === 'run' ? redacted.actions[0].command : '',
      "MYSQL_PWD=*** mysql --password=*** -e 'SELECT 1' mysql://root:***@db/x --api-token ***",
    );
    assert.equal(redacted.redacted, true);
    const stored = JSON.stringify(redacted);
    for (const secret of ['hunter', 's3cret', ':pw@', 'abc', '=x ']) assert.ok(!stored.includes(secret), secret);
  });

  test('file and env sources are kept as they are, marked; a URL password from elsewhere is scrubbed', () => {
    const parsed = parseScenarioText(TARGET + 'password: {file: ~/.pw}\n', SRC);
    assert.deepEqual(redactScenario(parsed).db, {
      kind: 'target',
      url: 'mysql://app@db.example:3306/probe',
      password: { from: 'file', path: '~/.pw', valueStored: false },
    });
    const fromFlags: ParsedScenario = {
      ...parsed,
      db: { kind: 'target', url: 'mysql://app:pw@h/db', password: { from: 'env', name: 'MYSQL_PWD' } },
    };
    assert.deepEqual(redactScenario(fromFlags).db, {
      kind: 'target',
      url: 'mysql://app:***@h/db',
      password: { from: 'env', name: 'MYSQL_PWD', valueStored: false },
    });
  });

  test('scrubSecrets redacts every common shape of a credential in a command', () => {
    // [command as written, as stored]: one row per shape users paste into actions.
    const rows: [string, string][] = [
      ['mariadb -uroot -pSECRET -h db -e "SELECT 1"', 'mariadb -uroot -p*** -h db -e "SELECT 1"'],
      ["mysql -u app -p'my secret' db", 'mysql -u app -p*** db'],
      ['mysql -u app -p"s3c r3t" db', 'mysql -u app -p*** db'],
      ['sh -c "mariadb -pSECRET"', 'sh -c "mariadb -p***'],
      ['mysql --pass=SECRET', 'mysql --pass=***'],
      ['mysql --passwd SECRET -e x', 'mysql --passwd *** -e x'],
      ['PWD=SECRET ./switch.sh', 'PWD=*** ./switch.sh'],
      ['export MYSQL_PWD="SECRET"; mysql', 'export MYSQL_PWD=***; mysql'],
      ['mysql -e "CREATE USER a IDENTIFIED BY \'SECRET\'"', 'mysql -e "CREATE USER a IDENTIFIED BY \'***\'"'],
      [
        'mysql -e "ALTER USER a IDENTIFIED WITH mysql_native_password BY \'SECRET\'"',
        'mysql -e "ALTER USER a IDENTIFIED WITH mysql_native_password BY \'***\'"',
      ],
      ['mysql -e "SET PASSWORD FOR a = PASSWORD(\'SECRET\')"', 'mysql -e "SET PASSWORD FOR a = PASSWORD(\'***\')"'],
      ['mysql -e "CHANGE MASTER TO MASTER_PASSWORD = \'SECRET\'"', 'mysql -e "CHANGE MASTER TO MASTER_PASSWORD = ***"'],
      ['curl -H "Authorization: Bearer SECRET" https://x', 'curl -H "Authorization: Bearer ***" https://x'],
      ['mysqlsh mysql://root:SECRET@db:3306', 'mysqlsh mysql://root:***@db:3306'],
    ];
    for (const [command, stored] of rows) {
      const got = scrubSecrets(command);
      assert.ok(!got.includes('SECRET') && !got.includes('secret') && !got.includes('s3c'), `${command} → ${got}`);
      assert.equal(got, stored, command);
    }
  });

  test('scrubSecrets leaves ordinary commands alone', () => {
    const command =
      'aws rds switchover-blue-green-deployment --blue-green-deployment-identifier bgd-1 --switchover-timeout 300';
    assert.equal(scrubSecrets(command), command);
    assert.equal(scrubSecrets('mysql --password -h db'), 'mysql --password -h db');
  });
});

test('scenarioOutputs: a timestamped results file by default, the report next to it', () => {
  const parsed = parseScenarioText(BASE, SRC);
  const nowMs = Date.UTC(2026, 10, 28, 14, 5, 9, 750);
  assert.deepEqual(scenarioOutputs(parsed, nowMs), {
    resultsPath: 'reports/t-20261128-140509.ndjson',
    reportDir: 'reports/t-20261128-140509',
  });
  const given = parseScenarioText(BASE + 'out: /tmp/x.json\n', SRC);
  assert.deepEqual(scenarioOutputs(given, nowMs), { resultsPath: '/tmp/x.json', reportDir: '/tmp/x' });
  const both = parseScenarioText(BASE + 'out: a.ndjson\nreport: {out: r}\n', SRC);
  assert.deepEqual(scenarioOutputs(both, nowMs), { resultsPath: 'a.ndjson', reportDir: 'r' });
});

test('reportDirFor: one rule for run and report, next to the results file', () => {
  assert.equal(reportDirFor('reports/inplace.ndjson'), 'reports/inplace');
  assert.equal(reportDirFor('/tmp/x.json'), '/tmp/x');
  assert.equal(reportDirFor('runs/noext'), 'runs/noext-report', 'never the file itself');
  assert.equal(reportDirFor('a.b.ndjson'), 'a.b');
});

test('suggest: near misses only', () => {
  const keys = ['reads', 'writes', 'connectTimeout', 'timeout'];
  assert.equal(suggest('raeds', keys), 'reads');
  assert.equal(suggest('connect_timeout', keys), 'connectTimeout');
  assert.equal(suggest('Timeout', keys), 'timeout');
  assert.equal(suggest('banana', keys), undefined);
  assert.equal(suggest('', keys), undefined);
});

describe('resolveScenarioPassword', () => {
  const home = mkdtempSync(join(tmpdir(), 'downtime-home-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const io = { env: { HOME: home, PATH: process.env.PATH, DB_PW: 'from env' }, cwd: home };

  async function failure(p: Promise<unknown>): Promise<DowntimeError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof DowntimeError);
      return err;
    }
    assert.fail('expected a DowntimeError');
  }

  test('file: ~/ is HOME, one trailing newline dropped', async () => {
    writeFileSync(join(home, 'pw'), 'se cret \n');
    assert.equal(expandHome('~/pw', io), join(home, 'pw'));
    assert.equal(expandHome('/abs/~/pw', io), '/abs/~/pw');
    assert.deepEqual(await resolveScenarioPassword({ from: 'file', path: '~/pw' }, io), {
      password: 'se cret ',
      source: 'password file ~/pw',
    });
  });

  test('file missing: ExitCode.InputFile', async () => {
    const err = await failure(resolveScenarioPassword({ from: 'file', path: '~/nope' }, io));
    assert.equal(err.exitCode, ExitCode.InputFile);
    assert.equal(
      err.message,
      'cannot read password file ~/nope: no such file; point password.file at a readable file holding only the password',
    );
  });

  test('env: set and unset', async () => {
    assert.deepEqual(await resolveScenarioPassword({ from: 'env', name: 'DB_PW' }, io), {
      password: 'from env',
      source: '$DB_PW',
    });
    const err = await failure(resolveScenarioPassword({ from: 'env', name: 'NOPE_PW' }, io));
    assert.equal(
      err.message,
      'password.env: NOPE_PW is not set (or empty); export it, or use password.file / password.command',
    );
  });

  test('command: stdout is the password; on failure stderr is shown, stdout never', async () => {
    assert.deepEqual(await resolveScenarioPassword({ from: 'command', command: "printf 'tok3n\\n'" }, io), {
      password: 'tok3n',
      source: 'password command',
    });
    const err = await failure(
      resolveScenarioPassword({ from: 'command', command: 'echo leaked; echo "token expired" >&2; exit 3' }, io),
    );
    assert.equal(
      err.message,
      'password.command exited with status 3: token expired; run it by hand to check it prints the password',
    );
    const empty = await failure(resolveScenarioPassword({ from: 'command', command: 'true' }, io));
    assert.equal(empty.message, 'password.command printed nothing; it must print the password on standard output');
  });
});
