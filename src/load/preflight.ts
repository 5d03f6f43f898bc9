/**
 * Before the start, each probe statement runs once on the setup connection: a statement that cannot work (a
 * typo, an unknown table, two statements, a missing privilege) is refused now with what the server said,
 * instead of being measured as 100 % downtime. A custom write must leave the row (run_id, seq) in the harness's
 * table, or write verification would count every write lost.
 */
import type mysql from 'mysql2/promise';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Op } from '../results/types.js';
import { classifyError } from './classify.js';
import { bindParams, type CompiledSql } from './probes.js';

/** A statement of the setup that takes longer than this is given up on (a lock on the table, a hung server). */
const SETUP_QUERY_TIMEOUT_MS = 15_000;

/**
 * Classes that say the database is unavailable right now, not that the statement is wrong: a probe failing so
 * before the start is left to the run to measure.
 */
const AVAILABILITY_CLASSES = new Set([
  'refused',
  'reset',
  'lost-connection',
  'timeout',
  'dns',
  'unreachable',
  'too-many-connections',
  'server-shutdown',
  'connection-killed',
  'read-only',
  'tls',
  'protocol',
]);

/** Privilege errors ("grant …"); any other server error is the statement's. Both exit 8 (schema). */
const PRIVILEGE_CODES = new Set([
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_PROCACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
]);

export interface PreflightInput {
  table: string;
  runId: string;
  nowMs: number;
  ops: readonly Op[];
  sql: Record<Op, CompiledSql>;
  /** Which statements the user gave (--read-sql, --write-sql): named in messages; only a custom write is run. */
  custom: Record<Op, boolean>;
  /** Write verification will look up every acknowledged write: the custom write must leave its row. */
  verify: boolean;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function what(op: Op, custom: boolean): string {
  const flag = op === 'read' ? '--read-sql' : '--write-sql';
  return custom ? `${flag} (load.${op}Sql)` : `the built-in ${op} probe`;
}

/** Runs a setup statement with a bound; a timeout says which statement and why it may have waited. */
export async function setupQuery(
  conn: mysql.Connection,
  sql: string,
  values: unknown[],
  doing: string,
): Promise<unknown> {
  try {
    const [rows] = await conn.query({ sql, values, timeout: SETUP_QUERY_TIMEOUT_MS });
    return rows;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
      throw new DowntimeError(
        `${doing}: no answer within ${SETUP_QUERY_TIMEOUT_MS / 1000} s before the start (a lock on the table, or a hung server?); nothing was measured`,
        ExitCode.Unreachable,
      );
    }
    throw err;
  }
}

/** Removes the run's rows from its table (a run refused before the start); a failure here is not reported. */
export async function removeRunRows(conn: mysql.Connection, table: string, runId: string): Promise<void> {
  await setupQuery(conn, `DELETE FROM \`${table}\` WHERE run_id = ?`, [runId], 'removing the run rows').catch(
    () => undefined,
  );
}

function refusal(err: unknown, name: string, table: string): DowntimeError | null {
  const cls = classifyError(err);
  if (AVAILABILITY_CLASSES.has(cls)) return null;
  const message = oneLine((err as Error).message ?? String(err));
  const code = (err as { code?: unknown }).code;
  if (cls === 'access-denied' || (typeof code === 'string' && PRIVILEGE_CODES.has(code))) {
    return new DowntimeError(
      `${name} cannot work: ${message}; grant what it needs (SELECT and INSERT on ${table}) and run again`,
      ExitCode.Schema,
    );
  }
  return new DowntimeError(
    `${name} cannot work: ${message}; fix the statement (it runs as given, with :run_id, :seq and :intended_ms bound)`,
    ExitCode.Schema,
  );
}

/**
 * Runs each probe once (the read with the seed row's seq -1, a custom write with seq -2) and checks a custom
 * write's row is found. Throws a one-line DowntimeError for a statement that cannot work; a failure that only
 * says the database is unavailable (read-only, lost connection, …) is left to the run. The caller removes the
 * run's rows when it throws (removeRunRows).
 */
export async function checkProbeStatements(conn: mysql.Connection, p: PreflightInput): Promise<void> {
  for (const op of p.ops) {
    if (op === 'write' && !p.custom.write) continue; // the seed row's INSERT was the built-in write
    const name = what(op, p.custom[op]);
    // A custom write is tried in a transaction that is rolled back: a refused run leaves nothing in the tables it
    // writes (that are transactional).
    if (op === 'write') await setupQuery(conn, 'START TRANSACTION', [], `${name} before the start`);
    try {
      await tryOnce(conn, p, op, name);
    } finally {
      if (op === 'write') await setupQuery(conn, 'ROLLBACK', [], `${name} before the start`).catch(() => undefined);
    }
  }
}

/** The read with the seed row's seq -1, a custom write with seq -2 (and its row looked up). */
async function tryOnce(conn: mysql.Connection, p: PreflightInput, op: Op, name: string): Promise<void> {
  const seq = op === 'read' ? -1 : -2;
  const compiled = p.sql[op];
  const values = bindParams(compiled, p.runId, seq, Math.round(p.nowMs));
  try {
    await setupQuery(conn, compiled.sql, values, `${name} before the start`);
  } catch (err) {
    if (err instanceof DowntimeError) throw err;
    const refused = refusal(err, name, p.table);
    if (refused !== null) throw refused;
    return;
  }
  if (op !== 'write' || !p.verify) return;
  const rows = (await setupQuery(
    conn,
    `SELECT COUNT(*) AS n FROM \`${p.table}\` WHERE run_id = ? AND seq = ?`,
    [p.runId, seq],
    'checking the write probe left its row',
  )) as { n: number | string }[];
  if (Number(rows[0]?.n ?? 0) === 0) {
    throw new DowntimeError(
      `${name} did not leave the row (run_id, seq) = (:run_id, :seq) in ${p.table}: write verification would count every write lost; make it insert them, or pass --no-verify`,
      ExitCode.Schema,
    );
  }
}
