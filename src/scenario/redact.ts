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
export type RedactedPasswordSource = PasswordSource & {
  /** Always false: the password itself is never stored, only its source. */
  valueStored: false;
};

export type RedactedScenario = Omit<ParsedScenario, 'db'> & {
  db:
    | { kind: 'sandbox'; sandbox: SandboxKind }
    | { kind: 'target'; url: string; password: RedactedPasswordSource | undefined; tls?: TlsSpec };
  /** Marks the object as redacted (commands scrubbed, password sources marked). */
  redacted: true;
};

export function redactScenario(parsed: ParsedScenario): RedactedScenario {
  const db: RedactedScenario['db'] =
    parsed.db.kind === 'sandbox'
      ? { kind: 'sandbox', sandbox: parsed.db.sandbox }
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

/**
 * Replaces secrets that commonly appear in command lines and URLs with ***:
 * `scheme://user:SECRET@`, `--password=SECRET` / `--password SECRET`, and environment assignments whose
 * name says secret (`MYSQL_PWD=`, `PGPASSWORD=`, `AWS_SECRET_ACCESS_KEY=`, `…_TOKEN=`).
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/g, `$1:${REDACTED}@`)
    .replace(
      /(--[A-Za-z-]*(?:password|passwd|secret|token)[A-Za-z-]*)(=|\s+)(?!-)("[^"]*"|'[^']*'|\S+)/gi,
      `$1$2${REDACTED}`,
    )
    .replace(
      /\b([A-Za-z0-9_]*(?:PASSWORD|PASSWD|PWD|SECRET|TOKEN)[A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S+)/gi,
      `$1=${REDACTED}`,
    );
}
