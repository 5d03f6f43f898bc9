/**
 * The scenario file's keys and value patterns, shared by the parser (./parse.ts) and the JSON Schema
 * (./schema.ts), so the two cannot disagree (test/scenario-schema.test.ts checks the rest).
 */
import { SCENARIO_LIMITS, type StepName } from './types.js';

/** MySQL's limit on the length of an identifier (a table or database name). */
const MAX_IDENTIFIER_LENGTH = 64;

/** Patterns shared with the JSON Schema (./schema.ts), so the two cannot disagree. */
export const NAME_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._-]{0,${SCENARIO_LIMITS.maxNameLength - 1}}$`;
export const IDENTIFIER_PATTERN = `^[A-Za-z_][A-Za-z0-9_]{0,${MAX_IDENTIFIER_LENGTH - 1}}$`;
/**
 * The same on the command line (--table, the database of --target): MySQL allows `$` in unquoted
 * identifiers, and the flags have always taken it; scenario files (and their JSON Schema) never have.
 */
export const FLAG_IDENTIFIER_PATTERN = `^[A-Za-z_][A-Za-z0-9_$]{0,${MAX_IDENTIFIER_LENGTH - 1}}$`;
/** load.dnsServer: an IPv4 address with an optional port (default 53), as --dns-server takes it. */
export const DNS_SERVER_PATTERN =
  '^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(:([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5]))?$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?(ms|s|m|h))+\\s*$';
/** `<metric><op><value>`, syntax only: the threshold parser in src/analyze gives values their meaning. */
export const THRESHOLD_PATTERN = '^\\s*[A-Za-z_][A-Za-z0-9_.]*\\s*(<=|>=|==|!=|<|>)\\s*[^\\s<>=!]\\S*\\s*$';

/** sandbox: as a mapping (topology and the server versions). */
export const SANDBOX_KEYS = ['topology', 'from', 'to'] as const;

/** Top-level keys, in the order problems are reported (and documented). */
export const TOP_KEYS = [
  'name',
  'description',
  'sandbox',
  'target',
  'greenTarget',
  'targets',
  'password',
  'tls',
  'duration',
  'load',
  'actions',
  'thresholds',
  'report',
  'out',
] as const;
export const LOAD_KEYS = [
  'reads',
  'writes',
  'workers',
  'connection',
  'timeout',
  'connectTimeout',
  'slow',
  'dnsServer',
  'maxInFlight',
  'table',
  'readSql',
  'writeSql',
] as const;
/** An item of targets: (several endpoints in one run). */
export const TARGETS_ITEM_KEYS = ['name', 'url', 'sandbox', 'reads', 'writes'] as const;
/** The sandbox's servers a targets: item may name. */
export const SANDBOX_SERVER_NAMES = ['endpoint', 'blue', 'green'] as const;
/** An endpoint's name (targets[].name, `--target NAME=…`): in file names and reports. */
export const ENDPOINT_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,31}$';
export const ACTION_KEYS = ['at', 'name', 'run', 'timeout', 'step', 'with'] as const;
export const PASSWORD_KEYS = ['file', 'env', 'command', 'refresh'] as const;
export const TLS_KEYS = ['mode', 'ca'] as const;
export const REPORT_KEYS = ['out', 'enabled'] as const;
/** Each step's `with:` keys (exactly the steps there are: `satisfies` says so). */
export const STEP_OPTION_KEYS = {
  'in-place-upgrade': ['offline'],
  switchover: ['maxLag', 'timeout', 'blockWrites', 'rename'],
  restart: [],
  kill: [],
  failover: [],
  fault: ['kind', 'duration', 'latency', 'jitter', 'bytesPerSec', 'drop'],
} as const satisfies Record<StepName, readonly string[]>;
