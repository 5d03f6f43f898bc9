import type mysql from 'mysql2/promise';
import { DROPPED, OK, type SecondRecord, type WriteVerification } from '../results/types.js';

const UNSENT = 0;
const ACKED = 1;
const FAILED = 2;

/**
 * What the client saw of each write, one byte per seq (not one object per write): acknowledged,
 * failed (error or timeout: the row may or may not exist), or not sent.
 */
export class WriteLedger {
  private state: Uint8Array;
  private maxSeq = -1;

  constructor(expected: number) {
    this.state = new Uint8Array(Math.max(16, expected));
  }

  add(record: SecondRecord): void {
    for (const [first, count, outcome] of record.runs) {
      const value = outcome === OK ? ACKED : outcome === DROPPED ? UNSENT : FAILED;
      this.ensure(first + count);
      this.state.fill(value, first, first + count);
      if (first + count - 1 > this.maxSeq) this.maxSeq = first + count - 1;
    }
  }

  private ensure(size: number): void {
    if (size <= this.state.length) return;
    const bigger = new Uint8Array(Math.max(size, this.state.length * 2));
    bigger.set(this.state);
    this.state = bigger;
  }

  get acknowledged(): number {
    let n = 0;
    for (let i = 0; i <= this.maxSeq; i++) if (this.state[i] === ACKED) n++;
    return n;
  }

  /**
   * Compares with the seqs present on the server. `present` must hold each seq once.
   * `secondOfSeq` maps a seq to its epoch second, for reporting when lost writes were made.
   */
  compare(present: Iterable<number>, secondOfSeq: (seq: number) => number): Omit<WriteVerification, 'checkedAt'> {
    const seen = new Uint8Array(this.maxSeq + 1);
    for (const seq of present) if (seq >= 0 && seq <= this.maxSeq) seen[seq] = 1;
    let acknowledged = 0;
    let lost = 0;
    let inDoubtCommitted = 0;
    let inDoubtAbsent = 0;
    const lostSeconds = new Set<number>();
    for (let seq = 0; seq <= this.maxSeq; seq++) {
      const s = this.state[seq];
      if (s === ACKED) {
        acknowledged++;
        if (seen[seq] === 0) {
          lost++;
          lostSeconds.add(secondOfSeq(seq));
        }
      } else if (s === FAILED) {
        if (seen[seq] === 1) inDoubtCommitted++;
        else inDoubtAbsent++;
      }
    }
    return { acknowledged, lost, lostSeconds: [...lostSeconds].sort((a, b) => a - b), inDoubtCommitted, inDoubtAbsent };
  }
}

/**
 * After the run, a lock someone holds on the probe table (LOCK TABLES, FLUSH TABLES WITH READ LOCK, a long
 * transaction) must not make verification or clean-up wait silently: MariaDB waits a day by default, MySQL a
 * year. Waits on this session end after this long with ER_LOCK_WAIT_TIMEOUT, which the run reports.
 */
const VERIFY_LOCK_WAIT_S = 10;

export async function boundLockWaits(conn: mysql.Connection): Promise<void> {
  await conn.query(
    `SET SESSION lock_wait_timeout = ${VERIFY_LOCK_WAIT_S}, SESSION innodb_lock_wait_timeout = ${VERIFY_LOCK_WAIT_S}`,
  );
}

/** Reads the seqs of a run present in the probe table, in primary-key order, in pages. */
export async function presentSeqs(conn: mysql.Connection, table: string, runId: string): Promise<number[]> {
  const out: number[] = [];
  let after = -1;
  const page = 50_000;
  for (;;) {
    const [rows] = await conn.query(
      `SELECT seq FROM \`${table}\` WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ${page}`,
      [runId, after],
    );
    const list = rows as { seq: number | string }[];
    for (const r of list) out.push(Number(r.seq));
    if (list.length < page) return out;
    after = out[out.length - 1] as number;
  }
}

/** Deletes a run's rows (in batches, so a big run does not hold one long transaction). */
export async function deleteRunRows(conn: mysql.Connection, table: string, runId: string): Promise<number> {
  let total = 0;
  for (;;) {
    const [res] = await conn.query(`DELETE FROM \`${table}\` WHERE run_id = ? LIMIT 10000`, [runId]);
    const n = (res as { affectedRows: number }).affectedRows;
    total += n;
    if (n < 10000) return total;
  }
}
