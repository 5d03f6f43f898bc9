import { DowntimeError, ExitCode } from '../errors.js';
import { readErrorWords } from '../util/errno.js';
import { PatientReader } from '../util/read-small.js';
import { RecordError, SecondChecker, checkEvent, checkHeader, checkLag, checkTrailer } from './validate.js';
import {
  OPS,
  RESULTS_FORMAT,
  MAX_RESULTS_VERSION,
  type EventRecord,
  type LagRecord,
  type Op,
  type ResultsFile,
  type ResultsHeader,
  type ResultsTrailer,
  type SecondRecord,
} from './types.js';

/** Bytes read at a time: the file is never one string (a long run's file can pass V8's ~512 MB string limit). */
const CHUNK_BYTES = 1 << 20;
/** A longer line is no results line (a second's runs at 10,000 probes/s alternating are ~200 KB). */
const MAX_LINE_BYTES = 64 << 20;

interface ReadOptions {
  /** Bytes per read (tests: chunk boundaries inside lines and characters). */
  chunkBytes?: number;
}

/**
 * Reads a results file, line by line in chunks (never the whole file as one string), checking every record it
 * keeps (src/results/validate.ts). Tolerates a truncated last line (a crash mid-write) and a UTF-8 byte order
 * mark; anything else wrong is an error, exit 5, naming the line and the field.
 */
export function readResults(path: string, options: ReadOptions = {}): ResultsFile {
  const chunkBytes = Math.max(1, options.chunkBytes ?? CHUNK_BYTES);
  let reader: PatientReader;
  try {
    // A FIFO (`report <(zcat run.ndjson.gz)`) is read as it comes, never waited on for ever.
    reader = new PatientReader(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const parser = new ResultsParser(path);
    const buf = Buffer.allocUnsafe(chunkBytes);
    /** The start of a line not ended yet (its bytes: a chunk may end inside a character). */
    let carry: Buffer[] = [];
    let carryBytes = 0;
    for (;;) {
      let n: number;
      try {
        n = reader.read(buf);
      } catch (err) {
        throw cannotRead(path, err);
      }
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        if (carryBytes + nl - start > MAX_LINE_BYTES) throw parser.lineTooLong();
        if (carryBytes > 0) {
          carry.push(chunk.subarray(start, nl));
          parser.line(Buffer.concat(carry).toString('utf8'), true);
          carry = [];
          carryBytes = 0;
        } else {
          parser.line(chunk.toString('utf8', start, nl), true);
        }
        start = nl + 1;
      }
      if (start < n) {
        carryBytes += n - start;
        if (carryBytes > MAX_LINE_BYTES) throw parser.lineTooLong();
        carry.push(Buffer.from(chunk.subarray(start))); // a copy: buf is read into again
      }
    }
    if (carryBytes > 0) parser.line(Buffer.concat(carry).toString('utf8'), false);
    return parser.finish();
  } finally {
    reader.close();
  }
}

/** A results file's text (tests, the library). The same checks as readResults. */
export function parseResults(text: string, path = '<results>'): ResultsFile {
  const parser = new ResultsParser(path);
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    parser.line(text.slice(start, nl), true);
    start = nl + 1;
  }
  if (start < text.length) parser.line(text.slice(start), false);
  return parser.finish();
}

function cannotRead(path: string, err: unknown): DowntimeError {
  return new DowntimeError(`cannot read results file ${path}: ${readErrorWords(err)}`, ExitCode.InputFile);
}

/** Takes a file's lines in order; `terminated`: the line ended with a newline (only the last one may not). */
class ResultsParser {
  private lineNo = 0;
  private header: ResultsHeader | null = null;
  private seconds: Record<Op, SecondRecord[]> = { read: [], write: [] };
  // Merged files: a source's own series (marked `source`) is kept apart from the merged stream.
  private sourceSeconds: Record<string, Record<Op, SecondRecord[]>> = {};
  private events: EventRecord[] = [];
  private lag: LagRecord[] = [];
  private trailer: ResultsTrailer | null = null;
  private truncated = false;
  private secondChecker: SecondChecker | null = null;

  constructor(private readonly path: string) {}

  line(raw: string, terminated: boolean): void {
    this.lineNo++;
    if (this.lineNo === 1) {
      if (raw.charCodeAt(0) === 0x1f && (raw.charCodeAt(1) === 0x8b || raw.charCodeAt(1) === 0xfffd))
        throw new DowntimeError(
          `${this.path} is gzip-compressed; decompress it first (gunzip ${this.path})`,
          ExitCode.InputFile,
        );
      // A byte order mark (an editor on Windows): not part of the JSON.
      if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    }
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      if (this.header === null) throw this.notResults('its first line is not JSON');
      if (!terminated) {
        this.truncated = true; // cut off by a crash: ignore it
        return;
      }
      throw new DowntimeError(
        `results file ${this.path} is corrupt at line ${this.lineNo}: not JSON; it cannot be read`,
        ExitCode.InputFile,
      );
    }
    try {
      if (this.header === null) this.readHeader(value);
      else this.record(value);
    } catch (err) {
      if (err instanceof RecordError)
        throw new DowntimeError(
          `results file ${this.path} is invalid at line ${this.lineNo}: ${err.message}; it cannot be read`,
          ExitCode.InputFile,
        );
      throw err;
    }
  }

  lineTooLong(): DowntimeError {
    if (this.header === null) return this.notResults(`no line break in its first ${MAX_LINE_BYTES >> 20} MB`);
    return new DowntimeError(
      `results file ${this.path} is corrupt at line ${this.lineNo + 1}: longer than ${MAX_LINE_BYTES >> 20} MB without a line break; it cannot be read`,
      ExitCode.InputFile,
    );
  }

  private readHeader(value: unknown): void {
    const h = value as Record<string, unknown> | null;
    if (typeof h !== 'object' || h === null || h.type !== 'header' || h.format !== RESULTS_FORMAT)
      throw this.notResults('its first line is not a downtime-results header');
    const v = h.version;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new DowntimeError(
        `results file ${this.path} is invalid at line ${this.lineNo}: header.version must be an integer from 1 to ${MAX_RESULTS_VERSION}, got ${v === undefined ? 'nothing' : JSON.stringify(v)} (not a valid results version); it cannot be read`,
        ExitCode.InputFile,
      );
    if (v > MAX_RESULTS_VERSION)
      throw new DowntimeError(
        `${this.path} was written by a newer downtime (results format version ${v}, this one reads up to ${MAX_RESULTS_VERSION}); upgrade downtime to read it`,
        ExitCode.InputFile,
      );
    this.header = checkHeader(h);
    this.secondChecker = new SecondChecker(this.header);
  }

  private record(value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new RecordError(`the line must be a JSON object, got ${JSON.stringify(value).slice(0, 40)}`);
    const line = value as Record<string, unknown>;
    switch (line.type) {
      case 'second': {
        const s = (this.secondChecker as SecondChecker).check(line);
        if (s === null) break; // an op this reader does not know
        if (typeof s.source === 'string') (this.sourceSeconds[s.source] ??= { read: [], write: [] })[s.op].push(s);
        else this.seconds[s.op].push(s);
        break;
      }
      case 'event':
        this.events.push(checkEvent(line));
        break;
      case 'lag':
        this.lag.push(checkLag(line));
        break;
      case 'trailer':
        this.trailer = checkTrailer(line);
        break;
      default:
        // Unknown line types from a compatible writer are skipped, not fatal (a second header, too).
        break;
    }
  }

  finish(): ResultsFile {
    const header = this.header;
    if (header === null) {
      throw new DowntimeError(
        `${this.path} is empty (not even a header line); pass a file written by \`downtime run\``,
        ExitCode.InputFile,
      );
    }
    const { seconds, sourceSeconds, events, trailer, truncated, path } = this;
    for (const op of OPS) seconds[op].sort((a, b) => a.sec - b.sec);
    for (const s of Object.values(sourceSeconds)) for (const op of OPS) s[op].sort((a, b) => a.sec - b.sec);
    events.sort((a, b) => a.atMs - b.atMs);
    const file: ResultsFile = { path, header, seconds, events, trailer, truncated, complete: trailer !== null };
    if (Object.keys(sourceSeconds).length > 0) file.sourceSeconds = sourceSeconds;
    if (this.lag.length > 0) file.lag = this.lag.sort((a, b) => a.sec - b.sec);
    return file;
  }

  private notResults(why: string): DowntimeError {
    return new DowntimeError(
      `${this.path} is not a downtime results file (${why}); pass a file written by \`downtime run\``,
      ExitCode.InputFile,
    );
  }
}
