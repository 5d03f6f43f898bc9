/* eslint-disable @typescript-eslint/no-explicit-any -- the Kubernetes manifest is read as plain YAML */
/**
 * The harness's container image (Dockerfile, scripts/build-harness-image.sh), as a user runs it: `--version`,
 * who it runs as, a run against a real server over the host network with the password from the docker client's
 * environment, its report with real text in the charts (DejaVu in the image), `docker stop` mid-run, and the
 * Kubernetes Job's pod (deploy/k8s) with its own command line, read-only root and volumes.
 *
 * Not part of `npm test` (it needs the image built first): `.ci/run` builds the image, then runs
 * `node --test dist/test/image.check.js`. DOWNTIME_IMAGE names another image (default downtime:<version>).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImage, createCanvas } from 'canvas';
import { parseAllDocuments } from 'yaml';
import { readResults } from '../src/results/reader.js';
import { toolVersion } from '../src/version.js';
import { removeServerAndDir, serverAndDir, type TestServer } from './helpers/server.js';
import { runMain } from './helpers/cli.js';

const IMAGE = process.env.DOWNTIME_IMAGE ?? `downtime:${toolVersion()}`;
const FIXTURE = new URL('../../test/fixtures/small.ndjson', import.meta.url).pathname;
const MANIFEST = new URL('../../deploy/k8s/downtime-job.yaml', import.meta.url).pathname;

let srv: TestServer;
let dir: string;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `docker ARGS`, bounded: killed after `boundMs`. */
function docker(args: string[], opts: { env?: Record<string, string>; boundMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.boundMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A folder the image's user (uid 10001) can write into, to mount at /work/reports. */
function reportsDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  chmodSync(d, 0o777);
  return d;
}

/**
 * `docker run` of the image's `downtime run` against the test's server over the host network, results in
 * `reports` (at /work/reports); the password from the docker client's own environment, never on its command line.
 */
function downtimeRun(reports: string, dockerArgs: string[] = []): string[] {
  return [
    'run',
    '--rm',
    ...dockerArgs,
    '--network',
    'host',
    '-e',
    'MYSQL_PWD',
    '-v',
    `${reports}:/work/reports`,
    IMAGE,
  ].concat(['run', '--target', srv.url]);
}

before(async () => {
  const inspect = await docker(['image', 'inspect', IMAGE]);
  assert.equal(inspect.code, 0, `no image ${IMAGE}: build it with bash scripts/build-harness-image.sh`);
  ({ srv, dir } = await serverAndDir('downtime-image-'));
  chmodSync(dir, 0o755);
});
after(async () => removeServerAndDir(srv, dir));

test('the image: downtime --version, an unprivileged user, a font, production dependencies only', async () => {
  const v = await docker(['run', '--rm', IMAGE, '--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), toolVersion());
  const user = await docker(['image', 'inspect', '--format', '{{.Config.User}}', IMAGE]);
  assert.equal(user.stdout.trim(), '10001:10001');
  const id = await docker(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', 'id -u; pwd; touch x && echo writable']);
  assert.deepEqual(id.stdout.trim().split('\n'), ['10001', '/work', 'writable'], id.stderr);
  const fonts = await docker(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', 'ls /usr/share/fonts/truetype/dejavu']);
  assert.match(fonts.stdout, /DejaVuSans\.ttf/);
  const deps = await docker([
    'run',
    '--rm',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    'ls /opt/downtime/node_modules; ls /opt/downtime; command -v npm || echo no-npm',
  ]);
  const listed = deps.stdout.split(/\s+/);
  for (const dev of ['typescript', 'eslint', 'prettier', 'knip', 'ajv'])
    assert.ok(!listed.includes(dev), `${dev} in the image`);
  for (const prod of ['mysql2', 'canvas', 'hdr-histogram-js', 'chartjs-node-canvas'])
    assert.ok(listed.includes(prod), `${prod} missing`);
  assert.ok(!listed.includes('src') && !listed.includes('test'), 'no sources or tests in the image');
  assert.ok(listed.includes('no-npm'), 'no npm in the final image');
});

test('a run from the image against a real server: results, report and PNG charts, no password anywhere', async () => {
  const reports = reportsDir('run');
  const r = await docker(
    [
      ...downtimeRun(reports),
      '--reads',
      '20',
      '--writes',
      '10',
      '--duration',
      '3s',
      '--no-progress',
      '--out',
      'reports/run.ndjson',
    ],
    { env: { MYSQL_PWD: srv.password }, boundMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const file = readResults(join(reports, 'run.ndjson'));
  assert.equal(file.trailer?.reason, 'completed');
  const totals = file.trailer?.totals;
  assert.ok((totals?.read?.ok ?? 0) >= 55 && (totals?.read?.ok ?? 0) <= 61, `reads ok: ${totals?.read?.ok}`);
  assert.ok((totals?.write?.ok ?? 0) >= 27 && (totals?.write?.ok ?? 0) <= 31, `writes ok: ${totals?.write?.ok}`);
  assert.equal(file.header.target.host, '127.0.0.1');
  const written = readdirSync(reports, { recursive: true }).map(String);
  assert.ok(
    written.some((f) => f.endsWith('summary.json')),
    `summary.json among ${written.join(', ')}`,
  );
  assert.ok(
    written.some((f) => f.endsWith('.png')),
    `a PNG among ${written.join(', ')}`,
  );
  for (const f of written) {
    const p = join(reports, f);
    if (existsSync(p) && !f.includes('/') && f.includes('.')) {
      assert.ok(!readFileSync(p).includes(srv.password), `no password in ${f}`);
    }
  }
  assert.ok(!(r.stdout + r.stderr).includes(srv.password), 'no password in the output');
});

/** Fraction of pixels whose RGBA differs by more than 8 in any channel. */
async function pixelDiff(a: string, b: string): Promise<number> {
  const [ia, ib] = await Promise.all([loadImage(a), loadImage(b)]);
  assert.equal(ia.width, ib.width);
  assert.equal(ia.height, ib.height);
  const data = (img: typeof ia): Uint8ClampedArray => {
    const c = createCanvas(img.width, img.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return ctx.getImageData(0, 0, img.width, img.height).data;
  };
  const da = data(ia);
  const db = data(ib);
  let diff = 0;
  for (let i = 0; i < da.length; i += 4) {
    for (let k = 0; k < 4; k++) {
      if (Math.abs((da[i + k] as number) - (db[i + k] as number)) > 8) {
        diff++;
        break;
      }
    }
  }
  return diff / (da.length / 4);
}

test("the image's chart is this machine's chart: text rendered with a real font, not boxes", async () => {
  const inImage = reportsDir('report-image');
  const r = await docker([
    'run',
    '--rm',
    '-v',
    `${FIXTURE}:/work/small.ndjson:ro`,
    '-v',
    `${inImage}:/work/reports`,
    IMAGE,
    'report',
    'small.ndjson',
    '--out',
    'reports',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const onHost = join(dir, 'report-host');
  const h = await runMain(['report', FIXTURE, '--out', onHost]);
  assert.equal(h.code, 0, h.err);
  const pngs = readdirSync(onHost).filter((f) => f.endsWith('.png'));
  assert.ok(pngs.length > 0, 'the host rendered PNGs');
  for (const png of pngs) {
    // The host has DejaVu (fonts-dejavu-core); an image without a font draws every glyph as a box.
    const d = await pixelDiff(join(onHost, png), join(inImage, png));
    assert.ok(d < 0.002, `${png}: ${(d * 100).toFixed(2)} % of pixels differ from the host's rendering`);
  }
});

test('docker stop mid-run: SIGTERM ends the run with a complete file, well before docker would kill it', async () => {
  const reports = reportsDir('stop');
  const name = `downtime-image-check-${process.pid}`;
  const running = docker(
    [
      ...downtimeRun(reports, ['--name', name]),
      '--duration',
      '60s',
      '--no-progress',
      '--out',
      'reports/stopped.ndjson',
    ],
    { env: { MYSQL_PWD: srv.password }, boundMs: 90_000 },
  );
  const deadline = Date.now() + 30_000;
  while (
    !existsSync(join(reports, 'stopped.ndjson')) ||
    !readFileSync(join(reports, 'stopped.ndjson'), 'utf8').includes('"type":"second"')
  ) {
    assert.ok(Date.now() < deadline, 'the run started probing within 30 s');
    await new Promise((res) => setTimeout(res, 200));
  }
  const t0 = Date.now();
  const stop = await docker(['stop', '--time', '20', name], { boundMs: 40_000 });
  assert.equal(stop.code, 0, stop.stderr);
  const stoppedInMs = Date.now() - t0;
  const r = await running;
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  assert.ok(stoppedInMs < 15_000, `stopped in ${stoppedInMs} ms (docker kills at 20 s)`);
  const file = readResults(join(reports, 'stopped.ndjson'));
  assert.equal(file.complete, true);
  assert.equal(file.trailer?.reason, 'interrupted');
});

test("deploy/k8s/downtime-job.yaml's pod, as docker runs it: its command, read-only root, uid 10001, results on the volume", async () => {
  // The manifest itself: the Job's container command and args, and the ConfigMap's scenario pointed at our server.
  const docs = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const job = docs.find((d) => d.kind === 'Job');
  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const pod = job?.spec?.template?.spec;
  const container = pod?.containers?.[0];
  assert.ok(container && configMap, 'the manifest has a Job with a container and a ConfigMap');
  assert.equal(pod.securityContext.runAsUser, 10001);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  const scenario = String(configMap.data['scenario.yaml'])
    .replace(/^target: .*$/m, `target: ${srv.url}`)
    .replace(/^duration: .*$/m, 'duration: 3s');
  assert.notEqual(scenario, configMap.data['scenario.yaml']);
  const scenarioDir = reportsDir('k8s-scenario');
  writeFileSync(join(scenarioDir, 'scenario.yaml'), scenario);
  const results = reportsDir('k8s-results');
  const mounts = (container.volumeMounts as { name: string; mountPath: string }[]).map((m) => m.mountPath);
  assert.deepEqual([...mounts].sort(), ['/results', '/scenario', '/work']);
  const r = await docker(
    [
      'run',
      '--rm',
      '--network',
      'host',
      '--read-only',
      '--user',
      `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
      '--tmpfs',
      `/work:uid=${pod.securityContext.runAsUser}`,
      '-v',
      `${scenarioDir}:/scenario:ro`,
      '-v',
      `${results}:/results`,
      '-e',
      'POD_NAME=downtime-0-check',
      '-e',
      'MYSQL_PWD',
      '-e',
      'HOLD_SECONDS=0',
      '--entrypoint',
      container.command[0],
      IMAGE,
      ...container.command.slice(1),
      ...container.args,
    ],
    { env: { MYSQL_PWD: srv.password }, boundMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /downtime run exited with 0: \/results\/downtime-0-check\.ndjson/);
  const file = readResults(join(results, 'downtime-0-check.ndjson'));
  assert.equal(file.trailer?.reason, 'completed');
  assert.ok((file.trailer?.totals.read?.ok ?? 0) > 0, 'reads answered');
  assert.ok(!(r.stdout + r.stderr).includes(srv.password), 'no password in the output');
});
