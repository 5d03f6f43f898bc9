import { readFileSync } from 'node:fs';
import { DowntimeError, ExitCode } from '../errors.js';
import {
  OPS,
  RESULTS_FORMAT,
  MAX_RESULTS_VERSION,
  type EventRecord,
  type LagRecord,
  type Op,
  type ResultsFile,
  type ResultsHeader,
  type ResultsLine,
  type ResultsTrailer,
  type SecondRecord,
} from './types.js';

/** Reads a results file. Tolerates a truncated last line (a crash mid-write); anything else wrong is an error. */
export function readResults(path: string): ResultsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(err));
    throw new DowntimeError(`cannot read results file ${path}: ${why}`, ExitCode.InputFile);
  }
  return parseResults(text, path);
}

export function parseResults(text: string, path = '<results>'): ResultsFile {
  if (text.trim() === '') {
    throw new DowntimeError(
      `${path} is empty (not even a header line); pass a file written by \`downtime run\``,
      ExitCode.InputFile,
    );
  }
  const lines = text.split('\n');
  // A file written to the end finishes with '\n', leaving one empty string.
  const endsCleanly = lines[lines.length - 1] === '';
  if (endsCleanly) lines.pop();
  let truncated = false;
  const parsed: ResultsLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    try {
      parsed.push(JSON.parse(raw) as ResultsLine);
    } catch {
      const isLast = i === lines.length - 1;
      if (isLast && !endsCleanly && i > 0) {
        truncated = true; // cut off by a crash: ignore it
        continue;
      }
      if (i === 0) throw notResults(path);
      throw new DowntimeError(
        `results file ${path} is corrupt at line ${i + 1}: not JSON; it cannot be read`,
        ExitCode.InputFile,
      );
    }
  }
  const header = parsed[0];
  if (!isHeader(header)) throw notResults(path);
  if (typeof header.version !== 'number' || header.version > MAX_RESULTS_VERSION) {
    throw new DowntimeError(
      `${path} was written by a newer downtime (results format version ${String(header.version)}, this one reads up to ${MAX_RESULTS_VERSION}); upgrade downtime to read it`,
      ExitCode.InputFile,
    );
  }
  const seconds: Record<Op, SecondRecord[]> = { read: [], write: [] };
  // Merged files: a source's own series (marked `source`) is kept apart from the merged stream.
  const sourceSeconds: Record<string, Record<Op, SecondRecord[]>> = {};
  const events: EventRecord[] = [];
  const lag: LagRecord[] = [];
  let trailer: ResultsTrailer | null = null;
  for (let i = 1; i < parsed.length; i++) {
    const line = parsed[i] as ResultsLine | null;
    if (line === null || typeof line !== 'object') continue;
    switch (line.type) {
      case 'second':
        if (!(OPS as readonly string[]).includes(line.op)) break;
        if (typeof line.source === 'string')
          (sourceSeconds[line.source] ??= { read: [], write: [] })[line.op].push(line);
        else seconds[line.op].push(line);
        break;
      case 'event':
        events.push(line);
        break;
      case 'lag':
        if (typeof line.sec === 'number') lag.push(line);
        break;
      case 'trailer':
        trailer = line;
        break;
      default:
        // Unknown line types from a compatible writer are skipped, not fatal.
        break;
    }
  }
  for (const op of OPS) seconds[op].sort((a, b) => a.sec - b.sec);
  for (const s of Object.values(sourceSeconds)) for (const op of OPS) s[op].sort((a, b) => a.sec - b.sec);
  events.sort((a, b) => a.atMs - b.atMs);
  const file: ResultsFile = { path, header, seconds, events, trailer, truncated, complete: trailer !== null };
  if (Object.keys(sourceSeconds).length > 0) file.sourceSeconds = sourceSeconds;
  if (lag.length > 0) file.lag = lag.sort((a, b) => a.sec - b.sec);
  return file;
}

function isHeader(line: unknown): line is ResultsHeader {
  return (
    typeof line === 'object' &&
    line !== null &&
    (line as { type?: unknown }).type === 'header' &&
    (line as { format?: unknown }).format === RESULTS_FORMAT
  );
}

function notResults(path: string): DowntimeError {
  return new DowntimeError(
    `${path} is not a downtime results file (its first line is not a downtime-results header); pass a file written by \`downtime run\``,
    ExitCode.InputFile,
  );
}
