/** What the probes talk to: sandbox: or target: (with password:, greenTarget:, tls:). */
import { ENV_NAME_PATTERN, IDENTIFIER_PATTERN, PASSWORD_KEYS, SSL_MODE_VALUES, TLS_KEYS } from '../shape.js';
import { SANDBOX_KINDS, type PasswordSource, type SandboxKind, type ScenarioDb, type TlsSpec } from '../types.js';
import {
  close,
  describeValue,
  has,
  open,
  readDuration,
  readEnum,
  readString,
  type Open,
  type Problems,
} from './read.js';

/** sandbox: or target: (exactly one), and password: only with target:. */
export function parseDb(p: Problems, o: Open): ScenarioDb | undefined {
  const hasSandbox = has(o, 'sandbox');
  const hasTarget = has(o, 'target');
  const sandbox = readEnum<SandboxKind>(p, o, 'sandbox', SANDBOX_KINDS);
  const url = hasTarget ? parseTargetUrl(p, o.value.target) : undefined;
  if (hasSandbox && hasTarget) {
    p.add('', 'set either sandbox: or target:, not both (sandbox: starts local servers; target: is an existing one)');
    return undefined;
  }
  if (!hasSandbox && !hasTarget) {
    if (!o.meant.has('sandbox') && !o.meant.has('target')) {
      p.add(
        '',
        'set target: mysql://USER@HOST:PORT/DATABASE, or sandbox: blue-green or single to rehearse on local servers',
      );
    }
    return undefined;
  }
  if (hasSandbox) {
    if (has(o, 'password')) p.add('password', 'only applies to target:; the sandbox needs no password');
    if (has(o, 'greenTarget')) {
      p.add('greenTarget', 'only applies to target:; a blue-green sandbox measures replication lag on its own green');
    }
    if (has(o, 'tls')) p.add('tls', 'only applies to target:; the sandbox servers offer no TLS');
    return sandbox === undefined ? undefined : { kind: 'sandbox', sandbox };
  }
  const password = has(o, 'password') ? parsePassword(p, o.value.password) : undefined;
  const green = has(o, 'greenTarget') ? parseTargetUrl(p, o.value.greenTarget, 'greenTarget') : undefined;
  if (has(o, 'greenTarget') && green === undefined) return undefined;
  const tls = has(o, 'tls') ? parseTls(p, o.value.tls) : undefined;
  if (url === undefined || (has(o, 'password') && password === undefined)) return undefined;
  if (has(o, 'tls') && tls === undefined) return undefined;
  return {
    kind: 'target',
    url,
    password,
    ...(green !== undefined ? { green } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
}

/** tls: {mode, ca}; a CA only with a mode that verifies (or no mode: then verify-ca). */
function parseTls(p: Problems, v: unknown): TlsSpec | undefined {
  const o = open(p, v, 'tls', TLS_KEYS, 'a mapping with mode: and/or ca:');
  if (o === undefined) return undefined;
  const before = p.list.length;
  const mode = readEnum<NonNullable<TlsSpec['mode']>>(p, o, 'mode', SSL_MODE_VALUES);
  const ca = readString(p, o, 'ca');
  close(p, o);
  if (ca !== undefined && mode !== undefined && mode !== 'verify-ca' && mode !== 'verify-identity') {
    p.add('tls.ca', `is only used to verify the server (mode: verify-ca or verify-identity), not with mode: ${mode}`);
  }
  if (p.list.length > before) return undefined;
  return { ...(mode !== undefined ? { mode } : {}), ...(ca !== undefined ? { ca } : {}) };
}

/** mysql://USER@HOST[:PORT]/DATABASE with no password and no options. The text is not echoed: it may hold a secret. */
function parseTargetUrl(p: Problems, v: unknown, key = 'target'): string | undefined {
  const form = 'write mysql://USER@HOST:PORT/DATABASE';
  if (typeof v !== 'string') {
    p.add(key, `must be a URL string; ${form} (got ${describeValue(v)})`);
    return undefined;
  }
  const text = v.trim();
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    p.add(key, `is not a URL; ${form}`);
    return undefined;
  }
  const problems: string[] = [];
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    problems.push(`must start with mysql:// (got ${u.protocol}//); ${form}`);
  } else {
    // An empty password (`user:@host`) counts too: the ':' shows a password was meant to go there.
    if (u.password !== '' || /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(text)) {
      problems.push(
        'must not contain a password (scenario files get shared and stored); remove it and use password: {file: PATH} or {env: VAR}',
      );
    }
    if (u.hostname === '') problems.push(`has no host; ${form}`);
    if (u.username === '') problems.push(`has no user; ${form}`);
    // Not decoded: a database name that needs %-escapes is not a plain identifier anyway.
    const database = u.pathname.replace(/^\//, '');
    if (database === '') problems.push(`names no database; ${form} (the harness creates its table there)`);
    else if (!new RegExp(IDENTIFIER_PATTERN).test(database)) {
      problems.push('database must be a plain identifier (letters, digits, _)');
    }
    if (u.search !== '' || u.hash !== '') {
      problems.push('takes no ?options or #fragment; set timeouts under load: instead');
    }
  }
  for (const message of problems) p.add(key, message);
  return problems.length === 0 ? text : undefined;
}

function parsePassword(p: Problems, v: unknown): PasswordSource | undefined {
  if (typeof v === 'string' || typeof v === 'number') {
    // Never echo it: it is probably the password itself.
    p.add(
      'password',
      'must not hold the password itself; write password: {file: PATH}, {env: VAR} or {command: CMD} instead',
    );
    return undefined;
  }
  const o = open(p, v, 'password', PASSWORD_KEYS, 'a mapping with one of file:, env: or command:');
  if (o === undefined) return undefined;
  const given = PASSWORD_KEYS.filter((k) => k !== 'refresh' && o.value[k] !== undefined);
  const file = readString(p, o, 'file', { secret: true });
  const env = readString(p, o, 'env', {
    secret: true,
    pattern: ENV_NAME_PATTERN,
    patternText: 'the name of an environment variable such as MYSQL_PWD (letters, digits, _)',
  });
  const command = readString(p, o, 'command', { secret: true });
  const refreshMs = readDuration(p, o, 'refresh', { minMs: 1000, maxMs: 24 * 3_600_000 });
  close(p, o);
  if (has(o, 'refresh') && o.value.command === undefined) {
    p.add('password.refresh', 'only applies to password.command (a token that expires)');
    return undefined;
  }
  if (given.length === 0 && o.unknown.length === 0) {
    p.add('password', 'needs one of file:, env: or command:');
    return undefined;
  }
  if (given.length > 1) {
    p.add('password', `has ${given.map((k) => `${k}:`).join(' and ')}; keep one`);
    return undefined;
  }
  if (file !== undefined) return { from: 'file', path: file };
  if (env !== undefined) return { from: 'env', name: env };
  if (command !== undefined) return { from: 'command', command, ...(refreshMs !== undefined ? { refreshMs } : {}) };
  return undefined;
}
