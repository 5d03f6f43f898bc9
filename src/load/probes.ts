import { identityKey, type Identity } from '../results/types.js';
import { DowntimeError, ExitCode } from '../errors.js';

/**
 * The probe SQL. Placeholders `:run_id`, `:seq`, `:intended_ms` are replaced by bound parameters, so
 * user-supplied --read-sql / --write-sql get the same values the defaults do.
 */
const PLACEHOLDERS = ['run_id', 'seq', 'intended_ms'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

export function defaultWriteSql(table: string): string {
  return `INSERT INTO \`${table}\` (run_id, seq, intended_ms) VALUES (:run_id, :seq, :intended_ms)`;
}

/**
 * The read both proves the table is readable (primary-key lookup of a row this run wrote) and tells
 * which server answered, in one round trip.
 */
export function defaultReadSql(table: string): string {
  return (
    'SELECT @@server_id AS server_id, @@hostname AS hostname, @@version AS version, @@read_only AS read_only, ' +
    `(SELECT seq FROM \`${table}\` WHERE run_id = :run_id AND seq = :seq) AS seq`
  );
}

export function createTableSql(table: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS \`${table}\` (` +
    'run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, intended_ms BIGINT NOT NULL, ' +
    'written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), ' +
    'PRIMARY KEY (run_id, seq)) ENGINE=InnoDB'
  );
}

/** The columns the harness relies on, and the data types it accepts for each. */
export const REQUIRED_COLUMNS: Record<string, RegExp> = {
  run_id: /^(char|varchar)$/i,
  seq: /^(bigint|int)$/i,
  intended_ms: /^bigint$/i,
};

export interface CompiledSql {
  sql: string;
  /** The placeholder name for each `?`, in order. */
  params: Placeholder[];
}

/** Turns `:name` placeholders into `?` (outside quotes), refusing unknown names. */
export function compileSql(text: string, flag: string): CompiledSql {
  const params: Placeholder[] = [];
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== null) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      out += c;
      continue;
    }
    if (c === ':' && /[A-Za-z_]/.test(text[i + 1] ?? '') && text[i - 1] !== ':') {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
      const name = m?.[0] ?? '';
      if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
        throw new DowntimeError(
          `${flag} uses unknown placeholder :${name}; available: ${PLACEHOLDERS.map((p) => ':' + p).join(', ')}`,
          ExitCode.Usage,
        );
      }
      params.push(name as Placeholder);
      out += '?';
      i += name.length;
      continue;
    }
    out += c;
  }
  if (quote !== null) throw new DowntimeError(`${flag} has an unclosed ${quote} quote`, ExitCode.Usage);
  if (out.trim() === '') throw new DowntimeError(`${flag} is empty; give a SQL statement`, ExitCode.Usage);
  return { sql: out, params };
}

/** The values of a probe's `?`s, in order (it runs for every probe: no record of them is made). */
export function bindParams(compiled: CompiledSql, runId: string, seq: number, intendedMs: number): (string | number)[] {
  const { params } = compiled;
  const values = new Array<string | number>(params.length);
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    values[i] = p === 'run_id' ? runId : p === 'seq' ? seq : intendedMs;
  }
  return values;
}

/** Identity of the answering server, from a read probe's first row (when its SQL returns those columns). */
export type { Identity };

/** An identity with its key (results/types.ts identityKey). */
export interface KeyedIdentity {
  identity: Identity;
  key: string;
}

/**
 * Reads whom each read probe reached off its row. One server answers thousands of probes a second with the same
 * row: while the row's columns are the last row's, the last identity (and its key) is given again, not built.
 */
export class IdentityReader {
  private last: { row: unknown[]; keyed: KeyedIdentity } | null = null;

  read(row: Record<string, unknown> | undefined): KeyedIdentity | null {
    if (row === undefined) return null;
    const last = this.last;
    if (
      last !== null &&
      row.server_id === last.row[0] &&
      row.hostname === last.row[1] &&
      row.version === last.row[2] &&
      row.read_only === last.row[3]
    )
      return last.keyed;
    const identity = identityFromRow(row);
    if (identity === null) return null;
    const keyed = { identity, key: identityKey(identity) };
    this.last = { row: [row.server_id, row.hostname, row.version, row.read_only], keyed };
    return keyed;
  }
}

export function identityFromRow(row: Record<string, unknown> | undefined): Identity | null {
  if (row === undefined || !('server_id' in row || 'hostname' in row)) return null;
  const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const ro = row.read_only;
  return {
    serverId: num(row.server_id),
    hostname: str(row.hostname),
    version: str(row.version),
    readOnly: ro === null || ro === undefined ? null : Number(ro) === 1 || ro === true || ro === 'ON',
  };
}
