/**
 * A sandbox that outlives the command that started it (`downtime sandbox up`): server processes and a
 * proxy daemon started detached, described by a state file, so that `sandbox status|down` and
 * `connectSandbox()` (used by `downtime run` with a scenario) find them again — even after a crash.
 * This is that state file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import { LocalServer } from '../servers/local-process.js';
import type { MysqlServer } from '../servers/types.js';
import type { Topology } from '../topology/types.js';

export interface ServerState {
  pid: number | null;
  port: number;
  serverId: number;
  dir: string;
  dataDir: string;
  binary: string;
  args: string[];
  /** The server's --version line (absent in state files written before versions). */
  version?: string;
  /** Its upgrade tool (mariadb-upgrade, mysql_upgrade), or null when the server upgrades itself at start. */
  upgradeTool?: string | null;
  /** What an in-place upgrade switches it to (`sandbox up --to`): the new version's command line and tool. */
  next?: { binary: string; args: string[]; version: string; upgradeTool: string | null };
}

export interface SandboxState {
  version: 1;
  topology: Topology;
  createdAtMs: number;
  stateDir: string;
  endpoint: { url: string; host: '127.0.0.1'; port: number; user: string; database: string };
  /** 0600 file with the app user's password (never in this file or any output). */
  passwordFile: string;
  /** 0600 file with the replication user's password (for reset). */
  replPasswordFile: string;
  active: 'blue' | 'green';
  proxy: { pid: number | null; port: number; control: string };
  servers: { blue: ServerState; green?: ServerState };
  /** `sandbox up --from/--to` as given (server directories, or path); absent: the binaries on PATH. */
  versions?: { from?: string; to?: string; description?: string };
}

export const DEFAULT_STATE_DIR = '.downtime/sandbox';
const STATE_FILE = 'state.json';

function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE);
}

export function readState(stateDir: string): SandboxState | null {
  const p = statePath(stateDir);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as SandboxState;
  } catch (err) {
    throw new DowntimeError(
      `the sandbox state file ${p} is unreadable (${oneLine((err as Error).message)}); remove ${stateDir} after checking for processes`,
      ExitCode.InputFile,
    );
  }
}

export function writeState(state: SandboxState): void {
  const p = statePath(state.stateDir);
  writeFileSync(p + '.tmp', JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(p + '.tmp', p);
}

/**
 * What the state file records of a server, to find it again and start it with the same command line; and of a
 * local server with a version to upgrade to, that version's command line (the in-place step of a later
 * process switches to it).
 */
export async function serverState(s: MysqlServer): Promise<ServerState> {
  const local = s instanceof LocalServer ? s : undefined;
  const next = local ? await local.nextVersion() : undefined;
  return {
    pid: s.pid,
    port: s.port,
    serverId: s.serverId,
    dir: s.dir,
    dataDir: s.dataDir,
    binary: s.binary,
    args: s.args,
    version: s.version,
    ...(local ? { upgradeTool: local.upgradeTool } : {}),
    ...(next !== undefined ? { next } : {}),
  };
}
