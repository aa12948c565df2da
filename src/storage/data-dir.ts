/**
 * A log's data directory (spec/storage.md):
 *   <dir>/log.key   the signer key, `PRIVATE+KEY+<origin>+<id>+<base64>`, mode 0600, fsynced
 *                   (with the directory) before the log uses it
 *   <dir>/db/       the LevelDB database (tiles, bundles, state, and other layers' sublevels)
 * The directory itself is created 0700.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { checkKeyName, formatSignerKey, parseSignerKey } from '../note/keys.js';
import { generateSeed } from '../note/signer.js';
import { createFileDurably } from './durable-file.js';

export const KEY_FILE = 'log.key';
export const DB_DIR = 'db';

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
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, KEY_FILE);
  if (existsSync(path))
    throw new AuditlogError('CONFLICT', `${path} exists; refusing to overwrite a log key`);
  const seed = generateSeed();
  createFileDurably(path, `${formatSignerKey(origin, seed)}\n`);
  return seed;
}

/**
 * Reads the signer key, refusing a key file that others can read (as ssh does).
 */
export function readKeyFile(dir: string): { name: string; seed: Uint8Array } {
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
