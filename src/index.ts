/**
 * downtime as a library: measure downtime from a test suite, against local servers the test starts.
 *
 *   import { measure } from 'downtime';
 *   const r = await measure({ name: 'bg', sandbox: 'blue-green', duration: '20s',
 *     load: { reads: 100, writes: 50 }, actions: [{ at: '5s', step: 'switchover' }] });
 *   assert.ok(r.downtimeMs.write! < 5000);
 */
export { analyze, analyzeDetailed } from './analyze/index.js';
export type { Summary, Outage, OpSummary, OutageOp } from './analyze/index.js';
export { parseThreshold, evaluateThresholds } from './analyze/thresholds.js';
export type { Threshold, ThresholdResult } from './analyze/thresholds.js';
export { renderReport, renderCompare, formatSummaryTable, formatCompareTable } from './report/index.js';
export { readResults, parseResults } from './results/reader.js';
export type * from './results/types.js';
export { runMeasurement } from './load/measurement.js';
export type { RunOptions, RunResult, RunAction, ActionContext } from './load/options.js';
export { startSandbox } from './sandbox/index.js';
export type { Sandbox, StartSandboxOptions, SwitchoverOptions, UpgradeOptions, Topology } from './sandbox/index.js';
export { connectSandbox } from './sandbox/index.js';
export { startServer, freePort } from './sandbox/index.js';
export type { MysqlServer, ServerOptions } from './sandbox/index.js';
export { startProxy } from './sandbox/index.js';
export { loadScenario, parseScenarioText, scenarioSchema } from './scenario/index.js';
export type { ParsedScenario } from './scenario/index.js';
export { DowntimeError, ExitCode } from './errors.js';
export { bufferIo, processIo, type Io } from './io.js';

export { measure } from './run/measure.js';
export type { FunctionAction, MeasureOptions, Measurement } from './run/measure.js';
