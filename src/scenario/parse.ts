/**
 * Scenario files: untrusted YAML/JSON in, a fully typed ParsedScenario out ("parse, don't validate").
 *
 * Every problem is collected, with its path (`load.reads`, `actions[1].at`), and reported at once in
 * one DowntimeError, so a user fixes a file in one round instead of one error per run. Unknown keys are
 * errors everywhere (a misspelt `duraton:` silently ignored would run the wrong experiment).
 * Values that might be secrets (anything under `password:`, a malformed `target:`) are never echoed.
 */
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import { readErrorWords } from '../util/errno.js';
import { NAME_PATTERN, TOP_KEYS } from './shape.js';
import { SCENARIO_LIMITS, type ParseScenarioOptions, type ParsedScenario } from './types.js';
import { parseActions, type Declared } from './parse/actions.js';
import { parseDb } from './parse/db.js';
import { parseLoad } from './parse/load.js';
import { parseTargets } from './parse/targets.js';
import { close, has, open, Problems, readDuration, readString } from './parse/read.js';
import { parseReport, parseThresholds } from './parse/report.js';
import { readSmallText } from '../util/read-small.js';

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
    text = readSmallText(path);
  } catch (err) {
    if (err instanceof DowntimeError) throw err;
    // A directory was refused above, so EISDIR does not reach here.
    throw new DowntimeError(
      `cannot read scenario ${path}: ${readErrorWords(err)}; check the path (ready-made ones are in scenarios/)`,
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
  const targets = has(o, 'targets') ? parseTargets(p, o.value.targets, db?.kind) : undefined;
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
    ...(targets !== undefined ? { targets } : {}),
    durationMs,
    load,
    actions,
    thresholds,
    report,
    out,
  };
}
