/**
 * The scenario's one source of truth, for files and flags alike: parse (every problem at once), the rules
 * and limits of each value, target URLs, JSON Schema, outputs, password sources, redaction.
 */
export { ScenarioError, loadScenario, parseScenario, parseScenarioText, parseScenarioValue } from './parse.js';
export {
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
  durationText,
  must,
  type Checked,
} from './rules.js';
export { parseTargetUrl, targetFromFlag } from './target-url.js';
export { scenarioSchema } from './schema.js';
export { reportDirFor, scenarioOutputs } from './outputs.js';
export {
  resolveCredentials,
  resolveScenarioPassword,
  expandHome,
  type Credentials,
  type ResolvedPassword,
} from './password.js';
export { redactScenario, scrubSecrets, type RedactedScenario } from './redact.js';
export * from './types.js';
