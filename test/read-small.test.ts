/**
 * A password file (or --ssl-ca bundle, or scenario) that is a FIFO nobody writes to used to hang `run` for ever
 * (#17, low): it is read without blocking, for a bounded time.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { FifoSilent, readSmallText } from '../src/util/read-small.js';
import { readResults } from '../src/results/reader.js';
import { syntheticResults } from './helpers/synthetic.js';
import { spawnCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'downtime-fifo-'));
let n = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

function fifo(): string {
  const p = join(dir, `f${++n}`);
  execFileSync('mkfifo', [p]);
  return p;
}

/** A shell that writes to `path` after `delayS` seconds, then keeps it open for `holdS` more. */
function writeLater(path: string, text: string, delayS: number, holdS = 0): void {
  const child = spawn(
    'sh',
    ['-c', `exec 3>"$1"; sleep ${delayS}; printf %s "$2" >&3; sleep ${holdS}`, 'sh', path, text],
    {
      stdio: 'ignore',
    },
  );
  child.unref();
}

test('a regular file is read as it is', () => {
  const p = join(dir, 'plain');
  writeFileSync(p, 'secret\n');
  assert.equal(readSmallText(p), 'secret\n');
});

test('a FIFO nobody writes to: given up after the bound, not waited on for ever', () => {
  const started = Date.now();
  assert.throws(() => readSmallText(fifo(), 300), FifoSilent);
  const waited = Date.now() - started;
  assert.ok(waited >= 250 && waited < 5000, `waited ${waited} ms`);
});

test('a FIFO whose writer opens it at once and writes later (process substitution): its text', () => {
  const p = fifo();
  writeLater(p, 'pw-later\n', 0.3);
  assert.equal(readSmallText(p, 5000), 'pw-later\n');
});

test('a FIFO whose writer comes after the reader opened it: its text', () => {
  const p = fifo();
  const child = spawn('sh', ['-c', 'sleep 0.3; printf %s pw-late > "$1"', 'sh', p], { stdio: 'ignore' });
  child.unref();
  assert.equal(readSmallText(p, 5000), 'pw-late');
});

test('a FIFO whose writer writes and keeps it open: what it wrote, at the bound', () => {
  const p = fifo();
  writeLater(p, 'pw-open', 0.1, 3);
  assert.equal(readSmallText(p, 600), 'pw-open');
});

test('run --password-file on a FIFO nobody writes to: exit 5, one line, within the bound', async () => {
  const p = fifo();
  const cli = spawnCli(
    ['run', '--target', 'mysql://u@127.0.0.1:9/db', '--password-file', p, '--out', join(dir, 'r.ndjson')],
    { boundMs: 30_000 },
  );
  const code = await cli.exited;
  const { stderr } = cli.output();
  assert.equal(code, ExitCode.InputFile, stderr);
  assert.match(
    stderr,
    /^downtime: cannot read --password-file .*: it is a FIFO and nothing was written within 10 s \(its writer hangs\?\); point it at a readable file/,
  );
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
});

test('a results file given as a FIFO (report <(zcat run.ndjson.gz)): read as it comes, the same as the file', () => {
  const text = syntheticResults({
    durationMs: 30_000,
    rates: { read: 50, write: 20 },
    outages: [{ op: 'both', fromMs: 10_000, toMs: 12_500, cls: 'refused' }],
  });
  const file = join(dir, 'run.ndjson');
  writeFileSync(file, text);
  const p = fifo();
  // The writer comes a little after the reader opened the FIFO, and writes in pieces.
  const child = spawn('sh', ['-c', 'sleep 0.2; cat "$1" > "$2"', 'sh', file, p], { stdio: 'ignore' });
  child.unref();
  const viaFifo = readResults(p);
  const direct = readResults(file);
  assert.deepEqual({ ...viaFifo, path: '' }, { ...direct, path: '' });
  assert.equal(viaFifo.complete, true);
});
