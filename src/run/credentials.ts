/**
 * Password sources of `downtime run` beyond MYSQL_PWD and --password-file: a command whose output is the
 * password (an RDS IAM token, re-run before it expires) and an interactive prompt. No message here holds
 * the password; a command's stdout is never shown.
 */
import { resolve } from 'node:path';
import { DowntimeError, ExitCode } from '../errors.js';
import type { Io } from '../io.js';
import type { PasswordRefresh } from '../load/options.js';
import { tlsConfig, type TlsConfig } from '../load/tls.js';
import { expandHome, resolveScenarioPassword } from '../scenario/password.js';
import { checkPasswordRefresh, must } from '../scenario/rules.js';
import { SCENARIO_DEFAULTS, type TlsSpec } from '../scenario/types.js';

/** RDS IAM tokens live 15 minutes: re-run the command well before. */
const DEFAULT_PASSWORD_REFRESH_MS = SCENARIO_DEFAULTS.passwordRefreshMs;

export interface CredentialArgs {
  passwordFile?: string | undefined;
  passwordCommand?: string | undefined;
  passwordRefresh?: string | undefined;
  passwordPrompt?: boolean | undefined;
  sslMode?: string | undefined;
  sslCa?: string | undefined;
}

/** The password flags given, checked for exclusivity: at most one source. */
export function passwordFlags(args: CredentialArgs): 'file' | 'command' | 'prompt' | undefined {
  const given: string[] = [];
  if (args.passwordFile !== undefined) given.push('--password-file');
  if (args.passwordCommand !== undefined) given.push('--password-command');
  if (args.passwordPrompt === true) given.push('--password-prompt');
  if (given.length > 1) {
    throw new DowntimeError(`${given.join(' and ')} are two password sources; keep one`, ExitCode.Usage);
  }
  if (args.passwordRefresh !== undefined && args.passwordCommand === undefined) {
    // A scenario's password.command may be what it refreshes: checked by the caller when there is one.
    return args.passwordFile !== undefined ? 'file' : args.passwordPrompt === true ? 'prompt' : undefined;
  }
  if (args.passwordCommand !== undefined) {
    if (args.passwordCommand.trim() === '') {
      throw new DowntimeError('--password-command is empty; give the command that prints the password', ExitCode.Usage);
    }
    return 'command';
  }
  if (args.passwordFile !== undefined) return 'file';
  if (args.passwordPrompt === true) return 'prompt';
  return undefined;
}

/** --password-refresh (or the scenario's password.refresh) in ms. */
export function refreshMs(text: string | undefined, flag = '--password-refresh'): number {
  return text === undefined ? DEFAULT_PASSWORD_REFRESH_MS : must(checkPasswordRefresh(text, flag));
}

/** Runs the command once (a failure is a one-line error now), and gives the refresh to run during the run. */
export async function passwordFromCommand(
  command: string,
  everyMs: number,
  io: Pick<Io, 'env' | 'cwd'>,
  label = '--password-command',
): Promise<{ password: string; source: string; refresh: PasswordRefresh }> {
  const fetch = async (): Promise<string> =>
    (await resolveScenarioPassword({ from: 'command', command }, io, label)).password;
  const password = await fetch();
  return { password, source: 'password command', refresh: { everyMs, fetch } };
}

/**
 * Reads a password from the terminal without echoing it. Stdin must be a TTY: a script piping into
 * downtime gets a usage error instead of a hang or a password read from a pipe.
 */
export async function promptPassword(io: Pick<Io, 'isInteractive' | 'stderr'>, question: string): Promise<string> {
  const stdin = process.stdin;
  if (!io.isInteractive || !stdin.isTTY) {
    throw new DowntimeError(
      '--password-prompt needs a terminal, but stdin is not one; use MYSQL_PWD, --password-file or --password-command instead',
      ExitCode.Usage,
    );
  }
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const wasRaw = stdin.isRaw;
    // Echo off before the question is shown: a password typed as soon as it appears must not be echoed.
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    io.stderr(question);
    const finish = (err: DowntimeError | null): void => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      io.stderr('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(null);
        if (ch === '\u0003') {
          return finish(new DowntimeError('password prompt interrupted; nothing was measured', ExitCode.Interrupted));
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (ch >= ' ') text += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** TLS from flags over the scenario's tls: (each key separately), then the defaults. */
export function runTls(args: CredentialArgs, scenario: TlsSpec | undefined, io: Pick<Io, 'env' | 'cwd'>): TlsConfig {
  const mode = args.sslMode ?? scenario?.mode;
  const written = args.sslCa ?? scenario?.ca;
  const caFile = written === undefined ? undefined : resolve(io.cwd, expandHome(written, io));
  return tlsConfig(
    { mode, caFile },
    args.sslMode !== undefined || scenario?.mode === undefined ? '--ssl-mode' : 'tls.mode',
  );
}
