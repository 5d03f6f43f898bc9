/**
 * TLS to the endpoint against a real server started with a self-signed CA's certificate: every
 * --ssl-mode, --ssl-ca errors, and runs whose probe user may only connect over TLS (REQUIRE SSL), so
 * that an all-ok run proves every connection (setup, workers, verification) was encrypted.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.js';
import { bufferIo } from '../src/io.js';
import { readResults } from '../src/results/reader.js';
import { sleep } from '../src/util/sleep.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { assertInvariants } from './helpers/invariants.js';
import { runMain, type CliOutput } from './helpers/cli.js';

let dir: string;
let tlsSrv: TestServer;
let plainSrv: TestServer;
const USER = 'tlsonly';
const PASSWORD = 'tls-pw-' + Math.random().toString(36).slice(2, 12);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
}

/** A CA, and a server certificate it signs for `san` (written to server.pem / server.key). */
function makeCa(name: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`].concat([
      '-days',
      '2',
      '-subj',
      `/CN=downtime test ${name}`,
    ]),
  );
}

function makeServerCert(ca: string, san: string, out: string): void {
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${out}.key`,
    '-out',
    `${out}.csr`,
    '-subj',
    '/CN=downtime-test-server',
  ]);
  writeFileSync(join(dir, `${out}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  openssl(
    ['x509', '-req', '-in', `${out}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial'].concat([
      '-out',
      `${out}.pem`,
      '-days',
      '2',
      '-extfile',
      `${out}.ext`,
    ]),
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'downtime-tls-'));
  makeCa('ca');
  makeCa('otherca');
  makeServerCert('ca', 'DNS:localhost', 'localhost-cert');
  makeServerCert('ca', 'DNS:db.elsewhere.test', 'elsewhere-cert');
  copyFileSync(join(dir, 'localhost-cert.pem'), join(dir, 'server.pem'));
  copyFileSync(join(dir, 'localhost-cert.key'), join(dir, 'server.key'));
  tlsSrv = await startTestServer({ tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key') } });
  // A probe user that may only connect over TLS: a plain connection of any kind is refused.
  for (const host of ['%', 'localhost']) {
    await tlsSrv.server.rootQuery('CREATE USER ?@? IDENTIFIED BY ? REQUIRE SSL', [USER, host, PASSWORD]);
    await tlsSrv.server.rootQuery('GRANT ALL PRIVILEGES ON `probe`.* TO ?@?', [USER, host]);
  }
  plainSrv = await startTestServer();
});

after(async () => {
  await tlsSrv?.cleanup();
  await plainSrv?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const url = (host = '127.0.0.1', user = USER, srv = tlsSrv): string =>
  `mysql://${user}@${host}:${srv.server.port}/probe`;

function run(target: string, args: string[], password = PASSWORD): Promise<CliOutput> {
  return runMain(
    ['run', '--target', target, '--no-progress', '--workers', '1', ...args],
    bufferIo({ MYSQL_PWD: password }),
  );
}

/** Every file under `path`, read as text (a report directory, a results file). */
function allText(path: string): string {
  if (statSync(path).isDirectory())
    return readdirSync(path)
      .map((f) => allText(join(path, f)))
      .join('\n');
  return readFileSync(path).toString('latin1');
}

function assertNoSecret(texts: string[], secret: string): void {
  for (const t of texts) assert.ok(!t.includes(secret), 'the password appears in an artifact');
}

test('required: a run against a REQUIRE SSL user is all ok, encrypted, and the header says which cipher', async () => {
  const out = join(dir, 'required.ndjson');
  const res = await run(url(), [
    '--ssl-mode',
    'required',
    '--duration',
    '3s',
    '--reads',
    '50',
    '--writes',
    '20',
    '--out',
    out,
  ]);
  assert.equal(res.code, ExitCode.Ok, res.err);
  const r = readResults(out);
  assertInvariants(r);
  assert.deepEqual(
    { mode: r.header.tls?.mode, encrypted: r.header.tls?.encrypted },
    { mode: 'required', encrypted: true },
  );
  assert.match(r.header.tls?.cipher ?? '', /^[A-Z0-9_-]+$/, 'a negotiated cipher');
  assert.match(r.header.tls?.version ?? '', /^TLSv1\.[23]$/);
  for (const op of ['read', 'write'] as const) {
    const secs = r.seconds[op];
    assert.ok(secs.length >= 3, `${op}: ${secs.length} seconds`);
    for (const s of secs) assert.equal(s.ok, s.due, `${op} second ${s.sec}: ${JSON.stringify(s.failed)}`);
  }
  // The verification connection is a TLS one too: the REQUIRE SSL user found every acknowledged write.
  assert.equal(r.trailer?.writes?.lost, 0);
  assert.ok((r.trailer?.writes?.acknowledged ?? 0) > 0);
  assertNoSecret([res.out, res.err, allText(out), allText(out.replace(/\.ndjson$/, ''))], PASSWORD);
});

test('verify-ca with the right CA: per-probe connections, all ok; the report renders', async () => {
  const out = join(dir, 'verify-ca.ndjson');
  const res = await run(url(), [
    '--ssl-mode',
    'verify-ca',
    '--ssl-ca',
    join(dir, 'ca.pem'),
    '--connection',
    'per-probe',
    '--duration',
    '2s',
    '--reads',
    '20',
    '--writes',
    '10',
    '--out',
    out,
  ]);
  assert.equal(res.code, ExitCode.Ok, res.err);
  const r = readResults(out);
  assert.equal(r.header.tls?.mode, 'verify-ca');
  assert.equal(r.header.tls?.caFile, join(dir, 'ca.pem'));
  assert.ok(existsSync(join(dir, 'verify-ca', 'summary.json')), 'the report was rendered');
  for (const op of ['read', 'write'] as const) {
    for (const s of r.seconds[op]) assert.equal(s.ok, s.due, `${op} ${JSON.stringify(s.failed)}`);
  }
  assertNoSecret([res.out, res.err, allText(out), allText(out.replace(/\.ndjson$/, ''))], PASSWORD);
});

test('--ssl-ca alone means verify-ca; the wrong CA fails at setup with one line naming the mode and the fix', async () => {
  const out = join(dir, 'wrong-ca.ndjson');
  const res = await run(url(), ['--ssl-ca', join(dir, 'otherca.pem'), '--duration', '2s', '--out', out]);
  assert.equal(res.code, ExitCode.Unreachable, res.err);
  assert.equal(res.err.trim().split('\n').length, 1, res.err);
  assert.match(
    res.err,
    /^downtime: --ssl-mode verify-ca: the certificate of 127\.0\.0\.1:\d+ is not signed by a trusted CA .*--ssl-ca/,
  );
  assert.ok(!res.err.includes('    at '), 'no stack trace');
  assert.throws(() => statSync(out), 'no results file for a run that never started');
});

test('required against a server without TLS fails at setup; preferred goes plain and says so', async () => {
  const plainUrl = `mysql://${plainSrv.user}@127.0.0.1:${plainSrv.server.port}/probe`;
  const req = await run(
    plainUrl,
    ['--ssl-mode', 'required', '--duration', '1s', '--out', join(dir, 'p1.ndjson')],
    plainSrv.password,
  );
  assert.equal(req.code, ExitCode.Unreachable, req.err);
  assert.match(
    req.err,
    /^downtime: --ssl-mode required: 127\.0\.0\.1:\d+ does not offer TLS; .*--ssl-mode preferred or disabled\n$/,
  );

  const out = join(dir, 'preferred-plain.ndjson');
  const pref = await run(
    plainUrl,
    ['--duration', '1s', '--reads', '10', '--writes', '5', '--no-report', '--out', out],
    plainSrv.password,
  );
  assert.equal(pref.code, ExitCode.Ok, pref.err);
  const r = readResults(out);
  assert.equal(r.header.tls?.mode, 'preferred');
  assert.equal(r.header.tls?.encrypted, false);
  assert.match(r.header.tls?.note ?? '', /does not offer TLS/);
  for (const s of r.seconds.read) assert.equal(s.ok, s.due);

  // The default (preferred) against the TLS server encrypts.
  const out2 = join(dir, 'preferred-tls.ndjson');
  const pref2 = await run(url(), ['--duration', '1s', '--reads', '10', '--writes', '5', '--no-report', '--out', out2]);
  assert.equal(pref2.code, ExitCode.Ok, pref2.err);
  const r2 = readResults(out2);
  assert.equal(r2.header.tls?.encrypted, true);
  assert.ok(r2.header.tls?.cipher);
});

test('disabled against a REQUIRE SSL user: access denied, one line', async () => {
  const res = await run(url(), ['--ssl-mode', 'disabled', '--duration', '1s', '--out', join(dir, 'disabled.ndjson')]);
  assert.equal(res.code, ExitCode.AccessDenied, res.err);
  assert.match(res.err, /^downtime: 127\.0\.0\.1:\d+ refused the credentials of user tlsonly .*\n$/);
  assertNoSecret([res.err, res.out], PASSWORD);
});

test('verify-identity: the name the certificate carries works; an IP address is refused; another name fails', async () => {
  const ok = await run(url('localhost'), [
    '--ssl-mode',
    'verify-identity',
    '--ssl-ca',
    join(dir, 'ca.pem'),
    '--duration',
    '1s',
    '--reads',
    '10',
    '--writes',
    '5',
    '--no-report',
    '--out',
    join(dir, 'vi-ok.ndjson'),
  ]);
  assert.equal(ok.code, ExitCode.Ok, ok.err);
  assert.equal(readResults(join(dir, 'vi-ok.ndjson')).header.tls?.mode, 'verify-identity');

  const ip = await run(url('127.0.0.1'), [
    '--ssl-mode',
    'verify-identity',
    '--ssl-ca',
    join(dir, 'ca.pem'),
    '--duration',
    '1s',
    '--out',
    join(dir, 'vi-ip.ndjson'),
  ]);
  assert.equal(ip.code, ExitCode.Usage, ip.err);
  assert.match(ip.err, /names an IP address \(127\.0\.0\.1\).*--ssl-mode verify-ca\n$/);

  // The server now presents a certificate for db.elsewhere.test (same CA): reached as localhost, the name does not match.
  copyFileSync(join(dir, 'elsewhere-cert.pem'), join(dir, 'server.pem'));
  copyFileSync(join(dir, 'elsewhere-cert.key'), join(dir, 'server.key'));
  try {
    await tlsSrv.server.rootQuery('FLUSH SSL');
    const bad = await run(url('localhost'), [
      '--ssl-mode',
      'verify-identity',
      '--ssl-ca',
      join(dir, 'ca.pem'),
      '--duration',
      '1s',
      '--out',
      join(dir, 'vi-bad.ndjson'),
    ]);
    assert.equal(bad.code, ExitCode.Unreachable, bad.err);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
    assert.match(
      bad.err,
      /^downtime: --ssl-mode verify-identity: the certificate of localhost:\d+ does not carry the name localhost .*verify-ca\n$/,
    );
    // verify-ca still accepts it: the chain is good, only the name differs.
    const ca = await run(url('localhost'), [
      '--ssl-mode',
      'verify-ca',
      '--ssl-ca',
      join(dir, 'ca.pem'),
      '--duration',
      '1s',
      '--reads',
      '5',
      '--writes',
      '5',
      '--no-report',
      '--out',
      join(dir, 'vca.ndjson'),
    ]);
    assert.equal(ca.code, ExitCode.Ok, ca.err);
  } finally {
    copyFileSync(join(dir, 'localhost-cert.pem'), join(dir, 'server.pem'));
    copyFileSync(join(dir, 'localhost-cert.key'), join(dir, 'server.key'));
    await tlsSrv.server.rootQuery('FLUSH SSL');
  }
});

test('--ssl-ca: a missing file, a non-PEM file, and a CA with a mode that does not verify are one-line errors', async () => {
  writeFileSync(join(dir, 'notpem.txt'), 'this is not a certificate\n');
  const cases: [string[], number, RegExp][] = [
    [
      ['--ssl-ca', join(dir, 'nope.pem')],
      ExitCode.InputFile,
      /cannot read --ssl-ca .*nope\.pem: no such file; point it at a PEM CA bundle/,
    ],
    [['--ssl-ca', join(dir, 'notpem.txt')], ExitCode.InputFile, /--ssl-ca .*notpem\.txt holds no PEM certificate/],
    [['--ssl-ca', dir], ExitCode.InputFile, /cannot read --ssl-ca .*: it is a directory/],
    [
      ['--ssl-ca', join(dir, 'ca.pem'), '--ssl-mode', 'required'],
      ExitCode.Usage,
      /--ssl-ca is only used to verify the server/,
    ],
    [['--ssl-mode', 'verify-all'], ExitCode.Usage, /ssl-mode/],
  ];
  for (const [args, code, message] of cases) {
    const res = await run(url(), [...args, '--duration', '1s', '--out', join(dir, 'never.ndjson')]);
    assert.equal(res.code, code, `${args.join(' ')}: ${res.err}`);
    assert.equal(res.err.trim().split('\n').length, 1, res.err);
    assert.match(res.err, message);
  }
  assert.throws(() => statSync(join(dir, 'never.ndjson')));
});

test('mid-run, a certificate that no longer matches fails new connections with class tls, and they recover', async () => {
  const out = join(dir, 'midrun.ndjson');
  const running = run(url('localhost'), [
    '--ssl-mode',
    'verify-identity',
    '--ssl-ca',
    join(dir, 'ca.pem'),
    '--connection',
    'per-probe',
    '--duration',
    '5s',
    '--reads',
    '20',
    '--writes',
    '10',
    '--no-report',
    '--out',
    out,
  ]);
  const deadline = Date.now() + 30_000;
  while (!(existsSync(out) && readFileSync(out, 'utf8').includes('"type":"header"')) && Date.now() < deadline) {
    await sleep(50);
  }
  await sleep(1500);
  copyFileSync(join(dir, 'elsewhere-cert.pem'), join(dir, 'server.pem'));
  copyFileSync(join(dir, 'elsewhere-cert.key'), join(dir, 'server.key'));
  await tlsSrv.server.rootQuery('FLUSH SSL');
  await sleep(1000);
  copyFileSync(join(dir, 'localhost-cert.pem'), join(dir, 'server.pem'));
  copyFileSync(join(dir, 'localhost-cert.key'), join(dir, 'server.key'));
  await tlsSrv.server.rootQuery('FLUSH SSL');
  const res = await running;
  assert.equal(res.code, ExitCode.Ok, res.err);
  const r = readResults(out);
  assertInvariants(r);
  const failed: Record<string, number> = {};
  for (const s of [...r.seconds.read, ...r.seconds.write]) {
    for (const [cls, n] of Object.entries(s.failed)) failed[cls] = (failed[cls] ?? 0) + n;
  }
  assert.deepEqual(Object.keys(failed), ['tls'], JSON.stringify(failed));
  // About a second of 30 probes/s failed; the last second is all ok again.
  assert.ok((failed.tls ?? 0) >= 15 && (failed.tls ?? 0) <= 60, JSON.stringify(failed));
  const last = r.seconds.read[r.seconds.read.length - 1];
  assert.equal(last?.ok, last?.due);
});
