/**
 * Failure classification: every failed probe gets one stable class name. These names appear in
 * results files, reports and thresholds, so they are a contract: docs/error-classes.md lists and explains them.
 */
import { isTlsError } from './tls.js';

interface ErrorLike {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  syscall?: unknown;
}

/**
 * Node's resolver errors carry the syscall that failed: getaddrinfo (system resolver) or queryA and the
 * other c-ares queries (dns.Resolver, --dns-server). Their codes overlap with the network's (c-ares says
 * ECONNREFUSED when the DNS server cannot be reached, ETIMEOUT when it does not answer), so the syscall
 * decides: any of these is a `dns` failure.
 */
const DNS_SYSCALL = /^(getaddrinfo|getnameinfo|query[A-Za-z]*)$/;

const BY_CODE: Record<string, string> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'lost-connection',
  PROTOCOL_CONNECTION_LOST: 'lost-connection',
  ERR_SOCKET_CLOSED: 'lost-connection',
  ETIMEDOUT: 'timeout',
  PROTOCOL_SEQUENCE_TIMEOUT: 'timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ER_CON_COUNT_ERROR: 'too-many-connections',
  ER_TOO_MANY_USER_CONNECTIONS: 'too-many-connections',
  ER_ACCESS_DENIED_ERROR: 'access-denied',
  ER_DBACCESS_DENIED_ERROR: 'access-denied',
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: 'access-denied',
  ER_OPTION_PREVENTS_STATEMENT: 'read-only',
  ER_READ_ONLY_MODE: 'read-only',
  ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: 'read-only',
  ER_SERVER_SHUTDOWN: 'server-shutdown',
  ER_CONNECTION_KILLED: 'connection-killed',
  PROTOCOL_ERROR: 'protocol',
  PROTOCOL_UNEXPECTED_PACKET: 'protocol',
  PROTOCOL_PACKETS_OUT_OF_ORDER: 'protocol',
};

const BY_ERRNO: Record<number, string> = {
  1040: 'too-many-connections',
  1044: 'access-denied',
  1045: 'access-denied',
  1053: 'server-shutdown',
  1290: 'read-only',
  1792: 'read-only',
  1836: 'read-only',
  1927: 'connection-killed', // MariaDB ER_CONNECTION_KILLED
  4151: 'read-only', // MariaDB: ER_READ_ONLY_MODE variant on some versions
};

/** Classifies any error thrown by mysql2 or Node's net layer. */
export function classifyError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  if (typeof e.syscall === 'string' && DNS_SYSCALL.test(e.syscall)) return 'dns';
  if (isTlsError(err)) return 'tls';
  if (code !== undefined && BY_CODE[code] !== undefined) return BY_CODE[code];
  // Server errors: mysql2 sets errno to the server's code (a number ≥ 1000).
  if (errno !== undefined && errno >= 1000 && BY_ERRNO[errno] !== undefined) return BY_ERRNO[errno];
  const message = typeof e.message === 'string' ? e.message : '';
  if (/read[- ]only/i.test(message) && /--read-only|read_only/i.test(message)) return 'read-only';
  if (/timeout|timed out/i.test(message)) return 'timeout';
  if (/Connection lost|closed the connection|socket hang up/i.test(message)) return 'lost-connection';
  if (code !== undefined && /^ER_[A-Z0-9_]+$/.test(code)) return code;
  if (errno !== undefined && errno >= 1000) return `ER_${errno}`;
  if (code !== undefined && /^E[A-Z]+$/.test(code)) return code.toLowerCase();
  return 'error';
}
