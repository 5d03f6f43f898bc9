import { DowntimeError, ExitCode } from '../errors.js';

/**
 * `from` / `to` of a sandbox (the old and the new server): a container image, a server directory (an extracted
 * MySQL/MariaDB tarball, or any prefix with bin/ or sbin/), or the binaries on PATH.
 */
export type ServerSource = { kind: 'path' } | { kind: 'directory'; dir: string } | { kind: 'image'; image: string };

/**
 * Docker's image reference, loosely: [registry[:port]/]name[/name…][:tag][@digest], lower-case name parts.
 * Enough to tell an image from a path and to refuse a typo before anything starts.
 */
const IMAGE_REF =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * `from` / `to` as written: `path` (or nothing) for the binaries on PATH, a path (`/opt/mysql-8.0.40`, `./x`,
 * `~/x`) for a server directory, anything else an image (`mariadb:11.8`, `mysql:8.4`, `downtime/mariadb:10.11`).
 * `what` names the value in messages (`--from`, `sandbox.to`).
 */
export function parseServerSource(text: string | undefined, what: string, home = process.env.HOME): ServerSource {
  const t = (text ?? '').trim();
  if (t === '' || t === 'path') return { kind: 'path' };
  if (t.startsWith('/') || t.startsWith('./') || t.startsWith('../') || t === '.' || t === '~' || t.startsWith('~/')) {
    const dir = t === '~' || t.startsWith('~/') ? `${home ?? '~'}${t.slice(1)}` : t;
    return { kind: 'directory', dir };
  }
  if (!IMAGE_REF.test(t)) {
    throw new DowntimeError(
      `${what} "${t}" is neither an image (e.g. mariadb:11.8, mysql:8.4) nor a server directory (an absolute or ./relative path) nor "path"`,
      ExitCode.Usage,
    );
  }
  return { kind: 'image', image: t };
}
