import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect, destroy, track } from '../src/load/connection.js';

test("a connection's statement cache is sized for the one statement it prepares, not mysql2's 16,000", async () => {
  // mysql2 allocates its statement cache's arrays at that length in every new connection (0.5 MB): a per-probe
  // client at 2,000 connections/s then spent most of its time collecting them and stalled.
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const conn = track(
      connect({ host: '127.0.0.1', port, user: 'u', database: 'd', password: undefined }, 500),
      () => {},
    );
    conn.on('error', () => {});
    const max = (conn as unknown as { config: { maxPreparedStatements: number } }).config.maxPreparedStatements;
    destroy(conn);
    assert.ok(max >= 1 && max <= 16, `maxPreparedStatements ${max}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
