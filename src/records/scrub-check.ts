import fs from 'node:fs';
import path from 'node:path';

/** The outcome of {@link findInFiles}. */
export interface ScrubCheck {
  /** Files searched (every regular file under the directory). */
  files: number;
  /** Byte strings searched for. */
  needles: number;
  /** Files in which at least one needle was found. */
  foundIn: string[];
  /** True when the directory was larger than the limit and nothing was searched. */
  skipped: boolean;
}

const CHUNK = 1 << 20;

/**
 * Searches every file under `dir` for any of `needles` (each at most 64 bytes), reading in
 * 1 MiB chunks with an overlap so a needle across a chunk boundary is found. Files that vanish
 * during the search (LevelDB deletes obsolete tables) are skipped. Searches nothing when the
 * directory holds more than `maxBytes`.
 */
export function findInFiles(dir: string, needles: readonly Uint8Array[], maxBytes = 2 ** 31): ScrubCheck {
  const files = listFiles(dir);
  let total = 0;
  for (const f of files) total += f.size;
  if (total > maxBytes || needles.length === 0) {
    return { files: 0, needles: needles.length, foundIn: [], skipped: total > maxBytes };
  }
  const bufs = needles.map((n) => Buffer.from(n.buffer, n.byteOffset, n.byteLength));
  const overlap = Math.max(...bufs.map((n) => n.length)) - 1;
  const foundIn: string[] = [];
  const buf = Buffer.alloc(CHUNK + overlap);
  for (const f of files) {
    let fd: number;
    try {
      fd = fs.openSync(f.path, 'r');
    } catch {
      continue;
    }
    try {
      let carried = 0;
      let pos = 0;
      for (;;) {
        const n = fs.readSync(fd, buf, carried, CHUNK, pos);
        if (n === 0) break;
        pos += n;
        const view = buf.subarray(0, carried + n);
        if (bufs.some((needle) => view.includes(needle))) {
          foundIn.push(f.path);
          break;
        }
        carried = Math.min(overlap, view.length);
        view.copyWithin(0, view.length - carried);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return { files: files.length, needles: needles.length, foundIn, skipped: false };
}

function listFiles(dir: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) {
      try {
        out.push({ path: p, size: fs.statSync(p).size });
      } catch {
        // removed meanwhile
      }
    }
  }
  return out;
}
