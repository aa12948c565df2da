/**
 * The witness's own key file: `<dir>/witness.key`, a signer key in the sumdb note format
 * (`PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`), created with mode 0600 (fsynced with its
 * directory before the witness cosigns with it) and refused when
 * others can read it. The seed never leaves this module except to build the signer.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { checkKeyName, formatSignerKey, parseSignerKey } from '../note/keys.js';
import { ed25519Signer, generateSeed, type Signer } from '../note/signer.js';
import { ensurePrivateDir } from '../storage/data-dir.js';
import { createFileDurably } from '../storage/durable-file.js';

export const WITNESS_KEY_FILE = 'witness.key';

/**
 * Opens the witness key in `dir`, creating the directory (0700; an existing one is tightened to
 * 0700, see ensurePrivateDir) and a new key for `name` when there is none.
 * @throws AuditlogError 'CONFLICT' when the key file names another witness, 'FORBIDDEN' when the
 *   file is readable by group or others, 'BAD_KEY' when it does not parse.
 */
export function openWitnessKey(dir: string, name: string): { signer: Signer; created: boolean } {
  checkKeyName(name);
  ensurePrivateDir(dir);
  const path = join(dir, WITNESS_KEY_FILE);
  if (!existsSync(path)) {
    const seed = generateSeed();
    createFileDurably(path, `${formatSignerKey(name, seed)}\n`);
    return { signer: ed25519Signer(name, seed), created: true };
  }
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new AuditlogError('FORBIDDEN', `${path} is readable by others; chmod 600 it`);
  }
  const key = parseSignerKey(readFileSync(path, 'utf8'));
  if (key.name !== name) {
    throw new AuditlogError('CONFLICT', `${path} holds the key of witness ${key.name}, not ${name}`);
  }
  return { signer: ed25519Signer(key.name, key.seed), created: false };
}
