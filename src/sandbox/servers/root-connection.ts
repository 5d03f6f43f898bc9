import mysql from 'mysql2/promise';

/**
 * A server's root connection, opened on first use and kept: the sandbox's own statements (users,
 * replication, steps) go through it. Shared by servers this process started and servers it found again
 * (a detached sandbox).
 */
export class RootConnection {
  private conn: mysql.Connection | null = null;

  constructor(private readonly options: mysql.ConnectionOptions) {}

  async query<T = unknown>(sql: string, params: unknown[] = []): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.conn === null) {
          this.conn = await mysql.createConnection(this.options);
          this.conn.on('error', () => (this.conn = null));
        }
        const [rows] = await this.conn.query(sql, params);
        return rows as T;
      } catch (err) {
        this.close();
        // A cached connection may have died with a restart: retry once on a fresh one.
        const fatal = (err as { fatal?: boolean }).fatal === true;
        if (attempt > 0 || !fatal) throw err;
      }
    }
  }

  /** Closes the connection (the server keeps running); the next query opens a new one. */
  close(): void {
    this.conn?.destroy();
    this.conn = null;
  }
}
