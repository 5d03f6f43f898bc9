/**
 * Errno codes in words, for one-line messages. Two wordings: a path being created or written (where a missing
 * part of the path is the usual trouble), and a file named by the user being read.
 */

/** Why a path could not be created or written: `no such file or directory`, `read-only file system`, … */
export function errnoWords(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EEXIST':
      return 'it exists';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}

/** Why a file the user named could not be read: `no such file`, `permission denied`, `it is a directory`. */
export function readErrorWords(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'EFIFOSILENT':
      return `it is a FIFO and ${(err as Error).message.replace(/ to the FIFO/, '')} (its writer hangs?)`;
    default:
      return code ?? 'unreadable';
  }
}
