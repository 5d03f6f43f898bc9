import { sleep } from '../../util/sleep.js';
import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { DowntimeError, ExitCode, oneLine } from '../../errors.js';
import { shippedScript } from '../../version.js';

/**
 * The Docker Engine API, through dockerode (a thin, well-kept client of the same API the docker CLI speaks;
 * Podman's compatible socket works too). `DOCKER_HOST` is honoured (unix:// or tcp://), else
 * /var/run/docker.sock. Why not Testcontainers: it starts a reaper container pulled from a registry
 * (unreachable on many CI and air-gapped machines), looks for a bridge network, and its MySQL/MariaDB
 * modules drive the official images' entrypoint scripts; the sandbox needs its own command lines (one for
 * official images and locally built ones alike), host networking, slow shutdowns, execs, and a label sweep
 * of what a crashed run left — a few calls of the engine API, which dockerode gives without the rest.
 *
 * Everything the sandbox creates carries labels: `downtime.sandbox` (the sandbox's id), `downtime.pid` and
 * `downtime.host` (the process that made it), so that a later start removes what a dead process left.
 */
const LABEL_SANDBOX = 'downtime.sandbox';
export const LABEL_PID = 'downtime.pid';
const LABEL_HOST = 'downtime.host';

/** How long the engine may take to answer a ping before it counts as not running. */
const PING_TIMEOUT_MS = 5_000;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunSpec {
  name: string;
  image: string;
  entrypoint: string[];
  cmd: string[];
  labels: Record<string, string>;
  /** `volume:/path` mounts. */
  binds: string[];
}

/** The labels that mark something as this process's, for the sandbox `id`. */
export function ownLabels(id: string): Record<string, string> {
  return { [LABEL_SANDBOX]: id, [LABEL_PID]: String(process.pid), [LABEL_HOST]: hostname() };
}

/** Where the engine is, as the user would name it. */
function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '' ? env.DOCKER_HOST : 'unix:///var/run/docker.sock';
}

export class ContainerEngine {
  private constructor(
    readonly docker: Docker,
    readonly address: string,
  ) {}

  /**
   * Connects to the engine and checks it answers. Not installed, not running, no permission: one line saying
   * what to do, exit 7 (sandbox).
   */
  static async connect(env: NodeJS.ProcessEnv = process.env): Promise<ContainerEngine> {
    const address = engineAddress(env);
    const docker = new Docker();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        docker.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })),
            PING_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      throw new DowntimeError(
        `no Docker engine answers at ${address} (${engineProblem(err)}); ${engineHint()}`,
        ExitCode.Sandbox,
      );
    } finally {
      clearTimeout(timer);
    }
    return new ContainerEngine(docker, address);
  }

  /** Whether the engine has this image locally. */
  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw this.failure(`inspect image ${ref}`, err);
    }
  }

  /**
   * Makes sure the image is here: pulled when missing (bounded). An image that cannot be had is one line that
   * says how to get it; no registry reachable is the common case on CI and air-gapped machines.
   */
  async ensureImage(ref: string, pullTimeoutMs = 600_000): Promise<void> {
    if (await this.hasImage(ref)) return;
    try {
      await withTimeout(this.pull(ref), pullTimeoutMs, `pulling ${ref} took longer than ${pullTimeoutMs / 1000} s`);
    } catch (err) {
      throw new DowntimeError(
        `image ${ref} is not on this machine and could not be pulled (${oneLine(messageOf(err))}); pull it where a registry is reachable and docker save/load it, or build local MariaDB images with ${shippedScript('build-images.sh')} (downtime/mariadb:10.11, downtime/mariadb:11.8)`,
        ExitCode.Sandbox,
      );
    }
  }

  private async pull(ref: string): Promise<void> {
    const stream = await this.docker.pull(ref);
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.docker.createVolume({ Name: name, Labels: labels });
    } catch (err) {
      throw this.failure(`create volume ${name}`, err);
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove({ force: true });
    } catch (err) {
      if (statusOf(err) !== 404) throw this.failure(`remove volume ${name}`, err);
    }
  }

  /** Creates and starts a container (host network: it listens on the host's loopback directly). */
  async run(spec: RunSpec): Promise<Docker.Container> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Entrypoint: spec.entrypoint,
        Cmd: spec.cmd,
        Labels: spec.labels,
        HostConfig: { NetworkMode: 'host', Binds: spec.binds },
      });
    } catch (err) {
      throw this.failure(`create container ${spec.name} from ${spec.image}`, err);
    }
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw this.failure(`start container ${spec.name}`, err);
    }
    return container;
  }

  /** Runs a one-shot container to its end (bounded); returns its exit code and output, and removes it. */
  async runOnce(spec: RunSpec, timeoutMs: number): Promise<ExecResult> {
    const container = await this.run(spec);
    try {
      const waited = (await withTimeout(
        container.wait(),
        timeoutMs,
        `${spec.entrypoint.join(' ')} in ${spec.image} did not finish in ${timeoutMs / 1000} s`,
      )) as { StatusCode: number };
      const { stdout, stderr } = await this.logs(container);
      return { exitCode: waited.StatusCode, stdout, stderr };
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /** Runs a command in a running container (bounded); its exit code and output. */
  async exec(container: Docker.Container, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    try {
      const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      const out = collect();
      const err = collect();
      this.docker.modem.demuxStream(stream, out.sink, err.sink);
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        }),
        timeoutMs,
        `${cmd.join(' ')} did not finish in ${timeoutMs / 1000} s`,
      );
      let info = await exec.inspect();
      for (let i = 0; info.Running && i < 50; i++) {
        await sleep(20);
        info = await exec.inspect();
      }
      return { exitCode: info.ExitCode ?? -1, stdout: out.text(), stderr: err.text() };
    } catch (err) {
      if (err instanceof DowntimeError) throw err;
      throw this.failure(`run ${cmd[0] ?? 'a command'} in a container`, err);
    }
  }

  /** The last lines a container wrote (both streams), for saying why it stopped. */
  async logs(container: Docker.Container, tail = 40): Promise<{ stdout: string; stderr: string }> {
    try {
      const buf = (await container.logs({ stdout: true, stderr: true, follow: false, tail })) as unknown as Buffer;
      return demuxBuffer(buf);
    } catch {
      return { stdout: '', stderr: '' };
    }
  }

  /**
   * Removes what this sandbox made (by its id), and what sandboxes of processes that no longer run on this host
   * left (a kill -9, a crash): containers first, since a volume in use cannot be removed.
   */
  async sweep(sandboxId?: string): Promise<{ containers: number; volumes: number }> {
    const mine = (labels: Record<string, string> | undefined): boolean => {
      if (labels === undefined || labels[LABEL_SANDBOX] === undefined) return false;
      if (sandboxId !== undefined && labels[LABEL_SANDBOX] === sandboxId) return true;
      return labels[LABEL_HOST] === hostname() && !processRuns(Number(labels[LABEL_PID]));
    };
    let containers = 0;
    let volumes = 0;
    const listed = await this.docker.listContainers({ all: true, filters: { label: [LABEL_SANDBOX] } });
    for (const c of listed) {
      if (!mine(c.Labels)) continue;
      await this.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .then(() => containers++)
        .catch(() => undefined);
    }
    const vols = await this.docker.listVolumes({ filters: { label: [LABEL_SANDBOX] } });
    for (const v of vols.Volumes ?? []) {
      if (!mine(v.Labels ?? undefined)) continue;
      await this.removeVolume(v.Name)
        .then(() => volumes++)
        .catch(() => undefined);
    }
    return { containers, volumes };
  }

  /** Containers and volumes of a sandbox still present (for checks that nothing is left). */
  async leftovers(sandboxId: string): Promise<{ containers: string[]; volumes: string[] }> {
    const filters = { label: [`${LABEL_SANDBOX}=${sandboxId}`] };
    const cs = await this.docker.listContainers({ all: true, filters });
    const vs = await this.docker.listVolumes({ filters });
    return { containers: cs.flatMap((c) => c.Names), volumes: (vs.Volumes ?? []).map((v) => v.Name) };
  }

  failure(what: string, err: unknown): DowntimeError {
    const status = statusOf(err);
    if (status === undefined && isConnectionError(err)) {
      return new DowntimeError(
        `cannot ${what}: the Docker engine at ${this.address} stopped answering (${engineProblem(err)})`,
        ExitCode.Sandbox,
      );
    }
    return new DowntimeError(`cannot ${what}: ${oneLine(messageOf(err))}`, ExitCode.Sandbox);
  }
}

const engineHint = (): string =>
  `start Docker (Docker Desktop; \`sudo systemctl start docker\`; on a bare Debian machine ${shippedScript('docker-engine.sh')}), or point DOCKER_HOST at a running engine (Podman: unix:///run/podman/podman.sock); or use server binaries instead of images`;

function engineProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ENOENT':
      return 'no such socket: Docker is not installed or not running';
    case 'ECONNREFUSED':
      return 'connection refused: Docker is not running';
    case 'EACCES':
      return 'permission denied on the socket: add yourself to the docker group, or run as root';
    case 'ETIMEDOUT':
      return 'it did not answer within 5 s';
    default:
      return oneLine(messageOf(err));
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE';
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** dockerode's own message names the wrong thing for a missing image ("no such container"): json.message does not. */
function messageOf(err: unknown): string {
  const json = (err as { json?: { message?: unknown } }).json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}

function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function collect(): { sink: PassThrough; text: () => string } {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  return { sink, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** A non-TTY container's log buffer: frames of [stream, 0, 0, 0, size (4 bytes BE)] + payload. */
function demuxBuffer(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const stream = buf[i];
    const size = buf.readUInt32BE(i + 4);
    const payload = buf.subarray(i + 8, i + 8 + size);
    (stream === 2 ? err : out).push(payload);
    i += 8 + size;
  }
  if (i === 0 && buf.length > 0) out.push(buf); // a TTY container: no frames
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DowntimeError(message, ExitCode.Sandbox)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
