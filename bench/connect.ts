import mysql from 'mysql2';

/** `n` mysql2 connections, connected (the yardsticks' own, beside the harness's). */
export function connectAll(cfg: mysql.ConnectionOptions, n: number): Promise<mysql.Connection[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<mysql.Connection>((resolve, reject) => {
          const c = mysql.createConnection(cfg);
          c.on('error', () => undefined); // a failure is reported by the query that meets it
          c.connect((err) => (err ? reject(err) : resolve(c)));
        }),
    ),
  );
}
