import { ExitCode, isDowntimeError, oneLine } from '../errors.js';
import type { Io } from '../io.js';
import { intendedMs, type EventInput, type OpSchedule, type WriteVerification } from '../results/types.js';
import type { RunOptions } from './options.js';
import { connectOnce } from './setup.js';
import { sleep } from '../util/sleep.js';
import { WriteLedger, boundLockWaits, deleteRunRows, presentSeqs } from './verify.js';

/** What verification found: the comparison, or why there is none. */
export interface Verified {
  writes?: WriteVerification;
  error?: string;
}

/**
 * Looks up every write of the run on the (final) endpoint: acknowledged but missing rows are lost writes. A
 * failure here is a warning in the file and `verifyError` in the trailer (lost writes are then unknown, and
 * the default lost_writes==0 threshold fails saying so): the measurement itself stands.
 */
export async function verifyWrites(
  opts: RunOptions,
  runId: string,
  ledger: WriteLedger,
  schedule: OpSchedule,
  event: (e: EventInput) => void,
  io: Io,
): Promise<Verified> {
  let conn: Awaited<ReturnType<typeof connectOnce>> | undefined;
  try {
    conn = await connectAfterRun(opts);
    await boundLockWaits(conn);
    const present = await presentSeqs(conn, opts.table, runId);
    const result = ledger.compare(present, (seq) => Math.floor(intendedMs(schedule, seq) / 1000));
    const verification: WriteVerification = { ...result, checkedAt: opts.target.url };
    event({ atMs: io.now(), kind: 'note', name: 'writes-verified', detail: { ...verification } });
    if (result.lost > 0) {
      io.stderr(`downtime: ${result.lost} acknowledged write(s) are missing on ${opts.target.url}: lost writes\n`);
    }
    return { writes: verification };
  } catch (err) {
    const message = oneLine(err instanceof Error ? err.message : String(err));
    event({ atMs: io.now(), kind: 'warning', name: 'verify-failed', detail: { message } });
    io.stderr(`downtime: warning: could not verify writes: ${message}\n`);
    return { error: message };
  } finally {
    conn?.destroy();
  }
}

/** Deletes the run's rows; a failure (no DELETE grant, the server gone) is a warning: the rows stay. */
export async function cleanUp(opts: RunOptions, runId: string, event: (e: EventInput) => void, io: Io): Promise<void> {
  let conn: Awaited<ReturnType<typeof connectOnce>> | undefined;
  try {
    conn = await connectAfterRun(opts);
    await boundLockWaits(conn);
    await deleteRunRows(conn, opts.table, runId);
  } catch (err) {
    const message = oneLine(err instanceof Error ? err.message : String(err));
    event({ atMs: io.now(), kind: 'warning', name: 'cleanup-failed', detail: { message } });
    io.stderr(`downtime: warning: could not delete the run's rows from ${opts.table} (run_id ${runId}): ${message}\n`);
  } finally {
    conn?.destroy();
  }
}

/** How long verification and clean-up keep trying to reach an endpoint that is down when the run ends. */
const AFTER_RUN_CONNECT_MS = 10_000;

/**
 * A connection for verification or clean-up. The endpoint may be down for a moment when the run ends (a
 * restart the run watched, a switchover finishing): connecting is retried for up to 10 s while it is
 * unreachable, so a brief outage does not leave the writes unverified. Other errors (credentials) are final.
 */
async function connectAfterRun(opts: RunOptions): Promise<Awaited<ReturnType<typeof connectOnce>>> {
  const until = Date.now() + AFTER_RUN_CONNECT_MS;
  for (;;) {
    try {
      return await connectOnce(opts);
    } catch (err) {
      const unreachable = isDowntimeError(err) && err.exitCode === ExitCode.Unreachable;
      if (!unreachable || Date.now() >= until) throw err;
      await sleep(250);
    }
  }
}
