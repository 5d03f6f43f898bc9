/**
 * Scenario files: untrusted YAML/JSON in, a fully typed ParsedScenario out ("parse, don't validate").
 *
 * Every problem is collected, with its path (`load.reads`, `actions[1].at`), and reported at once in
 * one DowntimeError, so a user fixes a file in one round instead of one error per run. Unknown keys are
 * errors everywhere (a misspelt `duraton:` silently ignored would run the wrong experiment).
 * Values that might be secrets (anything under `password:`, a malformed `target:`) are never echoed.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import type { ConnectionModel } from '../results/types.js';
import { parseDuration } from '../util/duration.js';
import {
  CONNECTION_CHOICES,
  FAULT_STEP_KINDS,
  SANDBOX_KINDS,
  SCENARIO_DEFAULTS,
  SCENARIO_LIMITS,
  STEPS_NEEDING_REPLICA,
  STEP_NAMES,
  type CommandAction,
  type FaultStepKind,
  type LoadSpec,
  type ParseScenarioOptions,
  type ParsedScenario,
  type PasswordSource,
  type TlsSpec,
  type ReportSpec,
  type SandboxKind,
  type ScenarioAction,
  type ScenarioDb,
  type StepName,
  type StepSpec,
} from './types.js';

/** Patterns shared with the JSON Schema (./schema.ts), so the two cannot disagree. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const IDENTIFIER_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
/** load.dnsServer: an IPv4 address with an optional port (default 53), as --dns-server takes it. */
export const DNS_SERVER_PATTERN =
  '^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(:([1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5]))?$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?(ms|s|m|h))+\\s*$';
/** `<metric><op><value>`, syntax only: the threshold parser in src/analyze gives values their meaning. */
export const THRESHOLD_PATTERN = '^\\s*[A-Za-z_][A-Za-z0-9_.]*\\s*(<=|>=|==|!=|<|>)\\s*[^\\s<>=!]\\S*\\s*$';
const THRESHOLD_RE = new RegExp(THRESHOLD_PATTERN);

/** Top-level keys, in the order problems are reported (and documented). */
export const TOP_KEYS = [
  'name',
  'description',
  'sandbox',
  'target',
  'greenTarget',
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
  'dnsServer',
  'maxInFlight',
  'table',
  'readSql',
  'writeSql',
] as const;
export const ACTION_KEYS = ['at', 'name', 'run', 'timeout', 'step', 'with'] as const;
export const PASSWORD_KEYS = ['file', 'env', 'command', 'refresh'] as const;
export const TLS_KEYS = ['mode', 'ca'] as const;
export const SSL_MODE_VALUES = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const;
export const REPORT_KEYS = ['out', 'enabled'] as const;
export const STEP_OPTION_KEYS: Record<StepName, readonly string[]> = {
  'in-place-upgrade': ['offline'],
  switchover: ['maxLag', 'timeout', 'blockWrites', 'rename'],
  restart: [],
  kill: [],
  failover: [],
  fault: ['kind', 'duration', 'latency', 'jitter', 'bytesPerSec', 'drop'],
};

/** Beyond this many, the message says "and N more": one line must stay readable. */
const MAX_PROBLEMS_SHOWN = 20;
/** Scenario files are small; a big one is almost certainly the wrong file (a results file, a dump). */
const MAX_FILE_BYTES = 1024 * 1024;

/** The error for a bad scenario: one line for the user, and the problems one by one for tools and tests. */
export class ScenarioError extends DowntimeError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(formatProblems(source, problems), ExitCode.Usage);
    this.name = 'ScenarioError';
    this.problems = problems;
  }
}

function formatProblems(source: string, problems: readonly string[]): string {
  if (problems.length === 1) return `${source}: ${problems[0]}`;
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
  const more = problems.length - shown.length;
  return `${source}: ${problems.length} problems: ${shown.join('; ')}${more > 0 ? `; … and ${more} more` : ''}`;
}

/** Parses scenario text (YAML, or JSON, which is YAML too). Throws one ScenarioError listing every problem. */
export function parseScenario(text: string, options: ParseScenarioOptions): ParsedScenario {
  const value = parseYaml(text, options.source);
  return parseScenarioValue(value, options);
}

/** Shorthand for parseScenario(text, { source }). */
export function parseScenarioText(
  text: string,
  source: string,
  options: Omit<ParseScenarioOptions, 'source'> = {},
): ParsedScenario {
  return parseScenario(text, { ...options, source });
}

/**
 * Reads and parses a scenario file. A missing or unreadable file is ExitCode.InputFile; anything wrong
 * with its content is ExitCode.Usage.
 */
export function loadScenario(path: string, options: Omit<ParseScenarioOptions, 'source'> = {}): ParsedScenario {
  let text: string;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      throw new DowntimeError(`scenario ${path} is a directory; name a .yaml or .json file in it`, ExitCode.InputFile);
    }
    if (stat.size > MAX_FILE_BYTES) {
      throw new DowntimeError(
        `scenario ${path} is ${stat.size} bytes, too big for a scenario file (at most ${MAX_FILE_BYTES}); check the path`,
        ExitCode.InputFile,
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof DowntimeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new DowntimeError(
      `cannot read scenario ${path}: ${why}; check the path (ready-made ones are in scenarios/)`,
      ExitCode.InputFile,
    );
  }
  return parseScenario(text, { ...options, source: path });
}

function parseYaml(text: string, source: string): unknown {
  const kind = extname(source).toLowerCase() === '.json' ? 'JSON' : 'YAML';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = lineCounter.linePos(first.pos[0]);
    const what = first.code === 'DUPLICATE_KEY' ? 'a key appears twice in one mapping; keep one' : first.message;
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more ${kind} errors)` : '';
    throw new ScenarioError(`${source}:${pos.line}:${pos.col}`, [`invalid ${kind}: ${oneLine(what)}${more}`]);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases and alias bombs surface only when converting.
    throw new ScenarioError(source, [`invalid ${kind}: ${oneLine((err as Error).message)}`]);
  }
}

/**
 * Parses an already-decoded value (e.g. a scenario assembled from CLI flags) with the same rules as a file.
 */
export function parseScenarioValue(value: unknown, options: ParseScenarioOptions): ParsedScenario {
  const p = new Problems();
  const parsed = parseTop(value, p, options);
  if (p.list.length > 0) throw new ScenarioError(options.source, p.list);
  if (parsed === undefined) throw new Error('scenario parser refused a file without saying why');
  return parsed;
}

// ---------------------------------------------------------------------------------------------------------------
// The walk. Each reader returns the parsed value, or undefined when it is absent or wrong (a problem is recorded).

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    // One line, always: a quoted YAML value can hold a newline that a message repeats.
    this.list.push(oneLine(path === '' ? message : `${path}: ${message}`));
  }
}

type Mapping = Record<string, unknown>;

/** A mapping being read: its unknown keys are reported when it is closed, after its fields. */
interface Open {
  path: string;
  value: Mapping;
  /** Required keys an unknown key probably meant: "is required" would repeat the same mistake. */
  meant: Set<string>;
  unknown: string[];
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** How a bad value is shown in a message: short, one line, typed. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') {
    const s = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return JSON.stringify(s);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (isMapping(v)) return 'a mapping';
  return 'a value of another type';
}

function isMapping(v: unknown): v is Mapping {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function open(
  p: Problems,
  value: unknown,
  path: string,
  allowed: readonly string[],
  expected: string,
  noKeysHint = 'no keys are allowed here',
): Open | undefined {
  if (!isMapping(value)) {
    p.add(path, `must be ${expected} (got ${describeValue(value)})`);
    return undefined;
  }
  const o: Open = { path, value, meant: new Set(), unknown: [] };
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    const guess = suggest(key, allowed);
    if (guess !== undefined && !(guess in value)) o.meant.add(guess);
    o.unknown.push(
      guess !== undefined
        ? `unknown key ${JSON.stringify(key)} (did you mean ${JSON.stringify(guess)}?)`
        : allowed.length === 0
          ? `unknown key ${JSON.stringify(key)} (${noKeysHint})`
          : `unknown key ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`,
    );
  }
  return o;
}

function close(p: Problems, o: Open): void {
  for (const message of o.unknown) p.add(o.path, message);
}

function has(o: Open, key: string): boolean {
  return o.value[key] !== undefined;
}

function missing(p: Problems, o: Open, key: string, hint: string): void {
  if (!o.meant.has(key)) p.add(join(o.path, key), `is required; ${hint}`);
}

function readString(
  p: Problems,
  o: Open,
  key: string,
  opts: { required?: string; pattern?: string; patternText?: string; secret?: boolean } = {},
): string | undefined {
  const v = o.value[key];
  const path = join(o.path, key);
  if (v === undefined || v === null) {
    if (v === null) p.add(path, `must not be empty${opts.required ? `; ${opts.required}` : ''}`);
    else if (opts.required !== undefined) missing(p, o, key, opts.required);
    return undefined;
  }
  const got = opts.secret ? '' : ` (got ${describeValue(v)})`;
  if (typeof v !== 'string') {
    p.add(path, `must be a string${got}`);
    return undefined;
  }
  if (v.trim() === '') {
    p.add(path, 'must not be empty');
    return undefined;
  }
  if (opts.pattern !== undefined && !new RegExp(opts.pattern).test(v)) {
    p.add(path, `must be ${opts.patternText ?? `text matching ${opts.pattern}`}${got}`);
    return undefined;
  }
  return v;
}

function readNumber(
  p: Problems,
  o: Open,
  key: string,
  opts: { min: number; max: number; integer: boolean; unit?: string },
): number | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  const path = join(o.path, key);
  const wanted = opts.integer ? `a whole number from ${opts.min} to ${opts.max}` : `a number >= ${opts.min}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < opts.min || (opts.integer && !Number.isInteger(v))) {
    p.add(path, `must be ${wanted} (got ${describeValue(v)})`);
    return undefined;
  }
  if (v > opts.max) {
    p.add(path, `must be at most ${opts.max}${opts.unit ? ` ${opts.unit}` : ''} (got ${v})`);
    return undefined;
  }
  return v;
}

/**
 * A duration with a unit, within [minMs, maxMs]. YAML numbers (`at: 30`) are read as text so the message can
 * say which unit to add.
 */
function readDuration(
  p: Problems,
  o: Open,
  key: string,
  opts: { required?: string; minMs: number; maxMs?: number },
): number | undefined {
  const v = o.value[key];
  const path = join(o.path, key);
  if (v === undefined) {
    if (opts.required !== undefined) missing(p, o, key, opts.required);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') {
    p.add(path, `must be a duration such as 30s, 5m or 1m30s (got ${describeValue(v)})`);
    return undefined;
  }
  const r = parseDuration(String(v));
  if ('error' in r) {
    p.add(path, r.error);
    return undefined;
  }
  if (r.ms < opts.minMs) {
    p.add(path, `must be at least ${durationText(opts.minMs)} (got ${String(v).trim()})`);
    return undefined;
  }
  if (opts.maxMs !== undefined && r.ms > opts.maxMs) {
    p.add(path, `must be at most ${durationText(opts.maxMs)} (got ${String(v).trim()})`);
    return undefined;
  }
  return r.ms;
}

/** Formats ms the way a scenario file writes it: 2s, 1m, 7d is 168h, 1500ms. */
export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function readEnum<T extends string>(p: Problems, o: Open, key: string, values: readonly T[]): T | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
  const guess = typeof v === 'string' ? suggest(v, values) : undefined;
  const hint = guess !== undefined ? `; did you mean ${JSON.stringify(guess)}?` : '';
  p.add(join(o.path, key), `must be one of ${values.join(', ')} (got ${describeValue(v)}${hint})`);
  return undefined;
}

function readBoolean(p: Problems, o: Open, key: string): boolean | undefined {
  const v = o.value[key];
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  p.add(join(o.path, key), `must be true or false (got ${describeValue(v)})`);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------

function parseTop(value: unknown, p: Problems, options: ParseScenarioOptions): ParsedScenario | undefined {
  if (value === null || value === undefined) {
    p.add('', 'is empty; a scenario needs at least name:, duration: and target: or sandbox: (see docs/scenarios.md)');
    return undefined;
  }
  const o = open(p, value, '', TOP_KEYS, 'a mapping with name:, duration:, load:, … (see docs/scenarios.md)');
  if (o === undefined) return undefined;

  const name = readString(p, o, 'name', {
    required: 'add e.g. name: blue-green-rehearsal (the run label)',
    pattern: NAME_PATTERN,
    patternText: 'letters, digits, ".", "_" or "-", starting with a letter or digit, at most 64 characters',
  });
  const description = readString(p, o, 'description');
  const db = parseDb(p, o);
  const durationMs = readDuration(p, o, 'duration', {
    required: 'add e.g. duration: 2m',
    minMs: SCENARIO_LIMITS.minDurationMs,
    maxMs: SCENARIO_LIMITS.maxDurationMs,
  });
  const load = parseLoad(p, o.value.load);
  // What the file declares, even when its value is wrong: a step under a (bad) target: is still misplaced.
  const declared: Declared =
    has(o, 'sandbox') === has(o, 'target')
      ? undefined
      : has(o, 'target')
        ? { kind: 'target' }
        : { kind: 'sandbox', sandbox: db?.kind === 'sandbox' ? db.sandbox : undefined };
  const timing = durationMs === undefined ? undefined : { durationMs, text: String(o.value.duration).trim() };
  const actions = parseActions(p, o.value.actions, timing, declared);
  const thresholds = parseThresholds(p, o.value.thresholds, options);
  const report = parseReport(p, o.value.report);
  const out = readString(p, o, 'out');
  close(p, o);

  if (
    p.list.length > 0 ||
    name === undefined ||
    db === undefined ||
    durationMs === undefined ||
    load === undefined ||
    actions === undefined ||
    thresholds === undefined ||
    report === undefined
  ) {
    return undefined;
  }
  return {
    source: options.source,
    name,
    description,
    db,
    durationMs,
    load,
    actions,
    thresholds,
    report,
    out,
  };
}

/** sandbox: or target: (exactly one), and password: only with target:. */
function parseDb(p: Problems, o: Open): ScenarioDb | undefined {
  const hasSandbox = has(o, 'sandbox');
  const hasTarget = has(o, 'target');
  const sandbox = readEnum<SandboxKind>(p, o, 'sandbox', SANDBOX_KINDS);
  const url = hasTarget ? parseTargetUrl(p, o.value.target) : undefined;
  if (hasSandbox && hasTarget) {
    p.add('', 'set either sandbox: or target:, not both (sandbox: starts local servers; target: is an existing one)');
    return undefined;
  }
  if (!hasSandbox && !hasTarget) {
    if (!o.meant.has('sandbox') && !o.meant.has('target')) {
      p.add(
        '',
        'set target: mysql://USER@HOST:PORT/DATABASE, or sandbox: blue-green or single to rehearse on local servers',
      );
    }
    return undefined;
  }
  if (hasSandbox) {
    if (has(o, 'password')) p.add('password', 'only applies to target:; the sandbox needs no password');
    if (has(o, 'greenTarget')) {
      p.add('greenTarget', 'only applies to target:; a blue-green sandbox measures replication lag on its own green');
    }
    if (has(o, 'tls')) p.add('tls', 'only applies to target:; the sandbox servers offer no TLS');
    return sandbox === undefined ? undefined : { kind: 'sandbox', sandbox };
  }
  const password = has(o, 'password') ? parsePassword(p, o.value.password) : undefined;
  const green = has(o, 'greenTarget') ? parseTargetUrl(p, o.value.greenTarget, 'greenTarget') : undefined;
  if (has(o, 'greenTarget') && green === undefined) return undefined;
  const tls = has(o, 'tls') ? parseTls(p, o.value.tls) : undefined;
  if (url === undefined || (has(o, 'password') && password === undefined)) return undefined;
  if (has(o, 'tls') && tls === undefined) return undefined;
  return {
    kind: 'target',
    url,
    password,
    ...(green !== undefined ? { green } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
}

/** tls: {mode, ca}; a CA only with a mode that verifies (or no mode: then verify-ca). */
function parseTls(p: Problems, v: unknown): TlsSpec | undefined {
  const o = open(p, v, 'tls', TLS_KEYS, 'a mapping with mode: and/or ca:');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const mode = readEnum<NonNullable<TlsSpec['mode']>>(p, o, 'mode', SSL_MODE_VALUES);
  const ca = readString(p, o, 'ca');
  close(p, o);
  if (ca !== undefined && mode !== undefined && mode !== 'verify-ca' && mode !== 'verify-identity') {
    p.add('tls.ca', `is only used to verify the server (mode: verify-ca or verify-identity), not with mode: ${mode}`);
  }
  if (p.list.length > before) return undefined;
  return { ...(mode !== undefined ? { mode } : {}), ...(ca !== undefined ? { ca } : {}) };
}

/** mysql://USER@HOST[:PORT]/DATABASE with no password and no options. The text is not echoed: it may hold a secret. */
function parseTargetUrl(p: Problems, v: unknown, key = 'target'): string | undefined {
  const form = 'write mysql://USER@HOST:PORT/DATABASE';
  if (typeof v !== 'string') {
    p.add(key, `must be a URL string; ${form} (got ${describeValue(v)})`);
    return undefined;
  }
  const text = v.trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    p.add(key, `is not a URL; ${form}`);
    return undefined;
  }
  const problems: string[] = [];
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    problems.push(`must start with mysql:// (got ${u.protocol}//); ${form}`);
  } else {
    // An empty password (`user:@host`) counts too: the ':' shows a password was meant to go there.
    if (u.password !== '' || /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(text)) {
      problems.push(
        'must not contain a password (scenario files get shared and stored); remove it and use password: {file: PATH} or {env: VAR}',
      );
    }
    if (u.hostname === '') problems.push(`has no host; ${form}`);
    if (u.username === '') problems.push(`has no user; ${form}`);
    // Not decoded: a database name that needs %-escapes is not a plain identifier anyway.
    const database = u.pathname.replace(/^\//, '');
    if (database === '') problems.push(`names no database; ${form} (the harness creates its table there)`);
    else if (!new RegExp(IDENTIFIER_PATTERN).test(database)) {
      problems.push('database must be a plain identifier (letters, digits, _)');
    }
    if (u.search !== '' || u.hash !== '') {
      problems.push('takes no ?options or #fragment; set timeouts under load: instead');
    }
  }
  for (const message of problems) p.add(key, message);
  return problems.length === 0 ? text : undefined;
}

function parsePassword(p: Problems, v: unknown): PasswordSource | undefined {
  if (typeof v === 'string' || typeof v === 'number') {
    // Never echo it: it is probably the password itself.
    p.add(
      'password',
      'must not hold the password itself; write password: {file: PATH}, {env: VAR} or {command: CMD} instead',
    );
    return undefined;
  }
  const o = open(p, v, 'password', PASSWORD_KEYS, 'a mapping with one of file:, env: or command:');
  if (o === undefined) return undefined;
  const given = PASSWORD_KEYS.filter((k) => k !== 'refresh' && o.value[k] !== undefined);
  const file = readString(p, o, 'file', { secret: true });
  const env = readString(p, o, 'env', {
    secret: true,
    pattern: ENV_NAME_PATTERN,
    patternText: 'the name of an environment variable such as MYSQL_PWD (letters, digits, _)',
  });
  const command = readString(p, o, 'command', { secret: true });
  const refreshMs = readDuration(p, o, 'refresh', { minMs: 1000, maxMs: 24 * 3_600_000 });
  close(p, o);
  if (has(o, 'refresh') && o.value.command === undefined) {
    p.add('password.refresh', 'only applies to password.command (a token that expires)');
    return undefined;
  }
  if (given.length === 0 && o.unknown.length === 0) {
    p.add('password', 'needs one of file:, env: or command:');
    return undefined;
  }
  if (given.length > 1) {
    p.add('password', `has ${given.map((k) => `${k}:`).join(' and ')}; keep one`);
    return undefined;
  }
  if (file !== undefined) return { from: 'file', path: file };
  if (env !== undefined) return { from: 'env', name: env };
  if (command !== undefined) return { from: 'command', command, ...(refreshMs !== undefined ? { refreshMs } : {}) };
  return undefined;
}

function parseLoad(p: Problems, v: unknown): LoadSpec | undefined {
  const d = SCENARIO_DEFAULTS;
  if (v === undefined) v = {};
  const o = open(p, v, 'load', LOAD_KEYS, 'a mapping with reads:, writes:, … (or left out for the defaults)');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const rate = { min: 0, max: SCENARIO_LIMITS.maxRatePerSec, integer: false, unit: 'per second' };
  const reads = readNumber(p, o, 'reads', rate);
  const writes = readNumber(p, o, 'writes', rate);
  const workers = readNumber(p, o, 'workers', { min: 1, max: SCENARIO_LIMITS.maxWorkers, integer: true });
  const connection = readEnum(p, o, 'connection', CONNECTION_CHOICES);
  const connections = connection?.split(',') as ConnectionModel[] | undefined;
  const timeoutBounds = { minMs: SCENARIO_LIMITS.minTimeoutMs, maxMs: SCENARIO_LIMITS.maxTimeoutMs };
  const timeoutMs = readDuration(p, o, 'timeout', timeoutBounds);
  const connectTimeoutMs = readDuration(p, o, 'connectTimeout', timeoutBounds);
  const dnsServer = readString(p, o, 'dnsServer', {
    pattern: DNS_SERVER_PATTERN,
    patternText: 'an IPv4 address with an optional port, e.g. 127.0.0.1:5353',
  });
  const maxInFlight = readNumber(p, o, 'maxInFlight', { min: 1, max: SCENARIO_LIMITS.maxInFlight, integer: true });
  const table = readString(p, o, 'table', {
    pattern: IDENTIFIER_PATTERN,
    patternText: 'a plain identifier (letters, digits and _, not starting with a digit, at most 64)',
  });
  const readSql = readString(p, o, 'readSql');
  const writeSql = readString(p, o, 'writeSql');
  const readsPerSec = reads ?? d.readsPerSec;
  const writesPerSec = writes ?? d.writesPerSec;
  if (reads !== undefined && writes !== undefined && readsPerSec === 0 && writesPerSec === 0) {
    p.add('load', 'reads and writes are both 0; set at least one above 0');
  }
  close(p, o);
  if (p.list.length > before) return undefined;
  return {
    readsPerSec,
    writesPerSec,
    workers,
    connection: connections?.[0] ?? d.connection,
    connections: connections ?? [d.connection],
    timeoutMs: timeoutMs ?? d.timeoutMs,
    connectTimeoutMs: connectTimeoutMs ?? timeoutMs ?? d.timeoutMs,
    dnsServer: dnsServer === undefined ? undefined : dnsServer.includes(':') ? dnsServer : `${dnsServer}:53`,
    maxInFlight: maxInFlight ?? d.maxInFlight,
    table: table ?? d.table,
    readSql,
    writeSql,
  };
}

type Declared = { kind: 'target' } | { kind: 'sandbox'; sandbox: SandboxKind | undefined } | undefined;
type Timing = { durationMs: number; text: string } | undefined;

function parseActions(p: Problems, v: unknown, timing: Timing, declared: Declared): ScenarioAction[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('actions', `must be a list of actions, each with at: and run: or step: (got ${describeValue(v)})`);
    return undefined;
  }
  const before = p.list.length;
  const actions: ScenarioAction[] = [];
  v.forEach((item: unknown, index) => {
    const action = parseAction(p, item, index, timing, declared);
    if (action !== undefined) actions.push(action);
  });
  return p.list.length > before ? undefined : actions;
}

function parseAction(
  p: Problems,
  v: unknown,
  index: number,
  timing: Timing,
  declared: Declared,
): ScenarioAction | undefined {
  const path = `actions[${index}]`;
  const o = open(p, v, path, ACTION_KEYS, 'a mapping with at: and run: or step:');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const atMs = readDuration(p, o, 'at', {
    required: 'add e.g. at: 20s (the offset from the run start)',
    minMs: 0,
  });
  if (atMs !== undefined && timing !== undefined && atMs >= timing.durationMs) {
    p.add(
      join(path, 'at'),
      `must be before the end of the run (got ${String(o.value.at).trim()}; duration: ${timing.text}); start it earlier or run longer`,
    );
  }
  const name = readString(p, o, 'name');
  const hasRun = has(o, 'run');
  const hasStep = has(o, 'step');
  let result: CommandAction | { kind: 'step'; step: StepSpec } | undefined;
  if (hasRun && hasStep) {
    p.add(path, 'has both run: and step:; keep one (run: a shell command, step: a sandbox step)');
  } else if (!hasRun && !hasStep) {
    if (!o.meant.has('run') && !o.meant.has('step')) {
      p.add(path, 'needs run: (a shell command) or step: (a sandbox step)');
    }
  } else if (hasRun) {
    const command = readString(p, o, 'run');
    if (has(o, 'with')) p.add(join(path, 'with'), 'only applies to step: actions; put options in the command itself');
    const timeoutMs = readDuration(p, o, 'timeout', { minMs: 1 });
    if (command !== undefined) {
      result = { kind: 'run', index, atMs: 0, name: '', command, timeoutMs };
    }
  } else {
    if (has(o, 'timeout')) {
      p.add(
        join(path, 'timeout'),
        'only applies to run: actions; a step has its own limits (e.g. with: {timeout: 1m} for switchover)',
      );
    }
    const step = parseStep(p, o, declared);
    if (step !== undefined) result = { kind: 'step', step };
  }
  close(p, o);
  if (p.list.length > before || result === undefined || atMs === undefined) return undefined;
  if (result.kind === 'run') return { ...result, atMs, name: name ?? `action ${index + 1}` };
  return { kind: 'step', index, atMs, name: name ?? result.step.name, step: result.step };
}

function parseStep(p: Problems, o: Open, declared: Declared): StepSpec | undefined {
  const path = join(o.path, 'step');
  const v = o.value.step;
  if (typeof v !== 'string' || !(STEP_NAMES as readonly string[]).includes(v)) {
    const guess = typeof v === 'string' ? suggest(v, STEP_NAMES) : undefined;
    p.add(
      path,
      typeof v !== 'string'
        ? `must be a step name: ${STEP_NAMES.join(', ')} (got ${describeValue(v)})`
        : guess !== undefined
          ? `unknown step ${describeValue(v)} (did you mean ${JSON.stringify(guess)}?)`
          : `unknown step ${describeValue(v)}; steps: ${STEP_NAMES.join(', ')}`,
    );
    return undefined;
  }
  const name = v as StepName;
  // Only a definite target: (not a missing or misspelt sandbox:) makes this worth a separate problem.
  if (declared?.kind === 'target') {
    p.add(path, 'needs sandbox: (steps act on local sandbox servers); use run: for a command against target:');
  } else if (declared?.sandbox === 'single' && STEPS_NEEDING_REPLICA.includes(name)) {
    p.add(path, `${name} needs sandbox: blue-green (sandbox: single has no replica to switch to)`);
  }
  const withPath = join(o.path, 'with');
  const allowed = STEP_OPTION_KEYS[name];
  const w = o.value.with === undefined ? {} : o.value.with;
  const wo = open(
    p,
    w,
    withPath,
    allowed,
    allowed.length === 0 ? 'a mapping (empty)' : `a mapping with ${allowed.map((k) => `${k}:`).join(', ')}`,
    `${name} takes no options`,
  );
  if (wo === undefined) return undefined;
  const before = p.list.length;
  let step: StepSpec | undefined;
  const d = SCENARIO_DEFAULTS;
  switch (name) {
    case 'in-place-upgrade': {
      const offlineMs = readDuration(p, wo, 'offline', { minMs: 0 });
      step = { name, options: { offlineMs: offlineMs ?? d.inPlaceUpgradeOfflineMs } };
      break;
    }
    case 'switchover': {
      const maxLagMs = readDuration(p, wo, 'maxLag', { minMs: 0 });
      const timeoutMs = readDuration(p, wo, 'timeout', { minMs: 1 });
      const blockWritesMs = readDuration(p, wo, 'blockWrites', { minMs: 0 });
      const renameMs = readDuration(p, wo, 'rename', { minMs: 0 });
      step = {
        name,
        options: {
          maxLagMs: maxLagMs ?? d.switchoverMaxLagMs,
          timeoutMs: timeoutMs ?? d.switchoverTimeoutMs,
          blockWritesMs: blockWritesMs ?? 0,
          renameMs: renameMs ?? 0,
        },
      };
      break;
    }
    case 'restart':
    case 'kill':
    case 'failover':
      step = { name, options: {} };
      break;
    case 'fault':
      step = parseFaultStep(p, wo);
      break;
  }
  close(p, wo);
  return p.list.length > before ? undefined : step;
}

/** `step: fault` options; an option of another kind (e.g. latency: with kind: reset) is a problem, not ignored. */
function parseFaultStep(p: Problems, wo: Open): StepSpec | undefined {
  const kinds = FAULT_STEP_KINDS.join(', ');
  const kindText = readString(p, wo, 'kind', { required: `the fault: one of ${kinds}` });
  let kind: FaultStepKind | undefined;
  if (kindText !== undefined) {
    if ((FAULT_STEP_KINDS as readonly string[]).includes(kindText)) kind = kindText as FaultStepKind;
    else p.add(join(wo.path, 'kind'), `must be one of ${kinds} (got ${describeValue(kindText)})`);
  }
  const durationMs = readDuration(p, wo, 'duration', { required: 'how long the fault lasts, e.g. 2s', minMs: 1 });
  const latencyMs = readDuration(p, wo, 'latency', {
    minMs: 0,
    ...(kind === 'latency' ? { required: 'the delay added to each chunk, e.g. 500ms' } : {}),
  });
  const jitterMs = readDuration(p, wo, 'jitter', { minMs: 0 });
  const bytesPerSec = readNumber(p, wo, 'bytesPerSec', { min: 1, max: 1e12, integer: false });
  if (kind === 'bandwidth' && !has(wo, 'bytesPerSec')) missing(p, wo, 'bytesPerSec', 'the bandwidth, e.g. 10000');
  const drop = readString(p, wo, 'drop', { pattern: '^(toClient|toServer)$', patternText: 'toClient or toServer' });
  const onlyFor: [string, FaultStepKind][] = [
    ['latency', 'latency'],
    ['jitter', 'latency'],
    ['bytesPerSec', 'bandwidth'],
    ['drop', 'halfOpen'],
  ];
  for (const [key, only] of onlyFor) {
    if (kind !== undefined && kind !== only && has(wo, key)) p.add(join(wo.path, key), `only applies to kind: ${only}`);
  }
  if (jitterMs !== undefined && latencyMs !== undefined && jitterMs > latencyMs) {
    p.add(join(wo.path, 'jitter'), `must be at most latency (${durationText(latencyMs)})`);
  }
  if (kind === undefined || durationMs === undefined) return undefined;
  return {
    name: 'fault',
    options: { kind, durationMs, latencyMs, jitterMs, bytesPerSec, drop: drop as 'toClient' | 'toServer' | undefined },
  };
}

function parseThresholds(p: Problems, v: unknown, options: ParseScenarioOptions): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('thresholds', `must be a list such as [write_downtime<60s, lost_writes==0] (got ${describeValue(v)})`);
    return undefined;
  }
  const before = p.list.length;
  const out: string[] = [];
  v.forEach((item: unknown, i) => {
    const path = `thresholds[${i}]`;
    if (typeof item !== 'string') {
      p.add(path, `must be a string such as write_downtime<60s (got ${describeValue(item)})`);
      return;
    }
    if (!THRESHOLD_RE.test(item)) {
      p.add(
        path,
        `${describeValue(item)} is not <metric><op><value>; write e.g. write_downtime<60s (op: < <= > >= == !=)`,
      );
      return;
    }
    const text = item.trim();
    const error = options.validateThreshold?.(text);
    if (error !== undefined) {
      p.add(path, error);
      return;
    }
    out.push(text);
  });
  return p.list.length > before ? undefined : out;
}

function parseReport(p: Problems, v: unknown): ReportSpec | undefined {
  if (v === undefined) v = {};
  const o = open(p, v, 'report', REPORT_KEYS, 'a mapping with out: and enabled:');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const out = readString(p, o, 'out');
  const enabled = readBoolean(p, o, 'enabled');
  close(p, o);
  if (p.list.length > before) return undefined;
  return { out, enabled: enabled ?? SCENARIO_DEFAULTS.reportEnabled };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * The allowed word a misspelt one probably meant: same letters ignoring case, `-` and `_`, or within a small
 * edit distance (transpositions count as one edit, so "raeds" finds "reads").
 */
export function suggest(word: string, allowed: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  const w = norm(word);
  if (w === '') return undefined;
  const budget = w.length >= 5 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const dist = editDistance(w, norm(candidate));
    if (dist < bestDistance && dist <= budget) {
      best = candidate;
      bestDistance = dist;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [];
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        row.push(i + j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}
