import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { main } from '../src/cli.js';
import type { Io } from '../src/io.js';
import { connectSandbox, readState, type SandboxState } from '../src/sandbox/index.js';
import { portOpen, processAlive, processesUnder } from '../src/sandbox/background/processes.js';
import { spawnCli } from './helpers/cli.js';
import { sleep } from '../src/util/sleep.js';

const cwd = mkdtempSync(join(tmpdir(), 'downtime-sbcli-'));
const stateDir = join(cwd, '.downtime', 'sandbox');

function io(): Io & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    stdout: (t: string) => void (o.out += t),
    stderr: (t: string) => void (o.err += t),
    env: {},
    now: () => Date.now(),
    cwd,
    onSignal: () => () => undefined,
    isInteractive: false,
  };
  return o;
}

/** Every pid and port the state names: none may be left after `down`. */
function leftovers(st: SandboxState): Promise<string[]> {
  const items: [string, number | null, string, number][] = [
    ['proxy', st.proxy.pid, 'proxy-daemon', st.proxy.port],
    ...Object.entries(st.servers).map(([n, s]): [string, number | null, string, number] => [
      n,
      s.pid,
      s.dataDir,
      s.port,
    ]),
  ];
  return Promise.all(
    items.map(async ([n, pid, mark, port]) => [
      processAlive(pid, mark) ? `${n} pid ${pid}` : '',
      (await portOpen(port)) ? `${n} port ${port}` : '',
    ]),
  ).then((r) => r.flat().filter((x) => x !== ''));
}

after(async () => {
  // Whatever a failed assertion left behind.
  if (readState(stateDir) !== null) await main(['sandbox', 'down'], io());
  rmSync(cwd, { recursive: true, force: true });
});

test('sandbox up, a switchover through connectSandbox, status, down: nothing left behind', async () => {
  const up = io();
  assert.equal(await main(['sandbox', 'up'], up), 0, up.err);
  const st = readState(stateDir);
  assert.ok(st);
  assert.match(up.out, new RegExp(`endpoint mysql://downtime@127\\.0\\.0\\.1:${st.endpoint.port}/probe`));
  assert.match(up.out, /--password-file /);
  const password = readFileSync(st.passwordFile, 'utf8').trim();
  assert.equal(statSync(st.passwordFile).mode & 0o777, 0o600);
  // The password is in its file only.
  assert.ok(!up.out.includes(password) && !up.err.includes(password));
  assert.ok(!readFileSync(join(stateDir, 'state.json'), 'utf8').includes(password));

  const sb = await connectSandbox(stateDir);
  const c = await mysql.createConnection({
    host: '127.0.0.1',
    port: st.endpoint.port,
    user: 'downtime',
    password,
    database: 'probe',
  });
  const id = async (): Promise<number> => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: st.endpoint.port,
      user: 'downtime',
      password,
      database: 'probe',
    });
    const [r] = await conn.query<mysql.RowDataPacket[]>('SELECT @@server_id AS id');
    conn.destroy();
    return Number(r[0]?.id);
  };
  await c.query('CREATE TABLE t (id INT PRIMARY KEY)');
  await c.query('INSERT INTO t VALUES (1), (2), (3)');
  c.destroy();
  assert.equal(await id(), 1);
  const names: string[] = [];
  sb.setOnEvent((e) => names.push(e.name));
  await sb.switchover();
  assert.equal(names.at(-1), 'SWITCHOVER_COMPLETED');
  assert.equal(await id(), 2);
  sb.close();
  assert.equal(readState(stateDir)?.active, 'green');

  const status = io();
  assert.equal(await main(['sandbox', 'status'], status), 0, status.err);
  assert.match(status.out, /sandbox up \(blue-green\).*active green/);
  assert.match(status.out, /green .*reachable <- endpoint/);

  const reset = io();
  assert.equal(await main(['sandbox', 'reset'], reset), 0, reset.err);
  assert.equal(readState(stateDir)?.active, 'blue');
  assert.equal(await id(), 1);
  const st2 = readState(stateDir)!;

  const down = io();
  assert.equal(await main(['sandbox', 'down'], down), 0, down.err);
  assert.deepEqual(await leftovers(st2), []);
  assert.match(down.out, /stopped proxy .*blue .*green|stopped proxy .*green .*blue/);
  assert.deepEqual(await leftovers(st), []);
  assert.deepEqual(readdirSync(join(cwd, '.downtime')), []);
});

test('after a crash: status says so, up refuses while a server still runs, down cleans up', async () => {
  const up = io();
  assert.equal(await main(['sandbox', 'up', '--topology', 'single'], up), 0, up.err);
  const st = readState(stateDir);
  assert.ok(st);
  const gone = async (pid: number | null, mark: string): Promise<void> => {
    // A process killed here was started by this process: wait until it is reaped.
    for (let i = 0; i < 250 && processAlive(pid, mark); i++) await sleep(20);
  };
  process.kill(st.proxy.pid!, 'SIGKILL');
  await gone(st.proxy.pid, 'proxy-daemon');
  const status = io();
  assert.equal(await main(['sandbox', 'status'], status), 7);
  // Not "unreachable": on a shared machine another process may bind the freed port at once.
  assert.match(status.out, /DEGRADED[\s\S]*proxy .*not running, [\s\S]*blue .*running, reachable/);
  const again = io();
  assert.equal(await main(['sandbox', 'up'], again), 7);
  assert.match(again.err, /already up/);

  process.kill(st.servers.blue.pid!, 'SIGKILL');
  await gone(st.servers.blue.pid, st.servers.blue.dataDir);
  const down = io();
  assert.equal(await main(['sandbox', 'down'], down), 0, down.err);
  assert.match(down.out, /stopped nothing \(already gone\)/);
  assert.deepEqual(await leftovers(st), []);
  assert.equal(readState(stateDir), null);
});

/** A `sandbox up` child process, and the moment its first server process exists (its first second). */
async function upUntilFirstProcess(dir: string): Promise<ReturnType<typeof spawnCli>> {
  const up = spawnCli(['sandbox', 'up', '--topology', 'blue-green', '--state-dir', dir], { boundMs: 120_000 });
  for (let i = 0; i < 1000 && processesUnder(dir).length === 0; i++) await sleep(10);
  assert.ok(processesUnder(dir).length > 0, `no server process of the sandbox appeared: ${up.output().stderr}`);
  return up;
}

test('kill -9 of sandbox up while its servers start: status names what is left, the next up stops it and starts, down leaves nothing', async () => {
  const dir = join(cwd, 'killed');
  const up = await upUntilFirstProcess(dir);
  up.child.kill('SIGKILL');
  await up.exited;
  const left = processesUnder(dir);
  assert.ok(left.length > 0, 'the detached server outlived its parent (what this test is about)');

  const status = io();
  assert.equal(await main(['sandbox', 'status', '--state-dir', dir], status), 7, status.err);
  assert.match(status.out, /interrupted sandbox up still run \(pid [\d, ]+\); stop them with downtime sandbox down/);

  const again = io();
  assert.equal(await main(['sandbox', 'up', '--topology', 'single', '--state-dir', dir], again), 0, again.err);
  assert.match(again.err, /stopped \d+ process\(es\) left by an interrupted sandbox up \(pid [\d, ]+\)/);
  for (const pid of left) assert.ok(!processAlive(pid, dir), `pid ${pid} of the killed up was stopped`);
  const st = readState(dir);
  assert.ok(st);
  const down = io();
  assert.equal(await main(['sandbox', 'down', '--state-dir', dir], down), 0, down.err);
  assert.deepEqual(await leftovers(st), []);
  assert.deepEqual(processesUnder(dir), []);
});

test('kill -9 of sandbox up while its servers start, then down: the leftovers are stopped and the directory removed', async () => {
  const dir = join(cwd, 'killed-down');
  const up = await upUntilFirstProcess(dir);
  up.child.kill('SIGKILL');
  await up.exited;
  const down = io();
  assert.equal(await main(['sandbox', 'down', '--state-dir', dir], down), 0, down.err);
  assert.match(down.out, /sandbox down: stopped \d+ process\(es\) left by an interrupted sandbox up/);
  assert.deepEqual(processesUnder(dir), []);
  assert.equal(existsSync(dir), false);
});

test('Ctrl-C of sandbox up while its servers start: it stops them again and exits 130, nothing left running', async () => {
  const dir = join(cwd, 'interrupted');
  const up = await upUntilFirstProcess(dir);
  up.child.kill('SIGINT');
  const code = await up.exited;
  assert.equal(code, 130, up.output().stderr);
  assert.match(up.output().stderr, /SIGINT while the sandbox was starting: stopped it again; nothing is left running/);
  assert.deepEqual(processesUnder(dir), []);
  assert.equal(readState(dir), null);
});
