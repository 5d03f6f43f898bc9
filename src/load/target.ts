import { readFileSync } from 'node:fs';
import { DowntimeError, ExitCode } from '../errors.js';

/** Where the probes go. The password is kept apart from everything that gets printed or stored. */
export interface Target {
  host: string;
  port: number;
  user: string;
  database: string;
  /** mysql://user@host:port/db — never contains a password. */
  url: string;
}

export interface Credentials {
  password: string | undefined;
  /** Where it came from, for messages: 'MYSQL_PWD', 'password file', 'URL', 'none'. */
  source: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/;

/** Parses mysql://user[:password]@host[:port]/database. Returns the target and any password found in the URL. */
export function parseTargetUrl(text: string): { target: Target; urlPassword: string | undefined } {
  let u: URL;
  try {
    if (!text.includes('://')) throw new Error('no scheme');
    u = new URL(text);
  } catch {
    // The URL parser refuses a port above 65535 as a whole: name the port rather than "not a URL".
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(text)?.[1];
    if (port !== undefined && Number(port) > 65535) {
      throw new DowntimeError(`--target port ${port} is not a port number (1-65535)`, ExitCode.Usage);
    }
    throw new DowntimeError(
      `--target "${redactUrlText(text)}" is not a URL; write mysql://USER@HOST:PORT/DATABASE`,
      ExitCode.Usage,
    );
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new DowntimeError(
      `--target must start with mysql:// (got ${u.protocol}//); write mysql://USER@HOST:PORT/DATABASE`,
      ExitCode.Usage,
    );
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '')
    throw new DowntimeError('--target has no host; write mysql://USER@HOST:PORT/DATABASE', ExitCode.Usage);
  const port = u.port === '' ? 3306 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DowntimeError(`--target port ${u.port} is not a port number (1-65535)`, ExitCode.Usage);
  }
  const user = decodeURIComponent(u.username);
  if (user === '') {
    throw new DowntimeError('--target has no user; write mysql://USER@HOST:PORT/DATABASE', ExitCode.Usage);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database === '') {
    throw new DowntimeError(
      '--target names no database; write mysql://USER@HOST:PORT/DATABASE (the harness creates its table there)',
      ExitCode.Usage,
    );
  }
  if (!IDENT.test(database)) {
    throw new DowntimeError(
      `--target database "${database}" is not a plain identifier (letters, digits, _ and $)`,
      ExitCode.Usage,
    );
  }
  if (u.search !== '' && u.search !== '?') {
    throw new DowntimeError(
      '--target takes no ?options; use flags such as --timeout and --connect-timeout instead',
      ExitCode.Usage,
    );
  }
  const urlPassword = u.password === '' ? undefined : decodeURIComponent(u.password);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    target: { host, port, user, database, url: `mysql://${encodeURIComponent(user)}@${hostPart}:${port}/${database}` },
    urlPassword,
  };
}

/** Removes anything that looks like a password from a URL-ish string (for error messages). */
export function redactUrlText(text: string): string {
  return text.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

/**
 * The password, from (in order) --password-file, the URL (discouraged: visible in `ps`), MYSQL_PWD.
 * An unreadable password file is an error, never silently "no password".
 */
export function resolveCredentials(opts: {
  passwordFile?: string | undefined;
  urlPassword?: string | undefined;
  env: Record<string, string | undefined>;
}): Credentials {
  if (opts.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.passwordFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'no such file'
          : code === 'EACCES'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'it is a directory'
              : (code ?? 'unreadable');
      throw new DowntimeError(
        `cannot read --password-file ${opts.passwordFile}: ${why}; point it at a readable file holding only the password`,
        ExitCode.InputFile,
      );
    }
    const password = text.replace(/\r?\n$/, '');
    if (password === '') {
      throw new DowntimeError(
        `--password-file ${opts.passwordFile} is empty; put the password in it, or leave the flag out for an account without one`,
        ExitCode.InputFile,
      );
    }
    checkPasswordText(password, `--password-file ${opts.passwordFile}`, ExitCode.InputFile);
    return { password, source: 'password file' };
  }
  if (opts.urlPassword !== undefined) return { password: opts.urlPassword, source: 'URL' };
  const env = opts.env.MYSQL_PWD;
  if (env !== undefined && env !== '') {
    checkPasswordText(env, 'MYSQL_PWD', ExitCode.Usage);
    return { password: env, source: 'MYSQL_PWD' };
  }
  return { password: undefined, source: 'none' };
}

/**
 * A password with a line break or another control character is a paste or quoting mistake (a second line of
 * a file, `$(…)` output with a NUL): the server would only say "access denied". Refused, without showing it.
 */
export function checkPasswordText(password: string, source: string, code: ExitCode): void {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f]/.exec(password);
  if (bad === null) return;
  const what = bad[0] === '\n' || bad[0] === '\r' ? 'a line break' : 'a control character';
  throw new DowntimeError(
    `${source} holds ${what} (at character ${bad.index + 1}); a password is one line of printable characters: set it without it`,
    code,
  );
}

/** A validated SQL identifier for the harness's table: no quoting games, no SQL. */
export function validateTableName(name: string): string {
  if (!IDENT.test(name)) {
    throw new DowntimeError(
      `--table "${name}" is not a plain identifier; use letters, digits and _ (e.g. downtime_probe)`,
      ExitCode.Usage,
    );
  }
  return name;
}
