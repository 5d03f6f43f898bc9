/**
 * The rules every input value of a run follows, whether it comes from a flag or a scenario file: one owner
 * for each limit and its wording.
 */
import { DowntimeError, ExitCode } from '../errors.js';
import { FLAG_IDENTIFIER_PATTERN } from './shape.js';

const FLAG_IDENTIFIER = new RegExp(FLAG_IDENTIFIER_PATTERN);

/** A validated SQL identifier for the harness's table (--table): no quoting games, no SQL. */
export function validateTableName(name: string): string {
  if (!FLAG_IDENTIFIER.test(name)) {
    throw new DowntimeError(
      `--table "${name}" is not a plain identifier; use letters, digits and _ (e.g. downtime_probe)`,
      ExitCode.Usage,
    );
  }
  return name;
}
