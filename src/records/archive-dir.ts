/**
 * The archive directory's owner mark (spec/retention.md, "The archive directory"). Recovery
 * removes bundle files that its log's registry does not know, taking them for leftovers of a
 * crash; in a directory that two logs share, those are the other log's committed bundles, whose
 * bodies have already left its hot store. So a log marks the directory as its own before its
 * retention job touches anything in it, and refuses a directory marked by another log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuditlogError } from '../errors.js';
import { createFileDurably } from '../storage/durable-file.js';
import {
  ARCHIVE_OWNER_FILE,
  bundleOfCreationReceipt,
  ensurePrivateArchiveDir,
  isArchiveFileName,
} from './archive.js';

export { ARCHIVE_OWNER_FILE };

/**
 * Makes sure `dir` (created 0700 if missing) is private (ensurePrivateArchiveDir) and is the
 * archive directory of the log whose verifier key is `vkey`: marked with it, or unmarked and
 * holding no bundle or creation receipt but those in `registered` (bundle names of the log's
 * registry, any state), in which case it is marked now. Temporary files are not counted: the
 * recovery removes them.
 * @throws AuditlogError('FORBIDDEN') when the directory is not private, ('STORAGE') when it
 *   belongs to another log, or holds bundles this log did not write; nothing in it is touched then.
 */
export function claimArchiveDir(dir: string, vkey: string, registered: ReadonlySet<string>): void {
  ensurePrivateArchiveDir(dir);
  const file = path.join(dir, ARCHIVE_OWNER_FILE);
  for (let attempt = 0; ; attempt++) {
    const owner = readOwner(file);
    if (owner !== undefined) {
      if (owner === vkey) return;
      throw new AuditlogError(
        'STORAGE',
        `archive directory ${dir} belongs to another log (${owner.split('+')[0]}): give each log its own archive_dir`,
      );
    }
    const foreign = fs.readdirSync(dir).filter((n) => {
      if (n.endsWith('.tmp')) return false;
      const bundle = isArchiveFileName(n) ? n : bundleOfCreationReceipt(n);
      return bundle !== undefined && !registered.has(bundle);
    });
    if (foreign.length > 0) {
      throw new AuditlogError(
        'STORAGE',
        `archive directory ${dir} holds ${foreign.length} archive file(s) this log did not write ` +
          `(${foreign[0]}${foreign.length > 1 ? ', …' : ''}) and no owner mark: give each log its own archive_dir`,
      );
    }
    try {
      createFileDurably(file, `${vkey}\n`);
      return;
    } catch (err) {
      // Another log marked it in between: read its mark.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
  }
}

function readOwner(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AuditlogError('STORAGE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}
