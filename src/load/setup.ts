import { connect, isIP, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import { classifyError } from './classify.js';
import { setupQuery } from './preflight.js';
import { REQUIRED_COLUMNS, createTableSql } from './probes.js';
import { streamFactory } from './resolve.js';
import type { Target } from './target.js';
import { securityOptions, type TlsConfig, type TlsReport } from './tls.js';
import { sleep } from '../util/sleep.js';

export interface ConnectOptions {
  target: Target;
  password: string | undefined;
  passwordSource: string;
  connectTimeoutMs: number;
  /** Resolve the target host through this DNS server (IP:PORT) instead of the system resolver. */
  dnsServer?: string | undefined;
  /** TLS (--ssl-mode, --ssl-ca); undefined: none. */
  tls?: TlsConfig | undefined;
  /** The newest password when it changes during the run (--password-command); else `password`. */
  passwordNow?: (() => string | undefined) | undefined;
}

/** Opens one connection for setup/verification; failures become one-line errors with exit codes. */
export async function connectOnce(opts: ConnectOptions): Promise<mysql.Connection> {
  try {
    return await rawConnect(opts);
  } catch (err) {
    throw connectError(err, opts);
  }
}

function rawConnect(opts: ConnectOptions): Promise<mysql.Connection> {
  const { target } = opts;
  if (opts.tls?.mode === 'verify-identity' && isIP(target.host) !== 0) {
    // mysql2 gives Node no server name for an IP address, and Node then checks the certificate against
    // "localhost": refused rather than reported as verified.
    return Promise.reject(
      new DowntimeError(
        `--ssl-mode verify-identity checks the host name in the server's certificate, but ${target.url} names an IP address (${target.host}); connect by the name the certificate carries, or use --ssl-mode verify-ca`,
        ExitCode.Usage,
      ),
    );
  }
  const open =
    streamFactory(target.host, target.port, opts.dnsServer, opts.connectTimeoutMs) ??
    ((): Socket => connect({ host: target.host, port: target.port }).setNoDelay(true));
  const stream = (): Socket => checkGreeting(open(), `${target.host}:${target.port}`);
  const password = opts.passwordNow?.() ?? opts.password;
  return mysql.createConnection({
    stream,
    host: target.host,
    port: target.port,
    user: target.user,
    password,
    database: target.database,
    connectTimeout: opts.connectTimeoutMs,
    supportBigNumbers: true,
    ...securityOptions(opts.tls, password),
  });
}

/**
 * A server that speaks first, but not MySQL (SSH, SMTP, a TLS-only port…), is named at once rather than after
 * the whole connect timeout: the first bytes must be a MySQL packet with sequence 0 holding a handshake
 * (protocol 10) or an error (0xff, e.g. too many connections). Fewer than 5 bytes are not judged.
 */
export function looksLikeMysqlGreeting(first: Buffer): boolean {
  if (first.length < 5) return true;
  const length = first[0]! | (first[1]! << 8) | (first[2]! << 16);
  return length > 0 && length < 1 << 16 && first[3] === 0 && (first[4] === 0x0a || first[4] === 0xff);
}

function checkGreeting(socket: Socket, where: string): Socket {
  socket.once('data', (chunk: Buffer) => {
    if (looksLikeMysqlGreeting(chunk)) return;
    const text = chunk.subarray(0, 40).toString('latin1');
    const shown = /^[\x20-\x7e\r\n\t]+$/.test(text) ? ` ("${text.trim()}")` : '';
    socket.destroy(
      new DowntimeError(
        `${where} is not a MySQL server: it greeted with something else${shown}; check the host and port of --target`,
        ExitCode.Unreachable,
      ),
    );
  });
  return socket;
}

/**
 * The run's first connection. It settles `preferred`: if the server does not offer TLS (no SSL flag in
 * its handshake, mysql2's HANDSHAKE_NO_SSL_SUPPORT), the run goes unencrypted and says so; otherwise
 * every connection of the run uses TLS. Reports what was negotiated (Ssl_version, Ssl_cipher).
 */
export async function connectForSetup(
  opts: ConnectOptions,
): Promise<{ conn: mysql.Connection; tls: TlsConfig | undefined; report: TlsReport | undefined }> {
  let tls = opts.tls;
  let note: string | undefined;
  let conn: mysql.Connection;
  try {
    conn = await rawConnect(opts);
  } catch (err) {
    const noTls = (err as { code?: unknown }).code === 'HANDSHAKE_NO_SSL_SUPPORT';
    if (!(tls?.mode === 'preferred' && noTls)) throw connectError(err, opts);
    tls = { ...tls, encrypt: false };
    note = 'the server does not offer TLS: the run is not encrypted';
    conn = await connectOnce({ ...opts, tls });
  }
  if (tls === undefined) return { conn, tls, report: undefined };
  const report: TlsReport = {
    mode: tls.mode,
    encrypted: tls.encrypt,
    ...(tls.caFile !== undefined ? { caFile: tls.caFile } : {}),
    ...(note !== undefined ? { note } : {}),
  };
  if (tls.encrypt) {
    try {
      const [rows] = await conn.query("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')");
      for (const r of rows as { Variable_name: string; Value: string }[]) {
        if (r.Variable_name === 'Ssl_version' && r.Value !== '') report.version = r.Value;
        if (r.Variable_name === 'Ssl_cipher' && r.Value !== '') report.cipher = r.Value;
      }
    } catch {
      // informative only
    }
  }
  return { conn, tls, report };
}

/** Turns a connect failure into a DowntimeError. Never includes the password. */
function connectError(err: unknown, opts: ConnectOptions): DowntimeError {
  if (err instanceof DowntimeError) return err;
  const { target } = opts;
  const where = `${target.host}:${target.port}`;
  const cls = classifyError(err);
  const code = (err as { code?: string }).code;
  switch (cls) {
    case 'tls':
      return tlsSetupError(err, opts);
    case 'access-denied':
      if (code === 'ER_DBACCESS_DENIED_ERROR') {
        return new DowntimeError(
          `user ${target.user} may not use database ${target.database} on ${where}; grant it or fix --target`,
          ExitCode.AccessDenied,
        );
      }
      return new DowntimeError(
        opts.passwordSource === 'none'
          ? `${where} refused user ${target.user} without a password (none was given); give it with MYSQL_PWD, --password-file or --password-command`
          : `${where} refused the credentials of user ${target.user} (password from ${opts.passwordSource}); check the user and password`,
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

/** A TLS failure at setup: names the mode and the fix. */
function tlsSetupError(err: unknown, opts: ConnectOptions): DowntimeError {
  const where = `${opts.target.host}:${opts.target.port}`;
  const mode = opts.tls?.mode ?? 'disabled';
  const code = (err as { code?: string }).code;
  const msg = oneLine(String((err as Error).message ?? err));
  let fix: string;
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    fix = `${where} does not offer TLS; enable TLS on the server, or use --ssl-mode preferred or disabled`;
  } else if (code === 'CLEAR_PASSWORD_WITHOUT_TLS') {
    fix = `${where} asks for the password in clear text (mysql_clear_password, e.g. RDS IAM); use --ssl-mode required or stronger`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /altname|does not match|Hostname\/IP/i.test(msg)) {
    fix = `the certificate of ${where} does not carry the name ${opts.target.host} (${msg}); connect by a name the certificate carries, or use --ssl-mode verify-ca`;
  } else if (/self[- ]signed|issuer|verify|certificate/i.test(msg)) {
    fix = `the certificate of ${where} is not signed by a trusted CA (${msg}); pass its CA bundle with --ssl-ca FILE${opts.tls?.caFile !== undefined ? ` (not ${opts.tls.caFile})` : ''}, or use --ssl-mode required to encrypt without verifying`;
  } else {
    fix = `TLS with ${where} failed (${msg}); check the server's TLS setup, or use another --ssl-mode`;
  }
  return new DowntimeError(`--ssl-mode ${mode}: ${fix}`, ExitCode.Unreachable);
}

/**
 * Creates the harness's table if missing, and refuses to use one of another shape: the harness writes
 * only to its own table.
 */
export async function ensureProbeTable(conn: mysql.Connection, table: string, database: string): Promise<void> {
  // A metadata lock on the table (an ALTER, a FLUSH TABLES WITH READ LOCK) must not hold the start forever.
  await setupQuery(
    conn,
    'SET SESSION lock_wait_timeout = 10, SESSION innodb_lock_wait_timeout = 10',
    [],
    'setting lock timeouts',
  );
  let columns = await tableColumns(conn, table, database);
  if (columns.size === 0) {
    try {
      await setupQuery(conn, createTableSql(table), [], `creating table ${database}.${table}`);
    } catch (err) {
      if (err instanceof DowntimeError) throw err;
      if (classifyError(err) === 'read-only') {
        // A replica (green watched directly): the table comes from its source, created there by this run's other
        // endpoint or an earlier run; it may still be on its way.
        columns = await replicatedColumns(conn, table, database);
        if (columns.size > 0) return checkShape(conn, table, database, columns);
        throw new DowntimeError(
          `table ${database}.${table} does not exist and ${database} is read-only here (a replica?): create it on the source (a run against the source does) and run again`,
          ExitCode.Schema,
        );
      }
      throw new DowntimeError(
        `cannot create table ${database}.${table}: ${oneLine((err as Error).message)}; grant CREATE on ${database} or create the table (see docs/results-format.md)`,
        ExitCode.Schema,
      );
    }
    columns = await tableColumns(conn, table, database);
  }
  await checkShape(conn, table, database, columns);
}

/** How long a read-only replica's missing probe table is waited for (replication of its source's CREATE). */
const REPLICATED_TABLE_WAIT_MS = 10_000;

async function replicatedColumns(
  conn: mysql.Connection,
  table: string,
  database: string,
): Promise<Awaited<ReturnType<typeof tableColumns>>> {
  const deadline = Date.now() + REPLICATED_TABLE_WAIT_MS;
  for (;;) {
    const columns = await tableColumns(conn, table, database);
    if (columns.size > 0 || Date.now() > deadline) return columns;
    await sleep(200);
  }
}

/** Refuses a table the harness did not make: wrong columns, a key other than (run_id, seq), unfillable columns. */
async function checkShape(
  conn: mysql.Connection,
  table: string,
  database: string,
  columns: Awaited<ReturnType<typeof tableColumns>>,
): Promise<void> {
  const wrong: string[] = [];
  for (const [name, type] of Object.entries(REQUIRED_COLUMNS)) {
    const have = columns.get(name)?.type;
    if (have === undefined) wrong.push(`no column ${name}`);
    else if (!type.test(have)) wrong.push(`column ${name} is ${have}`);
  }
  if (wrong.length === 0) wrong.push(...(await keyProblems(conn, table, database)));
  for (const [name, c] of columns) {
    // A column the harness's INSERT (run_id, seq, intended_ms) leaves out must fill itself.
    if (name in REQUIRED_COLUMNS || c.nullable || c.hasDefault || c.fillsItself) continue;
    wrong.push(`column ${name} is NOT NULL without a default, so the harness's rows cannot be inserted`);
  }
  if (wrong.length > 0) {
    throw new DowntimeError(
      `table ${database}.${table} exists with another shape (${wrong.join(', ')}); it is not the harness's table: choose another --table`,
      ExitCode.Schema,
    );
  }
}

interface ColumnShape {
  type: string;
  nullable: boolean;
  hasDefault: boolean;
  /** AUTO_INCREMENT or generated: filled by the server. */
  fillsItself: boolean;
}

async function tableColumns(
  conn: mysql.Connection,
  table: string,
  database: string,
): Promise<Map<string, ColumnShape>> {
  const rows = (await setupQuery(
    conn,
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS def, EXTRA AS extra ' +
      'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, table],
    `reading the columns of ${database}.${table}`,
  )) as { name: string; type: string; nullable: string; def: string | null; extra: string | null }[];
  return new Map(
    rows.map((r) => [
      r.name.toLowerCase(),
      {
        type: r.type,
        nullable: r.nullable === 'YES',
        hasDefault: r.def !== null,
        fillsItself: /auto_increment|generated|virtual|persistent|stored/i.test(r.extra ?? ''),
      },
    ]),
  );
}

/**
 * The harness's key is (run_id, seq): every unique key must hold both (a PRIMARY KEY (run_id) makes every write
 * after the first a duplicate, measured as write downtime), and one index must lead with them (each read looks
 * a row up by both).
 */
async function keyProblems(conn: mysql.Connection, table: string, database: string): Promise<string[]> {
  const rows = (await setupQuery(
    conn,
    'SELECT INDEX_NAME AS name, NON_UNIQUE AS nonUnique, COLUMN_NAME AS col FROM information_schema.STATISTICS ' +
      'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX',
    [database, table],
    `reading the keys of ${database}.${table}`,
  )) as { name: string; nonUnique: number | string; col: string }[];
  const indexes = new Map<string, { unique: boolean; cols: string[] }>();
  for (const r of rows) {
    const i = indexes.get(r.name) ?? { unique: Number(r.nonUnique) === 0, cols: [] };
    i.cols.push(r.col.toLowerCase());
    indexes.set(r.name, i);
  }
  const problems: string[] = [];
  for (const [name, i] of indexes) {
    if (i.unique && !(i.cols.includes('run_id') && i.cols.includes('seq'))) {
      const kind = name === 'PRIMARY' ? 'PRIMARY KEY' : `UNIQUE KEY ${name}`;
      problems.push(`${kind} (${i.cols.join(', ')}) would make the writes of a run collide`);
    }
  }
  const leads = [...indexes.values()].some(
    (i) => new Set(i.cols.slice(0, 2)).size === 2 && i.cols.slice(0, 2).every((c) => c === 'run_id' || c === 'seq'),
  );
  if (!leads) problems.push('no key on (run_id, seq)');
  return problems;
}

/** The row reads look up before this worker has seen any write acknowledged (seq -1). */
export async function insertSeedRow(
  conn: mysql.Connection,
  table: string,
  runId: string,
  atMs: number,
): Promise<boolean> {
  try {
    await setupQuery(
      conn,
      `INSERT INTO \`${table}\` (run_id, seq, intended_ms) VALUES (?, -1, ?)`,
      [runId, Math.round(atMs)],
      `writing the first row to ${table}`,
    );
    return true;
  } catch (err) {
    if (err instanceof DowntimeError) throw err;
    // A read-only target (a replica measured for reads) still gets read probes; they find no row.
    if (classifyError(err) === 'read-only') return false;
    const denied = classifyError(err) === 'ER_TABLEACCESS_DENIED_ERROR';
    throw new DowntimeError(
      `cannot write to ${'`'}${table}${'`'}: ${oneLine((err as Error).message)}; ${denied ? 'grant INSERT on it' : 'choose another --table'}`,
      ExitCode.Schema,
    );
  }
}
