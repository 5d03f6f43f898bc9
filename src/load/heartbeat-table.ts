import type mysql from 'mysql2/promise';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';

/** The heartbeat's table (heartbeat.ts): its name, DDL, shape check and statements. */

export const HEARTBEAT_INTERVAL_MS = 100;
/** A heartbeat write or read slower than this is abandoned (its connection closed) and counted `timeout`. */
export const HEARTBEAT_TIMEOUT_MS = 1000;

export function heartbeatTable(table: string): string {
  return `${table}_heartbeat`;
}

function createHeartbeatSql(table: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS \`${table}\` (` +
    'run_id CHAR(36) NOT NULL, seq BIGINT NOT NULL, sent_us BIGINT NOT NULL, server_id BIGINT NOT NULL, ' +
    'PRIMARY KEY (run_id)) ENGINE=InnoDB'
  );
}

/** The columns the heartbeat relies on, and the data types it accepts for each. */
const HEARTBEAT_COLUMNS: Record<string, RegExp> = {
  run_id: /^(char|varchar)$/i,
  seq: /^bigint$/i,
  sent_us: /^bigint$/i,
  server_id: /^(bigint|int)$/i,
};

/** Creates the heartbeat table if missing and refuses one of another shape (the harness writes only its own tables). */
export async function ensureHeartbeatTable(conn: mysql.Connection, table: string, database: string): Promise<void> {
  const columns = async (): Promise<Map<string, string>> => {
    const [rows] = await conn.query(
      'SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [database, table],
    );
    return new Map((rows as { name: string; type: string }[]).map((r) => [r.name.toLowerCase(), r.type]));
  };
  let have = await columns();
  if (have.size === 0) {
    try {
      await conn.query(createHeartbeatSql(table));
    } catch (err) {
      throw new DowntimeError(
        `cannot create table ${database}.${table} for the replication-lag heartbeat: ${oneLine((err as Error).message)}; grant CREATE on ${database}, or drop --green-target`,
        ExitCode.Schema,
      );
    }
    have = await columns();
  }
  const wrong: string[] = [];
  for (const [name, type] of Object.entries(HEARTBEAT_COLUMNS)) {
    const t = have.get(name);
    if (t === undefined) wrong.push(`no column ${name}`);
    else if (!type.test(t)) wrong.push(`column ${name} is ${t}`);
  }
  if (wrong.length > 0) {
    throw new DowntimeError(
      `table ${database}.${table} exists with another shape (${wrong.join(', ')}); it is not the harness's heartbeat table: choose another --table`,
      ExitCode.Schema,
    );
  }
}

export const UPSERT = (t: string): string =>
  `INSERT INTO \`${t}\` (run_id, seq, sent_us, server_id) VALUES (?, ?, ?, ?) ` +
  'ON DUPLICATE KEY UPDATE seq = VALUES(seq), sent_us = VALUES(sent_us), server_id = VALUES(server_id)';
export const READ = (t: string): string =>
  `SELECT seq, sent_us, server_id, @@server_id AS me FROM \`${t}\` WHERE run_id = ?`;
