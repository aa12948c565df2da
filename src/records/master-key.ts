import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditlogError } from '../errors.js';
import { createFileDurably } from '../storage/durable-file.js';

/** The records master key file in a data directory: base64 of 32 random bytes, mode 0600. */
export const MASTER_KEY_FILE = 'records.key';

/**
 * Reads `<dataDir>/records.key`, creating it (mode 0600, fsynced with its directory) if absent.
 * Refuses a key file that others can read, or one that is not 32 bytes of base64.
 */
export function loadOrCreateMasterKey(dataDir: string): Uint8Array {
  const file = path.join(dataDir, MASTER_KEY_FILE);
  if (!fs.existsSync(file)) {
    createFileDurably(file, `${randomBytes(32).toString('base64')}\n`);
  }
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) {
    throw new AuditlogError(
      'FORBIDDEN',
      `${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const text = fs.readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== 32 || key.toString('base64') !== text) {
    throw new AuditlogError('BAD_KEY', `${file}: not 32 bytes of base64`);
  }
  return new Uint8Array(key);
}
