/**
 * Where the password comes from, at run time only: a scenario's `password:` source, or --password-file,
 * the URL and MYSQL_PWD for a run from flags. The password goes to the connection and nowhere else: no
 * message here contains it (nor a command's stdout, which is it).
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DowntimeError, ExitCode, oneLine } from '../errors.js';
import { readErrorWords } from '../util/errno.js';
import { readSmallText } from '../util/read-small.js';
import type { Io } from '../io.js';
import type { PasswordSource } from './types.js';

/** A password command that takes longer is stuck (waiting for input, MFA prompt, network). */
const PASSWORD_COMMAND_TIMEOUT_MS = 30_000;

export interface ResolvedPassword {
  password: string;
  /** For messages: `password file ~/.pw`, `$MYSQL_PWD`, `password command`. */
  source: string;
}

/** `~/x` is relative to HOME (from the Io, so tests can point it elsewhere), like a shell would read it. */
export function expandHome(path: string, io: Pick<Io, 'env'>): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  return join(io.env.HOME ?? homedir(), path.slice(1));
}

export interface Credentials {
  password: string | undefined;
  /** Where it came from, for messages: 'MYSQL_PWD', 'password file', 'URL', 'none'. */
  source: string;
}

/**
 * The password of a run from flags, from (in order) --password-file, the URL (discouraged: visible in `ps`),
 * MYSQL_PWD. An unreadable password file is an error, never silently "no password".
 */
export function resolveCredentials(opts: {
  passwordFile?: string | undefined;
  urlPassword?: string | undefined;
  env: Record<string, string | undefined>;
}): Credentials {
  if (opts.passwordFile !== undefined) {
    let text: string;
    try {
      text = readSmallText(opts.passwordFile);
    } catch (err) {
      throw new DowntimeError(
        `cannot read --password-file ${opts.passwordFile}: ${readErrorWords(err)}; point it at a readable file holding only the password`,
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
function checkPasswordText(password: string, source: string, code: ExitCode): void {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f]/.exec(password);
  if (bad === null) return;
  const what = bad[0] === '\n' || bad[0] === '\r' ? 'a line break' : 'a control character';
  throw new DowntimeError(
    `${source} holds ${what} (at character ${bad.index + 1}); a password is one line of printable characters: set it without it`,
    code,
  );
}

export async function resolveScenarioPassword(
  source: PasswordSource,
  io: Pick<Io, 'env' | 'cwd'>,
  /** How a command is named in messages: the scenario key, or the flag. */
  commandLabel = 'password.command',
): Promise<ResolvedPassword> {
  switch (source.from) {
    case 'file': {
      const path = expandHome(source.path, io);
      let text: string;
      try {
        text = readSmallText(path);
      } catch (err) {
        throw new DowntimeError(
          `cannot read password file ${source.path}: ${readErrorWords(err)}; point password.file at a readable file holding only the password`,
          ExitCode.InputFile,
        );
      }
      // Editors add a final newline; a password never ends with one.
      const password = text.replace(/\r?\n$/, '');
      if (password === '') {
        throw new DowntimeError(
          `password file ${source.path} is empty; put the password in it (password.file)`,
          ExitCode.InputFile,
        );
      }
      checkPasswordText(password, `password file ${source.path}`, ExitCode.InputFile);
      return { password, source: `password file ${source.path}` };
    }
    case 'env': {
      const value = io.env[source.name];
      if (value === undefined || value === '') {
        throw new DowntimeError(
          `password.env: ${source.name} is not set (or empty); export it, or use password.file / password.command`,
          ExitCode.Usage,
        );
      }
      checkPasswordText(value, `password.env: ${source.name}`, ExitCode.Usage);
      return { password: value, source: `$${source.name}` };
    }
    case 'command': {
      const password = await runPasswordCommand(source.command, io, commandLabel);
      return { password, source: 'password command' };
    }
  }
}

function runPasswordCommand(command: string, io: Pick<Io, 'env' | 'cwd'>, label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      {
        cwd: io.cwd,
        env: io.env as NodeJS.ProcessEnv,
        timeout: PASSWORD_COMMAND_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (err) {
          // stderr is shown (it says why: expired credentials, unknown host); stdout never is.
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          const why = e.killed
            ? `did not finish within ${PASSWORD_COMMAND_TIMEOUT_MS / 1000}s`
            : typeof e.code === 'number'
              ? `exited with status ${e.code}`
              : `could not run (${String(e.code ?? e.message)})`;
          const detail = oneLine(String(stderr)).slice(0, 200);
          reject(
            new DowntimeError(
              `${label} ${why}${detail ? `: ${detail}` : ''}; run it by hand to check it prints the password`,
              ExitCode.Usage,
            ),
          );
          return;
        }
        // Trimmed: a token printed with spaces or newlines around it is still the token.
        const password = String(stdout).trim();
        if (password === '') {
          reject(
            new DowntimeError(
              `${label} printed nothing; it must print the password on standard output`,
              ExitCode.Usage,
            ),
          );
          return;
        }
        // A second line is a warning the tool printed on stdout, not part of a token.
        if (/[\r\n]/.test(password)) {
          reject(
            new DowntimeError(
              `${label} printed more than one line; it must print only the password (send anything else to stderr)`,
              ExitCode.Usage,
            ),
          );
          return;
        }
        try {
          checkPasswordText(password, `the output of ${label}`, ExitCode.Usage);
        } catch (err) {
          reject(err as Error);
          return;
        }
        resolve(password);
      },
    );
  });
}
