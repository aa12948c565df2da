/**
 * A local append-only receipt file: one receipt JSON per line. `append` returns only after the
 * line is on disk (fdatasync), so an acknowledged receipt survives a crash. A torn last line (a
 * crash in the middle of an append that was therefore never acknowledged) is cut off when the file
 * is opened again. Node-only. Files are created with mode 0600.
 */
import { open as openFile, type FileHandle, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AuditlogError } from '../errors.js';
import { parseReceipt, type Receipt, receiptToJSON } from './receipt.js';

export class ReceiptFile {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

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

  /** Appends one receipt and waits until it is durable. Appends are serialized in call order. */
  append(receipt: Receipt): Promise<void> {
    if (this.closed) return Promise.reject(new AuditlogError('CLOSED', 'receipt file is closed'));
    const line = `${JSON.stringify(receiptToJSON(receipt))}\n`;
    const next = this.tail.then(async () => {
      await this.fh.appendFile(line);
      await this.fh.datasync();
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.fh.close();
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
