/** What the probes talk to: sandbox: or target: (with password:, greenTarget:, tls:). */
import { ENV_NAME_PATTERN, PASSWORD_KEYS, SANDBOX_KEYS, TLS_KEYS } from '../shape.js';
import { checkTargetUrlKey } from '../target-url.js';
import { SANDBOX_KINDS, SSL_MODE_VALUES, type PasswordSource, type ScenarioDb, type TlsSpec } from '../types.js';
import { checkPasswordRefresh, checkServerSource, isMapping } from '../rules.js';
import { close, has, missing, open, readEnum, readString, readWith, type Open, type Problems } from './read.js';

/** sandbox: or target: (exactly one), and password: only with target:. */
export function parseDb(p: Problems, o: Open): ScenarioDb | undefined {
  const hasSandbox = has(o, 'sandbox');
  const hasTarget = has(o, 'target');
  const sandboxSpec = hasSandbox ? parseSandbox(p, o) : undefined;
  const sandbox = sandboxSpec?.topology;
  const url = hasTarget ? readTargetUrl(p, o.value.target, 'target') : undefined;
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
    if (sandbox === undefined || sandboxSpec === undefined) return undefined;
    return {
      kind: 'sandbox',
      sandbox,
      ...(sandboxSpec.from !== undefined ? { from: sandboxSpec.from } : {}),
      ...(sandboxSpec.to !== undefined ? { to: sandboxSpec.to } : {}),
    };
  }
  const password = has(o, 'password') ? parsePassword(p, o.value.password) : undefined;
  const green = has(o, 'greenTarget') ? readTargetUrl(p, o.value.greenTarget, 'greenTarget') : undefined;
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
  const mode = readEnum(p, o, 'mode', SSL_MODE_VALUES);
  const ca = readString(p, o, 'ca');
  close(p, o);
  if (ca !== undefined && mode !== undefined && mode !== 'verify-ca' && mode !== 'verify-identity') {
    p.add('tls.ca', `is only used to verify the server (mode: verify-ca or verify-identity), not with mode: ${mode}`);
  }
  if (p.list.length > before) return undefined;
  return { ...(mode !== undefined ? { mode } : {}), ...(ca !== undefined ? { ca } : {}) };
}

/** target: or greenTarget: (./target-url.ts); the text is not echoed: it may hold a secret. */
function readTargetUrl(p: Problems, v: unknown, key: string): string | undefined {
  const r = checkTargetUrlKey(v, key);
  if (r.ok) return r.value;
  for (const problem of r.problems) p.add('', problem);
  return undefined;
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
  const refreshMs = readWith(p, o, 'refresh', checkPasswordRefresh);
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

/**
 * sandbox: a topology (`blue-green`, `single`), or a mapping with the topology and the servers:
 * `{topology: blue-green, from: mariadb:10.11, to: mariadb:11.8}`.
 */
function parseSandbox(
  p: Problems,
  o: Open,
): { topology: (typeof SANDBOX_KINDS)[number] | undefined; from?: string; to?: string } | undefined {
  const v = o.value.sandbox;
  if (!isMapping(v)) return { topology: readEnum(p, o, 'sandbox', SANDBOX_KINDS) };
  const so = open(p, v, 'sandbox', SANDBOX_KEYS, 'blue-green, single, or a mapping {topology, from, to}');
  if (so === undefined) return undefined;
  const before = p.list.length;
  if (!has(so, 'topology')) missing(p, so, 'topology', 'blue-green or single');
  const topology = readEnum(p, so, 'topology', SANDBOX_KINDS);
  const from = readWith(p, so, 'from', checkServerSource);
  const to = readWith(p, so, 'to', checkServerSource);
  close(p, so);
  if (p.list.length > before) return undefined;
  return { topology, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}
