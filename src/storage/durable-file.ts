/**
 * Creating small files that must survive a crash once created: keys. The name appears only
 * when the whole content is on disk: the content is written to a temporary file in the same
 * directory (created exclusively, mode `mode`), every byte of it (a short write is resumed),
 * fsynced, then linked under its final name, which fails if that name exists (a key is never
 * overwritten), and the directory is fsynced so that the name itself is durable; only then may
 * the caller act on it (print a vkey, sign, cosign). A crash at any point leaves the final name
 * absent or holding the whole content, never an empty or partial file that would break every
 * later start.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditlogError } from '../errors.js';

/** Temporary files of `file`: `<name>.<16 hex digits>.tmp` in its directory. */
function isTempOf(file: string, candidate: string): boolean {
  const base = path.basename(file);
  return candidate.startsWith(`${base}.`) && /^[0-9a-f]{16}\.tmp$/.test(candidate.slice(base.length + 1));
}

/**
 * Removes the temporary files of `file` left by a crash of an earlier creation (they hold a
 * copy of content that never got, or already got, its final name). A creation of the same
 * file running in another process at that moment then fails (its link finds no file) rather
 * than publishing anything partial.
 */
function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  for (const name of fs.readdirSync(dir)) {
    if (isTempOf(file, name)) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Writes all of `bytes` to `fd` from its current position, resuming after short writes.
 * @throws the fs error of a write that fails (ENOSPC, EFBIG, EIO), or STORAGE if one writes nothing.
 */
function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    const n = fs.writeSync(fd, bytes, off, bytes.length - off);
    if (n <= 0) throw new AuditlogError('STORAGE', 'a write wrote nothing');
    off += n;
  }
}

/** fsyncs the directory `dir`, so that names created or removed in it are durable. */
export function fsyncDir(dir: string): void {
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

/** Errors of link(2) on a file system without hard links (FAT, some network file systems). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Gives the complete file `tmp` the name `file`: link(2), which, unlike rename(2), fails when
 * `file` exists. Where hard links are not supported, a rename after checking that `file` does
 * not exist (not atomic against another creator; the callers check first anyway).
 * @throws the fs error, EEXIST when `file` exists.
 */
function publish(tmp: string, file: string): void {
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    if (fs.existsSync(file)) {
      throw Object.assign(new Error(`EEXIST: file already exists, '${file}'`), { code: 'EEXIST' });
    }
    fs.renameSync(tmp, file);
  }
}

/**
 * Creates `file` with `contents` and `mode`, durably and all at once (see above).
 * Requires the directory of `file` to exist.
 * @throws the fs error (EEXIST when the file exists; the write's error, e.g. ENOSPC or EFBIG,
 *   with nothing left under either name).
 */
export function createFileDurably(file: string, contents: string, mode = 0o600): void {
  const dir = path.dirname(file);
  removeStaleTemps(file);
  const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    try {
      writeAll(fd, Buffer.from(contents, 'utf8'));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    publish(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
}
