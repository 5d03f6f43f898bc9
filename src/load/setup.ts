import mysql from 'mysql2/promise';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import { classifyError } from './classify.js';
import { REQUIRED_COLUMNS, createTableSql } from './probes.js';
import { streamFactory } from './resolve.js';
import type { Target } from './target.js';

export interface ConnectOptions {
  target: Target;
  password: string | undefined;
  passwordSource: string;
  connectTimeoutMs: number;
  /** Resolve the target host through this DNS server (IP:PORT) instead of the system resolver. */
  dnsServer?: string | undefined;
}

/** Opens one connection for setup/verification; failures become one-line errors with exit codes. */
export async function connectOnce(opts: ConnectOptions): Promise<mysql.Connection> {
  const { target } = opts;
  const stream = streamFactory(target.host, target.port, opts.dnsServer, opts.connectTimeoutMs);
  try {
    return await mysql.createConnection({
      ...(stream !== undefined ? { stream } : {}),
      host: target.host,
      port: target.port,
      user: target.user,
      password: opts.password,
      database: target.database,
      connectTimeout: opts.connectTimeoutMs,
      supportBigNumbers: true,
    });
  } catch (err) {
    throw connectError(err, opts);
  }
}

/** Turns a connect failure into a DowntimeError. Never includes the password. */
export function connectError(err: unknown, opts: ConnectOptions): DowntimeError {
  const { target } = opts;
  const where = `${target.host}:${target.port}`;
  const cls = classifyError(err);
  const code = (err as { code?: string }).code;
  switch (cls) {
    case 'access-denied':
      if (code === 'ER_DBACCESS_DENIED_ERROR') {
        return new DowntimeError(
          `user ${target.user} may not use database ${target.database} on ${where}; grant it or fix --target`,
          ExitCode.AccessDenied,
        );
      }
      return new DowntimeError(
        `${where} refused the credentials of user ${target.user} (password from ${opts.passwordSource}); check the user and password`,
        ExitCode.AccessDenied,
      );
    case 'refused':
      return new DowntimeError(
        `cannot connect to ${where}: connection refused; is the server running and the port right?`,
        ExitCode.Unreachable,
      );
    case 'dns':
      return new DowntimeError(
        opts.dnsServer !== undefined
          ? `cannot resolve host ${target.host} through DNS server ${opts.dnsServer} (${code ?? 'no answer'}); check the --target host name and --dns-server`
          : `cannot resolve host ${target.host}; check the --target host name`,
        ExitCode.Unreachable,
      );
    case 'timeout':
      return new DowntimeError(
        `no MySQL handshake from ${where} within ${opts.connectTimeoutMs} ms; is it a MySQL server, and reachable? (raise --connect-timeout if it is slow)`,
        ExitCode.Unreachable,
      );
    case 'reset':
    case 'lost-connection':
    case 'protocol':
      return new DowntimeError(
        `${where} closed the connection during the MySQL handshake (${cls}); is it a MySQL server?`,
        ExitCode.Unreachable,
      );
    case 'too-many-connections':
      return new DowntimeError(`${where} has too many connections (max_connections reached)`, ExitCode.Unreachable);
    default:
      if (code === 'ER_BAD_DB_ERROR') {
        return new DowntimeError(
          `database ${target.database} does not exist on ${where}; create it or fix --target`,
          ExitCode.Schema,
        );
      }
      return new DowntimeError(
        `cannot connect to ${where}: ${oneLine(String((err as Error).message ?? err))}`,
        ExitCode.Unreachable,
      );
  }
}

/**
 * Creates the harness's table if missing, and refuses to use one of another shape: the harness writes
 * only to its own table.
 */
export async function ensureProbeTable(conn: mysql.Connection, table: string, database: string): Promise<void> {
  let columns = await tableColumns(conn, table, database);
  if (columns.size === 0) {
    try {
      await conn.query(createTableSql(table));
    } catch (err) {
      throw new DowntimeError(
        `cannot create table ${database}.${table}: ${oneLine((err as Error).message)}; grant CREATE on ${database} or create the table (see docs/results-format.md)`,
        ExitCode.Schema,
      );
    }
    columns = await tableColumns(conn, table, database);
  }
  const wrong: string[] = [];
  for (const [name, type] of Object.entries(REQUIRED_COLUMNS)) {
    const have = columns.get(name);
    if (have === undefined) wrong.push(`no column ${name}`);
    else if (!type.test(have)) wrong.push(`column ${name} is ${have}`);
  }
  if (wrong.length > 0) {
    throw new DowntimeError(
      `table ${database}.${table} exists with another shape (${wrong.join(', ')}); it is not the harness's table: choose another --table`,
      ExitCode.Schema,
    );
  }
}

async function tableColumns(conn: mysql.Connection, table: string, database: string): Promise<Map<string, string>> {
  const [rows] = await conn.query(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, table],
  );
  return new Map((rows as { name: string; type: string }[]).map((r) => [r.name.toLowerCase(), r.type]));
}

/** The row reads look up before this worker has seen any write acknowledged (seq -1). */
export async function insertSeedRow(
  conn: mysql.Connection,
  table: string,
  runId: string,
  atMs: number,
): Promise<boolean> {
  try {
    await conn.query(`INSERT INTO \`${table}\` (run_id, seq, intended_ms) VALUES (?, -1, ?)`, [
      runId,
      Math.round(atMs),
    ]);
    return true;
  } catch (err) {
    // A read-only target (a replica measured for reads) still gets read probes; they find no row.
    if (classifyError(err) === 'read-only') return false;
    throw new DowntimeError(
      `cannot write to ${'`'}${table}${'`'}: ${oneLine((err as Error).message)}; grant INSERT on it`,
      ExitCode.Schema,
    );
  }
}
