/**
 * The design most teams write first, kept here only as a baseline: a "compliance logger" that
 * stores each record as its own committed write, chained by SHA-256 (h_i = SHA-256(h_{i-1} || r_i)),
 * and whose integrity is checked by walking the chain from the first record to the last.
 */
import { hash } from 'node:crypto';
import { Level } from 'level';
import { u64Key } from './machine.js';

export class HashChainLogger {
  private head: Buffer = Buffer.alloc(32);
  private size = 0;

  private constructor(private readonly db: Level<Uint8Array, Uint8Array>) {}

  static async open(dir: string): Promise<HashChainLogger> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    return new HashChainLogger(db);
  }

  get length(): number {
    return this.size;
  }

  /** Appends one record as one synced write: value = h_i || record. Callers must not overlap calls. */
  async append(record: Uint8Array): Promise<void> {
    const h = hash('sha256', Buffer.concat([this.head, record]), 'buffer');
    await this.db.put(u64Key(this.size), Buffer.concat([h, record]), { sync: true });
    this.head = h;
    this.size++;
  }

  /**
   * Appends many records in unsynced batches. Used only to build a large chain quickly for the
   * verification benchmark; the append rate is measured with `append`.
   */
  async bulkAppend(records: Iterable<Uint8Array>, batchSize = 10_000): Promise<void> {
    let ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = [];
    for (const record of records) {
      const h = hash('sha256', Buffer.concat([this.head, record]), 'buffer');
      ops.push({ type: 'put', key: u64Key(this.size), value: Buffer.concat([h, record]) });
      this.head = h;
      this.size++;
      if (ops.length === batchSize) {
        await this.db.batch(ops);
        ops = [];
      }
    }
    if (ops.length > 0) await this.db.batch(ops, { sync: true });
  }

  /**
   * Proves the record at `index` the only way a hash chain can: read every record from the first
   * to the head, recompute each link and compare it with the stored one and finally with the
   * trusted head. Returns the bytes a verifier had to receive.
   */
  async verifyRecord(index: number, trustedHead: Uint8Array): Promise<{ bytes: number; found: boolean }> {
    let prev: Buffer = Buffer.alloc(32);
    let bytes = 0;
    let found = false;
    let i = 0;
    for await (const value of this.db.values()) {
      bytes += value.byteLength;
      const stored = value.subarray(0, 32);
      const h = hash('sha256', Buffer.concat([prev, value.subarray(32)]), 'buffer');
      if (!h.equals(stored)) throw new Error(`hash chain broken at ${i}`);
      if (i === index) found = true;
      prev = h;
      i++;
    }
    if (!prev.equals(trustedHead)) throw new Error('hash chain head mismatch');
    return { bytes, found };
  }

  get headHash(): Uint8Array {
    return this.head;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
