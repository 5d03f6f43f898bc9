import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../src/analyze/index.js';
import {
  defaultThresholds,
  evaluateThresholds,
  formatMetricValue,
  parseThreshold,
  THRESHOLD_METRICS,
  validateThreshold,
} from '../src/analyze/thresholds.js';
import { DowntimeError, ExitCode } from '../src/errors.js';
import { parseResults } from '../src/results/reader.js';
import { parseScenario } from '../src/scenario/index.js';
import { syntheticResults, SYNTH_START_MS as T0 } from './helpers/synthetic.js';

test('parseThreshold: metric, operator and value with units', () => {
  const rows: [string, string, string, number][] = [
    ['write_downtime<60s', 'write_downtime', '<', 60_000],
    [' read_downtime <= 1m30s ', 'read_downtime', '<=', 90_000],
    ['full_downtime==0', 'full_downtime', '==', 0],
    ['lost_writes==0', 'lost_writes', '==', 0],
    ['read_availability>=99.9%', 'read_availability', '>=', 0.999],
    ['write_p99<250ms', 'write_p99', '<', 250],
    ['read_windows!=3', 'read_windows', '!=', 3],
    ['full_nines>2.5', 'full_nines', '>', 2.5],
  ];
  for (const [expr, metric, op, value] of rows) {
    const t = parseThreshold(expr);
    assert.deepEqual([t.metric, t.op, t.value], [metric, op, value], expr);
  }
});

test('parseThreshold: bad ones throw a one-line Usage error listing the metric names', () => {
  const rows: [string, RegExp][] = [
    ['write_downtime', /is not "metric op value"/],
    ['wrote_downtime<5s', /unknown metric "wrote_downtime"/],
    ['write_downtime<60', /has no unit; write 60s or 60ms/],
    ['read_availability>99.9', /is not a percentage; write e.g. 99.9%/],
    ['read_availability>101%', /over 100%/],
    ['lost_writes<=1.5', /not a whole number/],
    ['write_downtime=<5s', /is not "metric op value"|not a duration/],
    ['constructor==0', /unknown metric/],
  ];
  for (const [expr, re] of rows) {
    assert.throws(
      () => parseThreshold(expr),
      (e: unknown) =>
        e instanceof DowntimeError && e.exitCode === ExitCode.Usage && re.test(e.message) && !e.message.includes('\n'),
      expr,
    );
  }
  assert.match(validateThreshold('nope') ?? '', /metrics: .*write_downtime/);
  assert.equal(validateThreshold('lost_writes==0'), undefined);
  assert.ok(THRESHOLD_METRICS.includes('read_p99'));
});

test('evaluateThresholds: pass, fail, and "cannot be measured" fails', () => {
  const s = analyze(
    parseResults(
      syntheticResults({
        durationMs: 20_000,
        rates: { read: 10, write: 10 },
        outages: [{ op: 'write', fromMs: 5000, toMs: 17_000, cls: 'read-only' }],
      }),
    ),
  );
  const results = evaluateThresholds(
    s,
    [
      'write_downtime<60s',
      'write_downtime<10s',
      'read_downtime==0',
      'write_windows==1',
      'lost_writes==0',
      'read_availability>=99%',
    ].map(parseThreshold),
  );
  assert.deepEqual(
    results.map((r) => [r.expr, r.ok, r.actual]),
    [
      ['write_downtime<60s', true, 12_000],
      ['write_downtime<10s', false, 12_000],
      ['read_downtime==0', true, 0],
      ['write_windows==1', true, 1],
      ['lost_writes==0', false, null],
      ['read_availability>=99%', true, 1],
    ],
  );
  assert.match(results[1]?.message ?? '', /write_downtime<10s: 12.0 s — FAILED/);
  assert.match(results[4]?.message ?? '', /writes were not verified/);
  assert.deepEqual(defaultThresholds(s), []);
});

test('the default lost_writes==0 applies when writes were verified', () => {
  const s = analyze(
    parseResults(
      syntheticResults({
        durationMs: 2000,
        rates: { write: 10 },
        writes: {
          acknowledged: 19,
          lost: 1,
          lostSeconds: [T0 / 1000],
          inDoubtCommitted: 0,
          inDoubtAbsent: 0,
          checkedAt: 'x',
        },
      }),
    ),
  );
  const [r] = evaluateThresholds(s, defaultThresholds(s));
  assert.equal(r?.ok, false);
  assert.equal(r?.actual, 1);
});

test('validateThreshold fits the scenario parser hook', () => {
  const yaml = 'name: t\ntarget: mysql://app@127.0.0.1:3306/db\nthresholds:\n  - write_downtime<60s\n  - wrong<1s\n';
  assert.throws(
    () => parseScenario(yaml, { source: 's.yaml', validateThreshold }),
    (e: unknown) => e instanceof Error && /unknown metric "wrong"/.test(e.message),
  );
});

test('threshold values are shown precisely enough to see which side of the limit they are on', () => {
  assert.equal(formatMetricValue('write_p99', 2.1), '2.1 ms');
  assert.equal(formatMetricValue('write_p99', 0.4567), '0.457 ms');
  assert.equal(formatMetricValue('write_downtime', 12_000), '12.0 s');
  assert.equal(formatMetricValue('write_downtime', 60_400), '1 min 0 s (60.400 s)');
  assert.equal(formatMetricValue('read_availability', 0.99995), '99.995%');
  assert.equal(formatMetricValue('lost_writes', 3), '3');
});
