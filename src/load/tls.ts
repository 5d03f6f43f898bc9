/**
 * TLS to the endpoint, with the MySQL client's --ssl-mode semantics, and the mysql2 options that carry
 * it. A TlsConfig is plain data (it crosses into worker threads as workerData); the mysql2 options,
 * which hold functions, are built from it for each connection.
 */
import { X509Certificate } from 'node:crypto';
import { DowntimeError, ExitCode } from '../errors.js';
import { readErrorWords } from '../util/errno.js';
import { readSmallText } from '../util/read-small.js';

const SSL_MODES = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const;
type SslMode = (typeof SSL_MODES)[number];

/** What every connection of a run does about TLS. Plain data: no functions, so it can go to workers. */
export interface TlsConfig {
  /**
   * The mode as asked for. `preferred` is resolved once, at setup (resolvePreferred): the run's
   * connections then either all use TLS (`encrypt: true`) or none does.
   */
  mode: SslMode;
  /** Whether connections use TLS. */
  encrypt: boolean;
  /** PEM text of the CA bundle (--ssl-ca); undefined: Node's default trust store. */
  ca?: string | undefined;
  /** The file it came from, for messages and the results header. */
  caFile?: string | undefined;
}

/** The mysql2 `ssl` option, or undefined for a plain connection. */
export interface Mysql2Ssl {
  ca?: string;
  rejectUnauthorized: boolean;
  verifyIdentity: boolean;
}

function isSslMode(v: unknown): v is SslMode {
  return typeof v === 'string' && (SSL_MODES as readonly string[]).includes(v);
}

/**
 * --ssl-mode and --ssl-ca (or the scenario's tls:) → a TlsConfig. Default: `preferred`, or `verify-ca`
 * when a CA is given without a mode (a CA named is a CA meant to be checked). A CA with a mode that
 * does not verify is refused rather than silently unused.
 */
export function tlsConfig(
  opts: { mode?: string | undefined; caFile?: string | undefined },
  flag = '--ssl-mode',
): TlsConfig {
  if (opts.mode !== undefined && !isSslMode(opts.mode)) {
    throw new DowntimeError(`${flag} must be one of ${SSL_MODES.join(', ')} (got "${opts.mode}")`, ExitCode.Usage);
  }
  const mode: SslMode = opts.mode ?? (opts.caFile !== undefined ? 'verify-ca' : 'preferred');
  if (opts.caFile !== undefined && mode !== 'verify-ca' && mode !== 'verify-identity') {
    throw new DowntimeError(
      `--ssl-ca is only used to verify the server (${flag} verify-ca or verify-identity), not with ${mode}; drop one of the two`,
      ExitCode.Usage,
    );
  }
  const ca = opts.caFile === undefined ? undefined : readCaFile(opts.caFile);
  return { mode, encrypt: mode !== 'disabled', ca, caFile: opts.caFile };
}

/** Reads a PEM CA bundle; anything else is a one-line input error. */
function readCaFile(file: string): string {
  let text: string;
  try {
    text = readSmallText(file);
  } catch (err) {
    throw new DowntimeError(
      `cannot read --ssl-ca ${file}: ${readErrorWords(err)}; point it at a PEM CA bundle (e.g. the RDS global-bundle.pem)`,
      ExitCode.InputFile,
    );
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let valid = blocks.length > 0;
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    throw new DowntimeError(
      `--ssl-ca ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it at a PEM CA bundle (e.g. the RDS global-bundle.pem)`,
      ExitCode.InputFile,
    );
  }
  return text;
}

/**
 * One mysql2 `ssl` object per TlsConfig: mysql2 caches the secure context (a CA bundle such as RDS's holds
 * over a hundred certificates, milliseconds to parse) and TLS sessions by the identity of this object.
 */
const SSL_OPTIONS = new WeakMap<TlsConfig, Mysql2Ssl>();

/** The mysql2 `ssl` option for a connection of this run. */
export function mysql2Ssl(tls: TlsConfig | undefined): Mysql2Ssl | undefined {
  if (tls === undefined || !tls.encrypt) return undefined;
  let ssl = SSL_OPTIONS.get(tls);
  if (ssl === undefined) {
    ssl = buildSsl(tls);
    SSL_OPTIONS.set(tls, ssl);
  }
  return ssl;
}

function buildSsl(tls: TlsConfig): Mysql2Ssl {
  const verify = tls.mode === 'verify-ca' || tls.mode === 'verify-identity';
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    rejectUnauthorized: verify,
    verifyIdentity: tls.mode === 'verify-identity',
  };
}

/**
 * mysql_clear_password (RDS IAM authentication, PAM, LDAP) sends the password as it is: allowed only on
 * a TLS connection. Given to mysql2 as `authPlugins`, for when the server asks for it.
 */
export function clearPasswordPlugin(password: () => string | undefined) {
  return {
    mysql_clear_password:
      ({ connection }: { connection: { config: { ssl?: unknown } } }) =>
      (): Buffer => {
        if (!connection.config.ssl) {
          const err = new Error(
            'the server asks for the password in clear text (mysql_clear_password, e.g. RDS IAM) on an unencrypted connection; use --ssl-mode required or stronger',
          ) as Error & { code: string };
          err.code = 'CLEAR_PASSWORD_WITHOUT_TLS';
          throw err;
        }
        return Buffer.from(`${password() ?? ''}\0`);
      },
  };
}

/** mysql2 connection options for TLS and authentication, shared by every connection the harness opens. */
export function securityOptions(tls: TlsConfig | undefined, password: string | undefined) {
  const ssl = mysql2Ssl(tls);
  return {
    ...(ssl !== undefined ? { ssl } : {}),
    authPlugins: clearPasswordPlugin(() => password),
  };
}

/** Error codes of a TLS failure (mysql2's and OpenSSL's through Node), for classification. */
const TLS_CODES = new Set([
  'HANDSHAKE_NO_SSL_SUPPORT',
  'HANDSHAKE_SSL_ERROR',
  'CLEAR_PASSWORD_WITHOUT_TLS',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

export function isTlsError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; library?: unknown; reason?: unknown };
  if (typeof e.code === 'string' && (TLS_CODES.has(e.code) || /^ERR_SSL_|^ERR_TLS_/.test(e.code))) return true;
  return e.library === 'SSL routines';
}

/** What the setup connection found: written into the results header as `tls`. */
export interface TlsReport {
  mode: SslMode;
  /** Whether the run's connections use TLS. */
  encrypted: boolean;
  /** The CA bundle's path, if one was given. */
  caFile?: string;
  /** As the server reports it for the setup connection (Ssl_version, Ssl_cipher); absent without TLS. */
  version?: string;
  cipher?: string;
  /** preferred only: why the run is not encrypted. */
  note?: string;
}
