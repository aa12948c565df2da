/**
 * One tile with its internal levels computed lazily: row 0 holds up to 256 hashes of tree
 * level 8L; row r (1..8) holds the perfect subtrees of 2^r of them. Complete nodes never
 * change, so a computed node is kept for good, also on the growing right-edge tile.
 */
import { HASH_SIZE, hashChildren } from '../merkle/rfc6962.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { AuditlogError } from '../errors.js';

export class TileTree {
  private readonly rows: (Uint8Array | undefined)[] = [];
  private readonly known: (Uint8Array | undefined)[] = [];
  /** Number of hashes in row 0. */
  width = 0;

  constructor(row0?: Uint8Array) {
    this.rows[0] = new Uint8Array(TILE_WIDTH * HASH_SIZE);
    if (row0) {
      if (row0.length % HASH_SIZE !== 0 || row0.length > TILE_WIDTH * HASH_SIZE) {
        throw new AuditlogError('STORAGE', `stored tile of ${row0.length} bytes`);
      }
      this.rows[0].set(row0);
      this.width = row0.length / HASH_SIZE;
    }
  }

  /** Appends a hash to row 0. Requires width < 256. */
  push(hash: Uint8Array): void {
    this.rows[0]!.set(hash, this.width * HASH_SIZE);
    this.width++;
  }

  /** Row 0 as stored: width × 32 bytes (a view; copy before keeping). */
  bytes(): Uint8Array {
    return this.rows[0]!.subarray(0, this.width * HASH_SIZE);
  }

  /**
   * Hash of node j of row r (the perfect subtree over row-0 hashes j·2^r .. (j+1)·2^r - 1).
   * Requires (j+1)·2^r <= width.
   */
  node(r: number, j: number): Uint8Array {
    if ((j + 1) << r > this.width) {
      throw new AuditlogError('INTERNAL', `tile node ${r}/${j} beyond width ${this.width}`);
    }
    if (r === 0) return this.rows[0]!.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE);
    let row = this.rows[r];
    let known = this.known[r];
    if (!row || !known) {
      row = this.rows[r] = new Uint8Array((TILE_WIDTH >> r) * HASH_SIZE);
      known = this.known[r] = new Uint8Array(TILE_WIDTH >> r);
    }
    if (known[j] === 0) {
      row.set(hashChildren(this.node(r - 1, 2 * j), this.node(r - 1, 2 * j + 1)), j * HASH_SIZE);
      known[j] = 1;
    }
    return row.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE);
  }

  /** Root of a full tile (the hash it contributes to the level above). Requires width 256. */
  root(): Uint8Array {
    return this.node(TILE_HEIGHT, 0);
  }
}
