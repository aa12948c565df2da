/**
 * Creating small files that must survive a crash once created: keys. The file is created
 * exclusively (never overwriting), written, fsynced, and its directory fsynced so that the name
 * itself is durable; only then may the caller act on it (print a vkey, sign, cosign).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Creates `file` with `contents` and `mode`, durably.
 * @throws the fs error (EEXIST when the file exists).
 */
export function createFileDurably(file: string, contents: string, mode = 0o600): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.writeSync(fd, contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
