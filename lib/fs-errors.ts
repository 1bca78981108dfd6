/**
 * A file the user named could not be read: say why in a sentence, not in Node's errno
 * text ("ENOENT: no such file or directory, open 'missing.pem'"). No dependencies, so the
 * CLI's argument parser can load it without slowing its start.
 */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'there is no such file (check the path; relative paths start from the current directory)',
  EACCES: 'permission denied (the file is not readable by this user)',
  EPERM: 'permission denied (the file is not readable by this user)',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'the path has a symbolic-link loop',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many files are open; try again',
};

export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && REASONS[code] !== undefined) return REASONS[code];
  return code ?? (err instanceof Error ? err.message : String(err));
}
