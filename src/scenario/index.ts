/** Scenario files: parse (every problem at once), JSON Schema, outputs, password sources, redaction. */
export { ScenarioError, loadScenario, parseScenario, parseScenarioText, parseScenarioValue } from './parse.js';
export { durationText } from './rules.js';
export { scenarioSchema } from './schema.js';
export { scenarioOutputs } from './outputs.js';
export { resolveScenarioPassword, expandHome, type ResolvedPassword } from './password.js';
export { redactScenario, scrubSecrets, type RedactedScenario } from './redact.js';
export * from './types.js';
