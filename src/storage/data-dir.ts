/**
 * A log's data directory (spec/storage.md):
 *   <dir>/log.key   the signer key, `PRIVATE+KEY+<origin>+<id>+<base64>`, mode 0600, fsynced
 *                   (with the directory) before the log uses it
 *   <dir>/db/       the LevelDB database (tiles, bundles, state, and other layers' sublevels)
 * The directory itself is created 0700, and an existing one is tightened to 0700 when a log is
 * created or opened in it (`ensurePrivateDir`).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { checkKeyName, formatSignerKey, parseSignerKey } from '../note/keys.js';
import { generateSeed } from '../note/signer.js';
import { createFileDurably } from './durable-file.js';

export const KEY_FILE = 'log.key';
export const DB_DIR = 'db';

/**
 * Every name auditlog itself creates at the top of a log's or a witness's directory
 * (spec/storage.md): the log's key and databases, the record layer's key, configuration and
 * archive, the witness's key. A test checks that a working directory holds nothing else.
 */
export const OWN_NAMES: ReadonlySet<string> = new Set([
  KEY_FILE,
  DB_DIR,
  'leaf-index',
  'records.key',
  'config.json',
  'archive',
  'witness.key',
]);

/**
 * Creates `dir` (and its parents) mode 0700, or makes an existing one private: a data
 * directory holds keys and database files that LevelDB creates with the process's umask
 * (often world-readable), so nobody but the owner may enter it. An existing directory that
 * group or others can enter is changed to 0700 (a line on stderr says so) only when it is
 * auditlog's own, holding nothing but OWN_NAMES (a directory just made with `mkdir`, or one
 * an older version created); one that holds anything else is left as it is and refused, so
 * that pointing `--data` at a shared directory never changes it under its other users.
 * `chmod` is node:fs's, replaced only by tests (a directory whose mode even root cannot change
 * is not something a test can make on demand). `isOwn` says which names are auditlog's own in
 * this directory (default: OWN_NAMES; the archive directory passes its file names).
 * @throws AuditlogError FORBIDDEN when the directory is refused, its mode cannot be changed
 *   (it belongs to another user), or `dir` is not a directory.
 */
export function ensurePrivateDir(
  dir: string,
  chmod: (path: string, mode: number) => void = chmodSync,
  isOwn: (name: string) => boolean = (name) => OWN_NAMES.has(name),
): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new AuditlogError('FORBIDDEN', `${dir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  const shown = mode.toString(8);
  const foreign = readdirSync(dir).filter((name) => !isOwn(name));
  if (foreign.length > 0) {
    throw new AuditlogError(
      'FORBIDDEN',
      `${dir} can be entered by others (mode ${shown}) and holds files that are not auditlog's ` +
        `(${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); ` +
        'give auditlog a directory of its own, or chmod 700 this one',
    );
  }
  try {
    chmod(dir, mode & 0o700);
  } catch (err) {
    throw new AuditlogError(
      'FORBIDDEN',
      `${dir} can be entered by others (mode ${shown}) and this user cannot change that; chmod 700 it`,
      { cause: err },
    );
  }
  process.stderr.write(`auditlog: ${dir} had mode ${shown}; changed to ${(mode & 0o700).toString(8)}\n`);
}

/** True when `dir` already holds a log (its key file exists). */
export function isLogDir(dir: string): boolean {
  return existsSync(join(dir, KEY_FILE));
}

/**
 * Creates the directory and a new Ed25519 signer key for `origin`. Refuses to overwrite an
 * existing key. Returns the key's seed.
 */
export function createKeyFile(dir: string, origin: string): Uint8Array {
  checkKeyName(origin);
  ensurePrivateDir(dir);
  const path = join(dir, KEY_FILE);
  if (existsSync(path))
    throw new AuditlogError('CONFLICT', `${path} exists; refusing to overwrite a log key`);
  const seed = generateSeed();
  createFileDurably(path, `${formatSignerKey(origin, seed)}\n`);
  return seed;
}

/**
 * Reads the signer key, refusing a key file that others can read (as ssh does), after making
 * the directory private (`ensurePrivateDir`).
 */
export function readKeyFile(dir: string): { name: string; seed: Uint8Array } {
  ensurePrivateDir(dir);
  const path = join(dir, KEY_FILE);
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new AuditlogError(
      'FORBIDDEN',
      `${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  return parseSignerKey(readFileSync(path, 'utf8').trim());
}
