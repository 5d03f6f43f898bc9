/**
 * The rules of a run's values (src/scenario/rules.ts): one owner for each limit, worded for a flag as
 * `downtime run` says it and for a scenario key as the parser says it. One row per message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateThreshold } from '../src/analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import {
  checkConnection,
  checkMaxInFlight,
  checkPasswordRefresh,
  checkPoolSize,
  checkRate,
  checkRunDuration,
  checkTable,
  checkThreshold,
  checkTimeout,
  checkWorkers,
  must,
  type Checked,
} from '../src/scenario/rules.js';

const problem = (c: Checked<unknown>): string => (c.ok ? 'accepted' : c.problems.join('; '));

test('flags: the messages downtime run prints', () => {
  const rows: [Checked<unknown>, string][] = [
    [checkRate(-5, '--writes'), '--writes must be ≥ 0 probes per second, 0 to leave the op out (got -5)'],
    [checkRate(NaN, '--reads'), '--reads must be a number of probes per second, e.g. --reads 100'],
    [checkRate(Infinity, '--writes'), '--writes must be a number of probes per second, e.g. --writes 100'],
    [
      checkRate(1e9, '--reads'),
      '--reads 1000000000 is absurd: at most 100000 probes per second; run several harnesses and merge them instead',
    ],
    [checkWorkers(0, '--workers'), '--workers must be a whole number from 1 to 64 (got 0)'],
    [checkWorkers(1.5, '--workers'), '--workers must be a whole number from 1 to 64 (got 1.5)'],
    [checkWorkers(100_000, '--workers'), '--workers must be a whole number from 1 to 64 (got 100000)'],
    [checkPoolSize(0, '--pool-size'), '--pool-size must be a whole number from 1 to 1000 (got 0)'],
    [checkPoolSize(1001, '--pool-size'), '--pool-size must be a whole number from 1 to 1000 (got 1001)'],
    [checkMaxInFlight(0, '--max-in-flight'), '--max-in-flight must be a whole number from 1 to 100000 (got 0)'],
    [checkRunDuration('300', '--duration'), '--duration "300" has no unit; write 300s or 300ms'],
    [checkRunDuration('0s', '--duration'), '--duration 0s is out of range (1000 ms to 168 h)'],
    [checkRunDuration('10000h', '--duration'), '--duration 10000h is out of range (1000 ms to 168 h)'],
    [checkRunDuration('1y', '--duration'), '--duration "1y" is not a duration; write e.g. 500ms, 30s, 5m, 1h or 1m30s'],
    [checkTimeout('1ms', '--connect-timeout'), '--connect-timeout 1ms is out of range (10 ms to 1 h)'],
    [checkTimeout('2h', '--timeout'), '--timeout 2h is out of range (10 ms to 1 h)'],
    [
      checkConnection('pool,pool', '--connection'),
      '--connection must be pool, per-probe, or both side by side as pool,per-probe (got "pool,pool")',
    ],
    [
      checkTable('x;y', '--table'),
      '--table "x;y" is not a plain identifier; use letters, digits and _ (e.g. downtime_probe)',
    ],
    [
      checkThreshold(' ', '--threshold', validateThreshold),
      '--threshold takes an expression, e.g. --threshold "write_downtime<60s"',
    ],
    [checkThreshold('nope<1s', '--threshold', validateThreshold), `--threshold: ${validateThreshold('nope<1s')}`],
    [
      checkPasswordRefresh('10ms', '--password-refresh'),
      '--password-refresh 10ms is out of range (1s to 24h; RDS IAM tokens live 15m)',
    ],
  ];
  for (const [checked, message] of rows) assert.equal(problem(checked), message);
  assert.throws(
    () => must(checkWorkers(0, '--workers')),
    (e: unknown) => e instanceof DowntimeError && e.exitCode === ExitCode.Usage && /^--workers must/.test(e.message),
  );
});

test('scenario keys: the messages the parser lists', () => {
  const rows: [Checked<unknown>, string][] = [
    [checkRate(-5, 'load.reads'), 'load.reads: must be a number >= 0 (got -5)'],
    [checkRate('200', 'load.reads'), 'load.reads: must be a number >= 0 (got "200")'],
    [checkRate(1_000_000, 'load.writes'), 'load.writes: must be at most 100000 per second (got 1000000)'],
    [checkWorkers(0, 'load.workers'), 'load.workers: must be a whole number from 1 to 64 (got 0)'],
    [checkWorkers(65, 'load.workers'), 'load.workers: must be at most 64 (got 65)'],
    [checkMaxInFlight(2.5, 'load.maxInFlight'), 'load.maxInFlight: must be a whole number from 1 to 100000 (got 2.5)'],
    [checkRunDuration('500ms', 'duration'), 'duration: must be at least 1s (got 500ms)'],
    [checkRunDuration(90, 'duration'), 'duration: "90" has no unit; write 90s or 90ms'],
    [checkTimeout('0s', 'load.timeout'), 'load.timeout: must be at least 10ms (got 0s)'],
    [
      checkTimeout([], 'load.connectTimeout'),
      'load.connectTimeout: must be a duration such as 30s, 5m or 1m30s (got a list)',
    ],
    [
      checkConnection('pooled', 'load.connection'),
      'load.connection: must be one of pool, per-probe, pool,per-probe, per-probe,pool (got "pooled"; did you mean "pool"?)',
    ],
    [
      checkTable('a$b', 'load.table'),
      'load.table: must be a plain identifier (letters, digits and _, not starting with a digit, at most 64) (got "a$b")',
    ],
    [
      checkThreshold(5, 'thresholds[0]', undefined),
      'thresholds[0]: must be a string such as write_downtime<60s (got 5)',
    ],
    [checkPasswordRefresh('10ms', 'password.refresh'), 'password.refresh: must be at least 1s (got 10ms)'],
  ];
  for (const [checked, message] of rows) assert.equal(problem(checked), message);
});

test('good values, typed', () => {
  assert.deepEqual(checkConnection('pool,per-probe', '--connection'), { ok: true, value: ['pool', 'per-probe'] });
  assert.deepEqual(checkConnection('per-probe', 'load.connection'), { ok: true, value: ['per-probe'] });
  assert.deepEqual(checkTimeout('1m30s', '--timeout'), { ok: true, value: 90_000 });
  assert.deepEqual(checkRate(0, 'load.reads'), { ok: true, value: 0 }, 'a file may turn reads off');
  assert.deepEqual(checkTable('a$b', '--table'), { ok: true, value: 'a$b' }, 'flags have always taken $');
  assert.deepEqual(checkThreshold(' lost_writes==0 ', '--threshold', validateThreshold), {
    ok: true,
    value: 'lost_writes==0',
  });
});
