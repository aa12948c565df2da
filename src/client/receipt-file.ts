/**
 * A local append-only receipt file: one receipt JSON per line. `append` returns only after the
 * line is on disk (fdatasync), so an acknowledged receipt survives a crash. A torn last line (a
 * crash in the middle of an append that was therefore never acknowledged) is cut off when the file
 * is opened again. An append that fails (ENOSPC, EFBIG, EIO) is undone before it rejects: the
 * file is cut back to its length before the append, so a later append never lands after a torn
 * line; if that cannot be done either, the handle refuses every later append until the file is
 * opened again (which cuts a torn last line). Node-only. Files are created with mode 0600.
 */
import { open as openFile, type FileHandle, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AuditlogError } from '../errors.js';
import { parseReceipt, type Receipt, receiptToJSON } from './receipt.js';

export class ReceiptFile {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  /** Set when a failed append could not be undone: the file may end in a torn line. */
  private broken: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /** Opens (creating if needed) a receipt file for appending, repairing a torn last line. */
  static async open(path: string): Promise<ReceiptFile> {
    const fh = await openFile(path, 'a+', 0o600);
    try {
      const { size } = await fh.stat();
      if (size > 0) {
        const buf = await readFile(path);
        const cut = buf.lastIndexOf(0x0a) + 1;
        if (cut !== buf.length) {
          await fh.truncate(cut);
          await fh.datasync();
        }
      } else {
        await fsyncDir(dirname(path));
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new ReceiptFile(path, fh);
  }

  /**
   * Appends one receipt and waits until it is durable. Appends are serialized in call order.
   * @throws AuditlogError('CLOSED') after close; AuditlogError('STORAGE') when the append failed
   *   (nothing of it is left in the file), or when an earlier failed append could not be undone
   *   (reopen the file).
   */
  append(receipt: Receipt): Promise<void> {
    if (this.closed) return Promise.reject(new AuditlogError('CLOSED', 'receipt file is closed'));
    const line = Buffer.from(`${JSON.stringify(receiptToJSON(receipt))}\n`, 'utf8');
    const next = this.tail.then(() => this.appendLine(line));
    this.tail = next.catch(() => {});
    return next;
  }

  /** Writes `line` at the end and syncs it; on failure cuts the file back to where it ended. */
  private async appendLine(line: Uint8Array): Promise<void> {
    if (this.broken !== undefined) {
      throw new AuditlogError(
        'STORAGE',
        `${this.path}: an earlier append failed and could not be undone; reopen the file`,
        { cause: this.broken },
      );
    }
    let size: number | undefined;
    try {
      size = (await this.fh.stat()).size;
      await writeAll(this.fh, line);
      await this.fh.datasync();
    } catch (err) {
      // Without a size, nothing was written yet: nothing to undo.
      if (size !== undefined) await this.undo(size, err);
      throw new AuditlogError('STORAGE', `${this.path}: append failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Cuts the file back to `size` (durably), or marks the handle broken if that fails too. */
  private async undo(size: number, cause: unknown): Promise<void> {
    try {
      await this.fh.truncate(size);
      await this.fh.datasync();
    } catch (err) {
      this.broken = new AggregateError([cause, err], 'append failed, then cutting it off failed');
    }
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.fh.close();
  }
}

/**
 * Writes all of `bytes` at the end of the file (it is open for appending), resuming after short
 * writes. @throws the fs error of a write that fails, or STORAGE if one writes nothing.
 */
async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off, null);
    if (bytesWritten <= 0) throw new AuditlogError('STORAGE', 'a write wrote nothing');
    off += bytesWritten;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const d = await openFile(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some platforms cannot fsync a directory; the file itself is still synced on every append.
  } finally {
    await d.close();
  }
}

/**
 * Reads every receipt of a receipt file. A final line without newline (torn) is ignored.
 * @throws AuditlogError('BAD_REQUEST') naming the line of a complete line that does not parse.
 */
export async function readReceiptFile(path: string): Promise<Receipt[]> {
  const text = (await readFile(path)).toString('utf8');
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a torn line
  return lines.map((line, i) => {
    try {
      return parseReceipt(JSON.parse(line));
    } catch (cause) {
      throw new AuditlogError('BAD_REQUEST', `${path}:${i + 1}: not a receipt`, { cause });
    }
  });
}
