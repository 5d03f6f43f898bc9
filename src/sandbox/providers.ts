import { randomBytes } from 'node:crypto';
import { DowntimeError, ExitCode } from '../errors.js';
import { parseServerSource, type ServerSource } from '../scenario/server-source.js';
import { ContainerEngine } from './containers/engine.js';
import { imageVersion } from './containers/images.js';
import { ContainerProvider } from './containers/provider.js';
import { LocalProvider, localProcesses } from './servers/local-process.js';
import type { ServerProvider } from './servers/types.js';
import { checkUpgrade, isUpgrade, parseVersionLine, versionName, type ServerVersion } from './versions.js';

/** The two servers of a sandbox, resolved and checked: what starts them, and what they are. */
export interface SandboxServers {
  from: ServerProvider;
  to: ServerProvider;
  fromVersion: ServerVersion;
  toVersion: ServerVersion;
  /** `to` is a newer release than `from` (a real upgrade), not the same server again (a restart). */
  upgrade: boolean;
  /** Containers: the engine and the sandbox id their names and labels carry (for the sweep). */
  containers?: { engine: ContainerEngine; sandboxId: string };
  /** One line for the run's first words, e.g. "MariaDB 10.11.18 → MariaDB 11.8.9 in containers". */
  description: string;
}

/** A short id for a sandbox's containers and volumes: downtime-<id>-blue. */
function newSandboxId(): string {
  return randomBytes(4).toString('hex');
}

/**
 * `from` / `to` as written (`mariadb:10.11`, `/opt/mysql-8.4.3`, `path`, or nothing) → the providers that start
 * those servers, with their versions read and the pair checked, before anything starts: Docker not running,
 * an image that is missing and cannot be pulled, a server directory without a server, a downgrade, MySQL ⇄
 * MariaDB are each one line (exit 7 for what the machine lacks, 2 for what was asked). Without `to`, the same
 * as `from` (a restart rehearsal, as before versions existed). Leftover containers and volumes of sandboxes
 * whose process is gone (a kill -9) are removed on the way.
 */
export async function resolveSandboxServers(
  fromText: string | undefined,
  toText: string | undefined,
  names: { from: string; to: string } = { from: '--from', to: '--to' },
  env: NodeJS.ProcessEnv = process.env,
): Promise<SandboxServers> {
  const fromSource = parseServerSource(fromText, names.from);
  const toSource = toText === undefined ? fromSource : parseServerSource(toText, names.to);
  const images = [fromSource, toSource].filter((s) => s.kind === 'image').length;
  if (images === 1) {
    throw new DowntimeError(
      `${names.from} and ${names.to} must both be images or both be server binaries (a directory or path): in place, the new version starts on the old one's data, which a container and a local process do not share`,
      ExitCode.Usage,
    );
  }
  if (images === 2) return resolveImages(fromSource, toSource, env);
  const from = localProvider(fromSource);
  const to = sameSource(fromSource, toSource) ? from : localProvider(toSource);
  const fromVersion = versionOf((await from.binaries()).version, await from.describe());
  const toVersion = to === from ? fromVersion : versionOf((await to.binaries()).version, await to.describe());
  checkUpgrade(fromVersion, toVersion);
  const upgrade = isUpgrade(fromVersion, toVersion);
  return {
    from,
    to,
    fromVersion,
    toVersion,
    upgrade,
    description: `${describePair(fromVersion, toVersion)} as local processes`,
  };
}

async function resolveImages(
  fromSource: ServerSource,
  toSource: ServerSource,
  env: NodeJS.ProcessEnv,
): Promise<SandboxServers> {
  const fromImage = (fromSource as { image: string }).image;
  const toImage = (toSource as { image: string }).image;
  const engine = await ContainerEngine.connect(env);
  // What a crashed run left (its process is gone) goes first: its containers would hold ports and volumes.
  await engine.sweep();
  const sandboxId = newSandboxId();
  const fromVersion = await imageVersion(engine, fromImage, sandboxId);
  const toVersion = toImage === fromImage ? fromVersion : await imageVersion(engine, toImage, sandboxId);
  checkUpgrade(fromVersion, toVersion);
  const from = new ContainerProvider(engine, fromImage, fromVersion, sandboxId);
  const to = toImage === fromImage ? from : new ContainerProvider(engine, toImage, toVersion, sandboxId);
  return {
    from,
    to,
    fromVersion,
    toVersion,
    upgrade: isUpgrade(fromVersion, toVersion),
    containers: { engine, sandboxId },
    description: `${describePair(fromVersion, toVersion)} in containers (${fromImage}${toImage === fromImage ? '' : ` → ${toImage}`})`,
  };
}

/** The binaries on PATH, or a server directory's. */
function localProvider(s: ServerSource): LocalProvider {
  return s.kind === 'directory' ? new LocalProvider(s.dir) : localProcesses;
}

function sameSource(a: ServerSource, b: ServerSource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function versionOf(line: string, what: string): ServerVersion {
  const v = parseVersionLine(line);
  if (v === undefined) {
    throw new DowntimeError(`cannot tell which server ${what} is (its --version said "${line}")`, ExitCode.Sandbox);
  }
  return v;
}

/** "MariaDB 10.11.18 → MariaDB 11.8.9", or "MariaDB 10.11.19 (the same version before and after)". */
function describePair(from: ServerVersion, to: ServerVersion): string {
  return isUpgrade(from, to)
    ? `${versionName(from)} → ${versionName(to)}`
    : `${versionName(from)} (the same version before and after: a restart, not an upgrade)`;
}
