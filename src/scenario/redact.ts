/**
 * A copy of a parsed scenario that is safe to store in the results-file header and to print.
 *
 * A parsed scenario holds no password values (the parser refuses them), but it can still hold
 * where a password comes from and shell commands written by people who paste secrets into them
 * (`MYSQL_PWD=… mysql …`, `--password=…`, `mysql://u:pw@…`). Those are scrubbed here; and a scenario
 * assembled from CLI flags may carry a URL with a password, which is scrubbed too.
 */
import type { ParsedScenario, PasswordSource, SandboxKind, ScenarioAction, TlsSpec } from './types.js';

export const REDACTED = '***';

/** Where the password came from, marked so that no reader mistakes it for the password. */
type RedactedPasswordSource = PasswordSource & {
  /** Always false: the password itself is never stored, only its source. */
  valueStored: false;
};

export type RedactedScenario = Omit<ParsedScenario, 'db'> & {
  db:
    | { kind: 'sandbox'; sandbox: SandboxKind; from?: string; to?: string }
    | { kind: 'target'; url: string; password: RedactedPasswordSource | undefined; tls?: TlsSpec };
  /** Marks the object as redacted (commands scrubbed, password sources marked). */
  redacted: true;
};

export function redactScenario(parsed: ParsedScenario): RedactedScenario {
  const db: RedactedScenario['db'] =
    parsed.db.kind === 'sandbox'
      ? { ...parsed.db }
      : {
          kind: 'target',
          url: scrubSecrets(parsed.db.url),
          password: parsed.db.password === undefined ? undefined : redactPassword(parsed.db.password),
          ...(parsed.db.tls !== undefined ? { tls: { ...parsed.db.tls } } : {}),
        };
  return {
    ...parsed,
    db,
    load: { ...parsed.load },
    actions: parsed.actions.map(redactAction),
    thresholds: [...parsed.thresholds],
    report: { ...parsed.report },
    redacted: true,
  };
}

function redactPassword(p: PasswordSource): RedactedPasswordSource {
  switch (p.from) {
    case 'file':
      return { from: 'file', path: p.path, valueStored: false };
    case 'env':
      return { from: 'env', name: p.name, valueStored: false };
    case 'command':
      // Kept so a reader of the results can tell how the run authenticated (e.g. an IAM token);
      // its output, the password, never is.
      return {
        from: 'command',
        command: scrubSecrets(p.command),
        ...(p.refreshMs !== undefined ? { refreshMs: p.refreshMs } : {}),
        valueStored: false,
      };
  }
}

function redactAction(a: ScenarioAction): ScenarioAction {
  if (a.kind === 'run') return { ...a, command: scrubSecrets(a.command) };
  return { ...a, step: { ...a.step, options: { ...a.step.options } } as typeof a.step };
}

/** A value as a shell word: quoted, or up to the next space. */
const WORD = `("[^"]*"|'[^']*'|\\S+)`;

/**
 * Replaces secrets that commonly appear in command lines, SQL and URLs with ***:
 * - `scheme://user:SECRET@` (URL userinfo);
 * - `--password=SECRET` / `--password SECRET`, and `--pass`, `--passwd`, `--secret…`, `--token…`, `--api-key`;
 * - the mysql/mariadb client's short form `-pSECRET` (attached: `-p SECRET` would be a prompt and a database);
 * - environment assignments whose name says secret (`MYSQL_PWD=`, `PGPASSWORD=`, `AWS_SECRET_ACCESS_KEY=`,
 *   `…_TOKEN=`), and SQL's `MASTER_PASSWORD = '…'`, `IDENTIFIED BY '…'`, `PASSWORD('…')`;
 * - HTTP `Authorization: Bearer|Basic …`.
 * Over-redaction (`ssh -p2222`) is the safe side: the results file and reports are shared with a ticket.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/g, `$1:${REDACTED}@`)
    .replace(
      new RegExp(`(--[A-Za-z-]*(?:pass(?:word|wd)?|pwd|secret|token|api-?key)[A-Za-z-]*)(=|\\s+)(?!-)${WORD}`, 'gi'),
      `$1$2${REDACTED}`,
    )
    .replace(new RegExp(`(^|[\\s;&|(\`'"])-p(?![\\s=])${WORD}`, 'g'), `$1-p${REDACTED}`)
    .replace(
      new RegExp(`\\b([A-Za-z0-9_]*(?:PASSWORD|PASSWD|PWD|SECRET|TOKEN)[A-Za-z0-9_]*)(\\s*=\\s*)${WORD}`, 'gi'),
      `$1$2${REDACTED}`,
    )
    .replace(/\b(IDENTIFIED\s+(?:WITH\s+\S+\s+)?(?:BY|AS)\s+(?:PASSWORD\s+)?)("[^"]*"|'[^']*')/gi, `$1'${REDACTED}'`)
    .replace(/\b(PASSWORD\s*\(\s*)("[^"]*"|'[^']*')/gi, `$1'${REDACTED}'`)
    .replace(/\b(Authorization:\s*(?:Bearer|Basic)\s+)[^\s'"]+/gi, `$1${REDACTED}`);
}
