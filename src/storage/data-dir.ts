/**
 * A log's data directory (spec/storage.md):
 *   <dir>/log.key   the signer key, `PRIVATE+KEY+<origin>+<id>+<base64>`, mode 0600, fsynced
 *                   (with the directory) before the log uses it
 *   <dir>/db/       the LevelDB database (tiles, bundles, state, and other layers' sublevels)
 * The directory itself is created 0700, and an existing one is tightened to 0700 when a log is
 * created or opened in it (`ensurePrivateDir`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { checkKeyName, formatSignerKey, parseSignerKey } from '../note/keys.js';
import { generateSeed } from '../note/signer.js';
import { createFileDurably } from './durable-file.js';

export const KEY_FILE = 'log.key';
export const DB_DIR = 'db';

/**
 * Creates `dir` (and its parents) mode 0700, or, when it exists with any group or other
 * permission, changes it to 0700 and says so on stderr: a data directory holds keys and
 * database files that LevelDB creates with the process's umask (often world-readable), so
 * nobody but the owner may enter it.
 * @throws AuditlogError FORBIDDEN when the mode cannot be changed (the directory belongs to
 *   another user), or when `dir` is not a directory.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new AuditlogError('FORBIDDEN', `${dir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(dir, mode & 0o700);
  } catch (err) {
    throw new AuditlogError(
      'FORBIDDEN',
      `${dir} can be entered by others (mode ${mode.toString(8)}) and this user cannot change that; chmod 700 it`,
      { cause: err },
    );
  }
  process.stderr.write(
    `auditlog: ${dir} had mode ${mode.toString(8)}; changed to ${(mode & 0o700).toString(8)}\n`,
  );
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
