import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyze } from '../src/analyze/index.js';
import { ExitCode } from '../src/errors.js';
import { readResults } from '../src/results/reader.js';
import { ContainerEngine, LABEL_PID } from '../src/sandbox/containers/engine.js';
import { assertInvariants } from './helpers/invariants.js';

/**
 * Real upgrades in containers: MariaDB 10.11 → 11.8 from the local images scripts/build-images.sh makes (CI
 * builds them; no registry is needed), in place and blue/green, under load, through the CLI in a child
 * process. Every case checks that no acknowledged write was lost and that nothing of the run is left: no
 * container, no volume (found by the label with the child's pid). Skipped, saying why, only where no Docker
 * engine or no images can be had.
 */
const FROM = 'downtime/mariadb:10.11';
const TO = 'downtime/mariadb:11.8';
const cliPath = fileURLToPath(new URL('../src/cli.js', import.meta.url));
let engine: ContainerEngine | undefined;
let missing: string | undefined;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'downtime-containers-'));
  try {
    engine = await ContainerEngine.connect();
  } catch (err) {
    missing = (err as Error).message;
    return;
  }
  for (const image of [FROM, TO]) {
    if (!(await engine.hasImage(image))) missing = `image ${image} is not built (scripts/build-images.sh)`;
  }
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Child {
  pid: number;
  exited: Promise<number | null>;
  output: () => { stdout: string; stderr: string };
  /** Resolves when stderr has printed something matching `re`. */
  saw: (re: RegExp) => Promise<void>;
  signal: (s: NodeJS.Signals) => void;
}

function cli(args: string[], boundMs: number): Child {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let stdout = '';
  let stderr = '';
  const watchers: { re: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of watchers.splice(0)) {
      if (w.re.test(stderr)) w.resolve();
      else watchers.push(w);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ? -1 : code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
  void exited.finally(() => clearTimeout(timer));
  return {
    pid: child.pid as number,
    exited,
    output: () => ({ stdout, stderr }),
    saw: (re) => new Promise((resolve) => (re.test(stderr) ? resolve() : watchers.push({ re, resolve }))),
    signal: (s) => child.kill(s),
  };
}

/** Containers and volumes a process (by pid) made and left. */
async function leftBy(pid: number): Promise<string[]> {
  const e = engine as ContainerEngine;
  const filters = { label: [`${LABEL_PID}=${pid}`] };
  const cs = await e.docker.listContainers({ all: true, filters });
  const vs = await e.docker.listVolumes({ filters });
  return [...cs.flatMap((c) => c.Names), ...(vs.Volumes ?? []).map((v) => `volume ${v.Name}`)];
}

function scenario(name: string, topology: string, action: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      `sandbox: {topology: ${topology}, from: "${FROM}", to: "${TO}"}`,
      'duration: 15s',
      'load: {reads: 100, writes: 50, timeout: 1s}',
      'actions:',
      `  - ${action}`,
      'thresholds: [lost_writes==0]',
      '',
    ].join('\n'),
  );
  return file;
}

test('in place, 10.11 → 11.8 under load: slow shutdown, the new version on the same data, its upgrade step; nothing lost, nothing left', async (t) => {
  if (missing) return t.skip(missing);
  const out = join(dir, 'in-place.ndjson');
  const p = cli(
    ['run', scenario('in-place', 'single', '{at: 3s, step: in-place-upgrade, with: {offline: 2s}}'), '--out', out],
    120_000,
  );
  assert.equal(await p.exited, ExitCode.Ok, p.output().stderr);
  assert.match(p.output().stderr, /MariaDB 10\.11\.\d+ → MariaDB 11\.8\.\d+ in containers/);
  const r = readResults(out);
  assertInvariants(r);
  const s = analyze(r);
  assert.equal(s.writes?.lost, 0, 'no acknowledged write lost');
  assert.match(s.serverVersions.before ?? '', /^10\.11\./);
  assert.match(s.serverVersions.after ?? '', /^11\.8\./);
  const phases = r.events.filter((e) => e.kind === 'phase').map((e) => e.name);
  assert.deepEqual(phases, ['slow-shutdown', 'offline', 'new-version', 'starting', 'upgrading', 'available']);
  const end = r.events.find((e) => e.kind === 'action' && e.detail?.phase === 'end');
  assert.equal(end?.detail?.ok, true, JSON.stringify(end?.detail));
  assert.equal(end?.detail?.upgradeTool, 'mariadb-upgrade');
  // One outage, at least the offline phase, for reads and writes alike.
  assert.equal(s.windows.full, 1);
  assert.ok((s.downtimeMs.full ?? 0) >= 2000, `full downtime ${s.downtimeMs.full} ms`);
  assert.deepEqual(await leftBy(p.pid), []);
  assert.match(
    readFileSync(out, 'utf8'),
    /"from":"downtime\/mariadb:10\.11"/,
    'the scenario with its versions is in the header',
  );
});

test('blue/green, green on 11.8 replicating from blue on 10.11, switchover under load: nothing lost, nothing left', async (t) => {
  if (missing) return t.skip(missing);
  const out = join(dir, 'blue-green.ndjson');
  const p = cli(
    [
      'run',
      scenario(
        'blue-green',
        'blue-green',
        '{at: 4s, step: switchover, with: {maxLag: 1s, timeout: 20s, blockWrites: 2s, rename: 1s}}',
      ),
      '--out',
      out,
    ],
    150_000,
  );
  assert.equal(await p.exited, ExitCode.Ok, p.output().stderr);
  const r = readResults(out);
  assertInvariants(r);
  const s = analyze(r);
  assert.equal(s.writes?.lost, 0);
  assert.match(s.serverVersions.before ?? '', /^10\.11\./);
  assert.match(s.serverVersions.after ?? '', /^11\.8\./);
  // Writes blocked 2 s and refused 1 s more; reads only during the 1 s rename: as configured, give or take.
  assert.ok((s.downtimeMs.write ?? 0) >= 2900 && (s.downtimeMs.write ?? 0) < 4500, `write ${s.downtimeMs.write} ms`);
  assert.ok((s.downtimeMs.read ?? 0) >= 900 && (s.downtimeMs.read ?? 0) < 2000, `read ${s.downtimeMs.read} ms`);
  assert.ok(s.identities.some((i) => i.serverId === 2 && /^11\.8\./.test(i.version ?? '') && i.readOnly === false));
  assert.deepEqual(await leftBy(p.pid), []);
});

test('Ctrl-C at any moment of a container demo leaves no container, volume or server behind', async (t) => {
  if (missing) return t.skip(missing);
  // Moments: reading the images' versions, the first sandbox starting, mid-measurement, between the two
  // rehearsals' sandboxes.
  const moments: [string, RegExp, number][] = [
    ['at start', /^/, 300],
    ['while the sandbox starts', /starting a local single sandbox/, 200],
    ['mid-run', /\[\s+3s \]/, 0],
    ['starting blue/green', /starting a local blue-green sandbox/, 500],
  ];
  for (const [when, re, afterMs] of moments) {
    const out = join(dir, `demo-${when.replace(/\W+/g, '-')}`);
    mkdirSync(out, { recursive: true });
    const p = cli(['demo', '--quick', '--out', out, '--from', FROM, '--to', TO], 150_000);
    await Promise.race([p.saw(re), p.exited]);
    await new Promise((r) => setTimeout(r, afterMs));
    p.signal('SIGINT');
    const code = await p.exited;
    // Before its handlers are in place (module loading) the process dies of the signal itself: also fine, if
    // it left nothing.
    assert.ok(
      code === ExitCode.Interrupted || code === ExitCode.Ok || code === -1,
      `${when}: exit ${code}\n${p.output().stderr}`,
    );
    assert.ok(!/\n\s+at /.test(p.output().stderr), `${when}: no stack trace\n${p.output().stderr}`);
    assert.deepEqual(await leftBy(p.pid), [], `${when}: nothing left`);
  }
});

test('bad servers are one line with their exit code before anything starts, and nothing is left', async (t) => {
  if (missing) return t.skip(missing);
  const empty = join(dir, 'empty-server-dir');
  mkdirSync(empty, { recursive: true });
  const rows: [string, string[], Record<string, string>, ExitCode, RegExp][] = [
    [
      'an image that is not here and cannot be pulled',
      ['--from', 'downtime/mariadb:nope', '--to', TO],
      {},
      ExitCode.Sandbox,
      /image downtime\/mariadb:nope is not on this machine and could not be pulled/,
    ],
    [
      'a downgrade',
      ['--from', TO, '--to', FROM],
      {},
      ExitCode.Usage,
      /MariaDB 11\.8\.\d+ → MariaDB 10\.11\.\d+ is a downgrade; swap from and to/,
    ],
    [
      'an image and local binaries',
      ['--from', FROM, '--to', 'path'],
      {},
      ExitCode.Usage,
      /must both be images or both be server binaries/,
    ],
    [
      'a server directory without a server',
      ['--from', empty, '--to', empty],
      {},
      ExitCode.Usage,
      /server directory .* has no mariadbd or mysqld/,
    ],
    [
      'Docker not running',
      ['--from', FROM, '--to', TO],
      { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` },
      ExitCode.Sandbox,
      /no Docker engine answers at unix:\/\/.*no-docker\.sock \(no such socket: Docker is not installed or not running\)/,
    ],
  ];
  for (const [why, flags, env, code, message] of rows) {
    const child = spawn(process.execPath, [cliPath, 'demo', '--quick', '--out', join(dir, 'bad'), ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const got = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(got, code, `${why}: ${stderr}`);
    assert.match(stderr, message, why);
    assert.equal(
      stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('downtime: ')).length,
      1,
      `${why}: one line\n${stderr}`,
    );
    assert.ok(!/\n\s+at /.test(stderr), `${why}: no stack trace`);
    assert.deepEqual(await leftBy(child.pid as number), [], `${why}: nothing left`);
  }
});

test('measure() with sandbox {topology, from, to}: the library rehearses the same upgrade', async (t) => {
  if (missing) return t.skip(missing);
  const { measure } = await import('../src/index.js');
  const m = await measure(
    {
      name: 'lib-in-place',
      sandbox: { topology: 'single', from: FROM, to: TO },
      duration: '10s',
      load: { reads: 50, writes: 20, timeout: '1s' },
      actions: [{ at: '2s', step: 'in-place-upgrade', with: { offline: '1s' } }],
    },
    { dir: join(dir, 'lib') },
  );
  assert.equal(m.passed, true, JSON.stringify(m.thresholds));
  assert.equal(m.writes?.lost, 0);
  assert.match(m.summary.serverVersions.after ?? '', /^11\.8\./);
  assert.ok((m.downtimeMs.full ?? 0) >= 1000);
  assert.deepEqual(await leftBy(process.pid), [], 'nothing left by this process');
});
