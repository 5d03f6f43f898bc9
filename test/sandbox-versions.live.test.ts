import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import { readState } from '../src/sandbox/index.js';
import { findOnPath } from '../src/sandbox/servers/binaries.js';

/**
 * Server directories as from/to (`--from /opt/mysql-8.0.40 --to /opt/mysql-8.4.3`): a real second MySQL or
 * MariaDB cannot be installed here, so `to` is a directory laid out as an extracted tarball (bin/, share/)
 * whose programs are this machine's MariaDB. What is checked is that the in-place upgrade really switches to
 * the other directory's server and runs that directory's upgrade tool — in-process and in a background
 * sandbox (`sandbox up`) upgraded by a later `downtime run`.
 */
let cwd = '';
let other = '';

before(() => {
  cwd = mkdtempSync(join(tmpdir(), 'downtime-versions-'));
  other = join(cwd, 'mariadb-other');
  mkdirSync(join(other, 'bin'), { recursive: true });
  const link = (name: string): void => {
    const found = findOnPath([name]);
    assert.ok(found, `${name} on PATH`);
    symlinkSync(found, join(other, 'bin', name));
  };
  // A tarball's bin/ holds the client too: mariadb-upgrade runs it.
  for (const name of ['mariadbd', 'mariadb-install-db', 'mariadb-upgrade', 'mariadb', 'mariadb-check']) link(name);
  symlinkSync('/usr/share', join(other, 'share'));
});

after(async () => {
  const io = bufferIo({});
  io.cwd = cwd;
  if (readState(join(cwd, '.downtime', 'sandbox')) !== null) await main(['sandbox', 'down'], io);
  rmSync(cwd, { recursive: true, force: true });
});

function scenario(name: string): string {
  const file = join(cwd, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      `sandbox: {topology: single, from: /usr, to: "${other}"}`,
      'duration: 8s',
      'load: {reads: 50, writes: 20, timeout: 1s}',
      'actions:',
      '  - {at: 2s, step: in-place-upgrade, with: {offline: 1s}}',
      '',
    ].join('\n'),
  );
  return file;
}

function upgradeDetail(out: string): Record<string, unknown> {
  const end = readResults(out).events.find((e) => e.kind === 'action' && e.detail?.phase === 'end');
  assert.ok(end?.detail);
  return end.detail;
}

test('a run with sandbox {from: /usr, to: a server directory}: the in-place upgrade switches to the directory server and runs its upgrade tool', async () => {
  const io = bufferIo({});
  io.cwd = cwd;
  const out = join(cwd, 'in-process.ndjson');
  const code = await main(['run', scenario('in-process'), '--out', out, '--no-report', '--no-progress'], io);
  assert.equal(code, ExitCode.Ok, io.err.join(''));
  const d = upgradeDetail(out);
  assert.equal(d.ok, true, JSON.stringify(d));
  assert.equal(d.upgradeTool, join(other, 'bin', 'mariadb-upgrade'));
  assert.match(String(d.toVersion), /^MariaDB \d+\.\d+\.\d+$/);
  assert.equal(readResults(out).trailer?.writes?.lost, 0);
});

test('sandbox up --from /usr --to DIR, then a run upgrades it in place: the state then names the directory server', async () => {
  const io = bufferIo({});
  io.cwd = cwd;
  assert.equal(
    await main(['sandbox', 'up', '--topology', 'single', '--from', '/usr', '--to', other], io),
    ExitCode.Ok,
    io.err.join(''),
  );
  const stateDir = join(cwd, '.downtime', 'sandbox');
  const before = readState(stateDir);
  assert.equal(before?.servers.blue.next?.binary, join(other, 'bin', 'mariadbd'));
  assert.deepEqual([before?.versions?.from, before?.versions?.to], ['/usr', other]);
  const out = join(cwd, 'background.ndjson');
  const run = bufferIo({});
  run.cwd = cwd;
  assert.equal(
    await main(['run', scenario('background'), '--out', out, '--no-report', '--no-progress'], run),
    ExitCode.Ok,
    run.err.join(''),
  );
  const d = upgradeDetail(out);
  assert.equal(d.upgradeTool, join(other, 'bin', 'mariadb-upgrade'), JSON.stringify(d));
  const after = readState(stateDir);
  assert.equal(after?.servers.blue.binary, join(other, 'bin', 'mariadbd'));
  assert.equal(after?.servers.blue.next, undefined, 'upgraded: nothing further to switch to');
  const down = bufferIo({});
  down.cwd = cwd;
  assert.equal(await main(['sandbox', 'down'], down), ExitCode.Ok);
});
