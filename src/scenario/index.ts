/**
 * The scenario as the library and the commands load it: the parser (every problem at once), the JSON Schema and
 * the types. Its other parts (the rules and limits of each value, target URLs, outputs, password sources,
 * redaction) are imported from their own modules.
 */
export { loadScenario, parseScenario, parseScenarioText } from './parse.js';
export { scenarioSchema } from './schema.js';
export * from './types.js';
