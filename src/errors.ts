/**
 * Exit codes are a contract (docs/exit-codes.md): scripts and CI jobs branch on them.
 * Keep numbers stable; add new ones, never renumber.
 */
export enum ExitCode {
  Ok = 0,
  /** A bug in downtime: the message says so and asks for a report. */
  Internal = 1,
  /** Bad flags, arguments, URL or scenario file. */
  Usage = 2,
  /** The target could not be reached when the run started (refused, DNS, timeout, not MySQL). */
  Unreachable = 3,
  /** The target refused the credentials. */
  AccessDenied = 4,
  /** An input file (results file, password file, scenario) is missing, unreadable or not what it should be. */
  InputFile = 5,
  /** An output path cannot be written (missing or read-only directory, file exists). */
  Output = 6,
  /** The local sandbox could not be started or used (no server binary, port taken, crashed). */
  Sandbox = 7,
  /** The harness's table exists with another shape, or the target refused to create it. */
  Schema = 8,
  /** The run ended but one or more thresholds failed. */
  ThresholdsFailed = 99,
  /** Interrupted twice (second Ctrl-C): exited at once. */
  Interrupted = 130,
}

/**
 * An error meant for the user: one line, saying what is wrong and how to fix it.
 * The CLI prints `downtime: <message>` and exits with `exitCode`; never a stack trace.
 */
export class DowntimeError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.Usage) {
    super(message);
    this.name = 'DowntimeError';
    this.exitCode = exitCode;
  }
}

export function isDowntimeError(err: unknown): err is DowntimeError {
  return err instanceof DowntimeError;
}

/** Collapse any message to a single line (mysql2 and Node sometimes include newlines). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
