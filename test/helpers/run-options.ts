import type { RunOptions } from '../../src/load/options.js';
import type { Target } from '../../src/load/target.js';

/** A target as a parsed URL gives it: host, port, user, database, and the URL without a password. */
export function targetAt(host: string, port: number, user: string, database: string): Target {
  return { host, port, user, database, url: `mysql://${user}@${host}:${port}/${database}` };
}

/**
 * The options of one in-process measurement in a test: one worker, the timeout for connecting too, a roomy
 * in-flight limit, the default probe table, no progress lines, no overwriting; labelled with its results
 * file. `o` names what the test is about and overrides any of these.
 */
export function testRunOptions(
  o: Pick<RunOptions, 'target' | 'password' | 'rates' | 'durationMs' | 'connection' | 'timeoutMs' | 'out'> &
    Partial<RunOptions>,
): RunOptions {
  return {
    passwordSource: 'test',
    label: o.out,
    workers: 1,
    connectTimeoutMs: o.timeoutMs,
    maxInFlight: 512,
    table: 'downtime_probe',
    overwrite: false,
    progress: false,
    ...o,
  };
}
