import { DowntimeError, ExitCode } from '../../errors.js';
import { parseVersionLine, type ServerVersion } from '../versions.js';
import { ownLabels, type ContainerEngine } from './engine.js';

/** Reading a server's version in a one-shot container takes well under a second; bounded. */
const VERSION_TIMEOUT_MS = 60_000;

/**
 * What server an image holds, from its own `--version`: mariadbd first (MariaDB ≥ 10.5), then mysqld (MySQL,
 * Percona, older MariaDB). The image must be on the machine (or pullable): ensureImage first.
 */
export async function imageVersion(engine: ContainerEngine, image: string, sandboxId: string): Promise<ServerVersion> {
  await engine.ensureImage(image);
  for (const binary of ['mariadbd', 'mysqld']) {
    const r = await engine
      .runOnce(
        {
          name: `downtime-${sandboxId}-version-${binary}`,
          image,
          entrypoint: [binary],
          cmd: ['--version'],
          labels: ownLabels(sandboxId),
          binds: [],
        },
        VERSION_TIMEOUT_MS,
      )
      .catch(() => null);
    const v = r !== null && r.exitCode === 0 ? parseVersionLine(r.stdout) : undefined;
    if (v !== undefined) return v;
  }
  throw new DowntimeError(
    `image ${image} holds no MySQL or MariaDB server (neither mariadbd --version nor mysqld --version answered); name a mysql:… or mariadb:… image`,
    ExitCode.Usage,
  );
}
