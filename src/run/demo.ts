import { writeFileAtomic, makeDirs } from '../util/fs-atomic.js';
import { join, resolve } from 'node:path';
import { freshSandboxProvider } from '../actions/sandbox.js';
import { finishRun, runFromArgs } from './finish.js';
import type { RunArgs } from './plan.js';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import { chartWarning, formatCompareTable, renderCompare } from '../report/index.js';
import type { Summary } from '../analyze/index.js';
import { readResults } from '../results/reader.js';
import { packageRoot, shippedScript } from '../version.js';
import { ContainerEngine } from '../sandbox/containers/engine.js';
import { resolveSandboxServers } from '../sandbox/providers.js';

export interface DemoOptions {
  /** A short version (about 40 s in all) for CI and a first look. */
  quick: boolean;
  /** Directory for everything the demo writes. */
  outDir: string;
  progress: boolean;
  /** The servers (an image, a server directory, or path); default: found (demoServers). */
  from?: string;
  to?: string;
  /** Where to look for a Docker engine (tests); default: the process's environment. */
  env?: NodeJS.ProcessEnv;
}

export interface DemoResult {
  inPlace: string;
  blueGreen: string;
  comparePng: string;
  compareFiles: string[];
  summaries: Summary[];
}

/**
 * The quick demo's scenarios: the shipped ones, shortened. Written next to the results so a reader can
 * see exactly what ran.
 */
function quickScenarios(): { inPlace: string; blueGreen: string } {
  const load = 'load:\n  reads: 100\n  writes: 50\n  connection: pool\n  timeout: 1s\n';
  return {
    inPlace:
      'name: in-place\ndescription: quick demo of an in-place upgrade (modify-db-instance)\nsandbox: single\nduration: 18s\n' +
      load +
      'actions:\n  - at: 4s\n    name: in-place upgrade\n    step: in-place-upgrade\n    with: { offline: 5s }\n' +
      'thresholds:\n  - lost_writes==0\n',
    blueGreen:
      'name: blue-green\ndescription: quick demo of a blue/green switchover\nsandbox: blue-green\nduration: 14s\n' +
      load +
      'actions:\n  - at: 4s\n    name: switchover\n    step: switchover\n    with: { maxLag: 1s, timeout: 20s, blockWrites: 3s, rename: 1500ms }\n' +
      'thresholds:\n  - lost_writes==0\n',
  };
}

/**
 * `downtime demo`: rehearses both upgrade methods on local servers the demo starts itself (an in-place
 * upgrade on a single server; a blue/green switchover on a source and its replica behind an endpoint
 * proxy), renders each report and the comparison, prints the comparison table, and cleans up.
 */
export async function runDemo(opts: DemoOptions, io: Io): Promise<DemoResult> {
  const outDir = resolve(io.cwd, opts.outDir);
  // Not mkdirSync's { recursive: true }: under /proc it loops forever; this fails at once with one line.
  makeDirs(outDir, 'choose another --out');
  let files: { inPlace: string; blueGreen: string };
  if (opts.quick) {
    const q = quickScenarios();
    files = { inPlace: join(outDir, 'in-place.yaml'), blueGreen: join(outDir, 'blue-green.yaml') };
    writeFileAtomic(files.inPlace, q.inPlace, { hint: 'choose another --out' });
    writeFileAtomic(files.blueGreen, q.blueGreen, { hint: 'choose another --out' });
  } else {
    // From the installed package, not the current directory: works when downtime is a dependency.
    const dir = join(packageRoot(), 'scenarios');
    files = { inPlace: join(dir, 'local-in-place.yaml'), blueGreen: join(dir, 'local-blue-green.yaml') };
  }
  // Ctrl-C anywhere in the demo: the run in progress stops (its own handler) and its sandbox goes, and no
  // further rehearsal starts; outside a run (reading image versions), nothing starts after it.
  let interrupted: string | undefined;
  const unregister = io.onSignal((signal) => (interrupted ??= signal));
  const stopIfInterrupted = (): void => {
    if (interrupted !== undefined) {
      throw new DowntimeError(`${interrupted}: demo stopped; nothing is left running`, ExitCode.Interrupted);
    }
  };
  try {
    return await demo(opts, io, outDir, files, stopIfInterrupted);
  } finally {
    unregister();
  }
}

async function demo(
  opts: DemoOptions,
  io: Io,
  outDir: string,
  files: { inPlace: string; blueGreen: string },
  stopIfInterrupted: () => void,
): Promise<DemoResult> {
  const servers = await demoServers(opts, io);
  stopIfInterrupted();
  // The first line says what is rehearsed: a real upgrade, or a restart of the same server.
  io.stderr(`downtime demo: rehearsing ${servers.line}: in place, then blue/green\n`);
  const sandbox = freshSandboxProvider({ say: (line) => io.stderr(line) });
  const runOne = async (scenario: string, name: string): Promise<string> => {
    stopIfInterrupted();
    io.stderr(`downtime demo: ${name}\n`);
    const args: RunArgs = {
      scenario,
      out: join(outDir, `${name}.ndjson`),
      force: true,
      progress: opts.progress,
      ...(servers.from !== undefined ? { from: servers.from } : {}),
      ...(servers.to !== undefined ? { to: servers.to } : {}),
    };
    const outcome = await runFromArgs(args, io, { sandbox });
    const code = await finishRun(outcome, io);
    if (code === ExitCode.Interrupted) throw new DowntimeError('demo interrupted', ExitCode.Interrupted);
    stopIfInterrupted();
    return outcome.result.path;
  };
  const inPlace = await runOne(files.inPlace, 'in-place');
  const blueGreen = await runOne(files.blueGreen, 'blue-green');
  const compared = await renderCompare([readResults(inPlace), readResults(blueGreen)], join(outDir, 'compare'));
  if (compared.chartError !== undefined) io.stderr(chartWarning(join(outDir, 'compare'), compared.chartError));
  const comparePng = compared.files.find((f) => f.endsWith('compare.png')) ?? compared.files[0] ?? '';
  io.stdout('\n' + formatCompareTable(compared.summaries) + '\n');
  io.stdout(`comparison chart: ${comparePng}\n`);
  return { inPlace, blueGreen, comparePng, compareFiles: compared.files, summaries: compared.summaries };
}

/** Locally built images first (scripts/build-images.sh), then the official ones, if they are on this machine. */
const DEMO_IMAGE_PAIRS: [string, string][] = [
  ['downtime/mariadb:10.11', 'downtime/mariadb:11.8'],
  ['mariadb:10.11', 'mariadb:11.8'],
  ['mysql:8.0', 'mysql:8.4'],
];

/**
 * What the demo rehearses: --from/--to when given; else a real major upgrade when it can — a Docker engine
 * answers and a pair of images of two versions is on this machine (no pull: the demo must not wait on a
 * registry); else a restart of the server on PATH, saying so and how to get a real upgrade.
 */
async function demoServers(
  opts: Pick<DemoOptions, 'from' | 'to' | 'env'>,
  io: Io,
): Promise<{ from?: string; to?: string; line: string }> {
  if (opts.from !== undefined || opts.to !== undefined) {
    const s = await resolveSandboxServers(opts.from, opts.to, { from: '--from', to: '--to' }, opts.env);
    return {
      ...(opts.from !== undefined ? { from: opts.from } : {}),
      ...(opts.to !== undefined ? { to: opts.to } : {}),
      line: s.description,
    };
  }
  let engine: ContainerEngine | undefined;
  try {
    engine = await ContainerEngine.connect(opts.env);
  } catch {
    engine = undefined;
  }
  if (engine !== undefined) {
    for (const [from, to] of DEMO_IMAGE_PAIRS) {
      if ((await engine.hasImage(from)) && (await engine.hasImage(to))) {
        const s = await resolveSandboxServers(from, to, { from: 'demo image', to: 'demo image' }, opts.env);
        return { from, to, line: s.description };
      }
    }
  }
  const s = await resolveSandboxServers(undefined, undefined);
  const why =
    engine === undefined
      ? 'no Docker engine answers'
      : `no pair of images of two versions is on this machine (${DEMO_IMAGE_PAIRS.map((p) => p.join(' + ')).join(', ')})`;
  io.stderr(
    `downtime demo: ${why}, so this rehearses a restart of the same server, not an upgrade; for a real one build local images (${shippedScript('build-images.sh')}) or pass --from and --to\n`,
  );
  return { line: s.description };
}
