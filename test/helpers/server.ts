import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, type MysqlServer, type ServerOptions } from '../../src/sandbox/index.js';

export interface TestServer {
  server: MysqlServer;
  user: string;
  /** A random password: tests grep every artifact to check it never leaks. */
  password: string;
  database: string;
  /** mysql://downtime@127.0.0.1:PORT/probe — no password. */
  url: string;
  cleanup(): Promise<void>;
}

/** Starts a MariaDB/MySQL server of the test's own, with an application user that has a password. */
export async function startTestServer(opts: ServerOptions = {}): Promise<TestServer> {
  const server = await startServer(opts);
  const user = 'downtime';
  const password = 'pw-' + randomBytes(9).toString('base64url');
  const database = 'probe';
  try {
    await server.createUser(user, password, database);
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return {
    server,
    user,
    password,
    database,
    url: `mysql://${user}@127.0.0.1:${server.port}/${database}`,
    cleanup: () => server.destroy(),
  };
}

/** A test file's own server and temporary directory, for its before(): `({ srv, dir } = await serverAndDir('downtime-x-'))`. */
export async function serverAndDir(dirPrefix: string): Promise<{ srv: TestServer; dir: string }> {
  const srv = await startTestServer();
  return { srv, dir: mkdtempSync(join(tmpdir(), dirPrefix)) };
}

/** For its after(): stops the server and removes the directory; either is missing when before() failed. */
export async function removeServerAndDir(srv: TestServer | undefined, dir: string | undefined): Promise<void> {
  await srv?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
