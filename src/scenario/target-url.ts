/**
 * Target URLs, mysql://USER@HOST[:PORT]/DATABASE: the one parser for a scenario's `target:` and
 * `greenTarget:`, the flags `--target` and `--green-target`, and a sandbox's endpoint.
 *
 * Both callers read the URL the same way (the WHATWG parser, port 3306 by default, no ?options); they
 * differ in what they tell the user. A flag stops at its first problem and its message starts with the
 * flag (`--target has no user; …`); a scenario key gets every problem, each `key: …`, and never its text
 * echoed (it may hold a password). A flag may carry a password (the caller decides what to do with it);
 * a scenario file may not (files get shared and stored).
 */
import { DowntimeError, ExitCode } from '../errors.js';
import type { Target } from '../load/target.js';
import { describeValue } from './rules.js';
import { FLAG_IDENTIFIER_PATTERN, IDENTIFIER_PATTERN } from './shape.js';

const FORM = 'mysql://USER@HOST:PORT/DATABASE';
const SCHEMES = ['mysql:', 'mariadb:'];
const DEFAULT_PORT = 3306;
const FLAG_IDENTIFIER = new RegExp(FLAG_IDENTIFIER_PATTERN);
const KEY_IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);

/** The parts of a parsed URL both callers check, undecoded. */
interface Parts {
  scheme: string;
  /** Without the brackets of an IPv6 address. */
  host: string;
  /** As written ('' when absent). */
  portText: string;
  /** The port, DEFAULT_PORT when absent; undefined when it is no port number (0). */
  port: number | undefined;
  user: string;
  database: string;
  password: string;
  query: string;
  fragment: string;
}

function partsOf(u: URL): Parts {
  const port = u.port === '' ? DEFAULT_PORT : Number(u.port);
  return {
    scheme: u.protocol,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    portText: u.port,
    port: Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined,
    user: u.username,
    database: u.pathname.replace(/^\//, ''),
    password: u.password,
    query: u.search,
    fragment: u.hash,
  };
}

/** The target as the probes use it; its `url` never holds a password. */
function targetOf(host: string, port: number, user: string, database: string): Target {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { host, port, user, database, url: `mysql://${encodeURIComponent(user)}@${hostPart}:${port}/${database}` };
}

/**
 * Parses mysql://user[:password]@host[:port]/database given as `flag` (default `--target`; also a sandbox's
 * endpoint). Returns the target and any password found in the URL; throws a one-line DowntimeError
 * (ExitCode.Usage) naming the first problem, with any password in the text masked.
 */
export function parseTargetUrl(text: string, flag = '--target'): { target: Target; urlPassword: string | undefined } {
  const fail = (message: string): never => {
    throw new DowntimeError(`${flag} ${message}`, ExitCode.Usage);
  };
  let u: URL;
  try {
    if (!text.includes('://')) throw new Error('no scheme');
    u = new URL(text);
  } catch {
    // The URL parser refuses a port above 65535 as a whole: name the port rather than "not a URL".
    const port = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(text)?.[1];
    if (port !== undefined && Number(port) > 65535) fail(`port ${port} is not a port number (1-65535)`);
    return fail(`"${redactUrlText(text)}" is not a URL; write ${FORM}`);
  }
  const p = partsOf(u);
  if (!SCHEMES.includes(p.scheme)) fail(`must start with mysql:// (got ${p.scheme}//); write ${FORM}`);
  if (p.host === '') fail(`has no host; write ${FORM}`);
  if (p.port === undefined) fail(`port ${p.portText} is not a port number (1-65535)`);
  const user = decodeURIComponent(p.user);
  if (user === '') fail(`has no user; write ${FORM}`);
  const database = decodeURIComponent(p.database);
  if (database === '') fail(`names no database; write ${FORM} (the harness creates its table there)`);
  if (!FLAG_IDENTIFIER.test(database)) {
    fail(`database "${database}" is not a plain identifier (letters, digits, _ and $)`);
  }
  if (p.query !== '') fail('takes no ?options; use flags such as --timeout and --connect-timeout instead');
  return {
    target: targetOf(p.host, p.port ?? DEFAULT_PORT, user, database),
    urlPassword: p.password === '' ? undefined : decodeURIComponent(p.password),
  };
}

/**
 * --target or --green-target: the target, refusing a password in it. The command line is readable by every
 * user of the machine (ps, /proc/PID/cmdline, for the whole run) and stays in shell history; green is read
 * with the target's credentials anyway.
 */
export function targetFromFlag(text: string, flag: '--target' | '--green-target'): Target {
  const { target, urlPassword } = parseTargetUrl(text, flag);
  if (urlPassword !== undefined) {
    throw new DowntimeError(
      flag === '--target'
        ? '--target must not hold a password: the command line is visible to other users (ps, /proc) and kept in shell history; remove it and use MYSQL_PWD, --password-file, --password-command or --password-prompt'
        : '--green-target is read with the --target credentials; remove the password from it',
      ExitCode.Usage,
    );
  }
  return target;
}

/**
 * A scenario's `target:` or `greenTarget:` (`key`): the URL as written (trimmed), or every problem with it,
 * each prefixed with the key. The text is not echoed: it may hold a secret.
 */
export function checkTargetUrlKey(
  v: unknown,
  key: string,
): { ok: true; value: string } | { ok: false; problems: string[] } {
  const form = `write ${FORM}`;
  const fail = (...messages: string[]): { ok: false; problems: string[] } => ({
    ok: false,
    problems: messages.map((m) => `${key}: ${m}`),
  });
  if (typeof v !== 'string') return fail(`must be a URL string; ${form} (got ${describeValue(v)})`);
  const text = v.trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return fail(`is not a URL; ${form}`);
  }
  const p = partsOf(u);
  if (!SCHEMES.includes(p.scheme)) return fail(`must start with mysql:// (got ${p.scheme}//); ${form}`);
  const problems: string[] = [];
  // An empty password (`user:@host`) counts too: the ':' shows a password was meant to go there.
  if (p.password !== '' || /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(text)) {
    problems.push(
      'must not contain a password (scenario files get shared and stored); remove it and use password: {file: PATH} or {env: VAR}',
    );
  }
  if (p.host === '') problems.push(`has no host; ${form}`);
  if (p.port === undefined) problems.push(`port ${p.portText} is not a port number (1-65535)`);
  if (p.user === '') problems.push(`has no user; ${form}`);
  // Not decoded: a database name that needs %-escapes is not a plain identifier anyway.
  if (p.database === '') problems.push(`names no database; ${form} (the harness creates its table there)`);
  else if (!KEY_IDENTIFIER.test(p.database)) problems.push('database must be a plain identifier (letters, digits, _)');
  if (p.query !== '' || p.fragment !== '') {
    problems.push('takes no ?options or #fragment; set timeouts under load: instead');
  }
  return problems.length === 0 ? { ok: true, value: text } : fail(...problems);
}

/** Removes anything that looks like a password from a URL-ish string (for error messages). */
function redactUrlText(text: string): string {
  return text.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
