/**
 * One tile with its internal levels computed lazily: row 0 holds up to 256 hashes of tree
 * level 8L; row r (1..8) holds the perfect subtrees of 2^r of them. Complete nodes never
 * change, so a computed node is kept for good, also on the growing right-edge tile.
 *
 * Nodes are kept as the hash arrays themselves and handed out by reference (callers must not
 * write to them): the receipts of a batch read the same few hundred nodes thousands of times,
 * and a fresh view per read was a large share of the append path's allocations.
 */
import { AuditlogError } from '../errors.js';
import { HASH_SIZE, hashChildren } from '../merkle/rfc6962.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';

export class TileTree {
  /** nodes[r][j]: node j of row r, once known. Row 0 is always complete up to the width. */
  private readonly nodes: Uint8Array[][] = [[]];

  constructor(row0?: Uint8Array) {
    if (row0) {
      if (row0.length % HASH_SIZE !== 0 || row0.length > TILE_WIDTH * HASH_SIZE) {
        throw new AuditlogError('STORAGE', `stored tile of ${row0.length} bytes`);
      }
      for (let off = 0; off < row0.length; off += HASH_SIZE)
        this.nodes[0]!.push(row0.subarray(off, off + HASH_SIZE));
    }
  }

  /** Number of hashes in row 0. */
  get width(): number {
    return this.nodes[0]!.length;
  }

  /** Appends a hash to row 0 (kept by reference). Requires width < 256. */
  push(hash: Uint8Array): void {
    this.nodes[0]!.push(hash);
  }

  /**
   * Records node j of row r (r >= 1), computed elsewhere (the tree's frontier merge), so that
   * `node` need not hash it again. Requires it to be the node's true hash.
   */
  setNode(r: number, j: number, hash: Uint8Array): void {
    let row = this.nodes[r];
    if (!row) row = this.nodes[r] = [];
    row[j] = hash;
  }

  /** Row 0 as stored: width × 32 bytes, a fresh copy. */
  bytes(): Uint8Array {
    const row = this.nodes[0]!;
    const out = new Uint8Array(row.length * HASH_SIZE);
    for (let i = 0; i < row.length; i++) out.set(row[i]!, i * HASH_SIZE);
    return out;
  }

  /**
   * Hash of node j of row r (the perfect subtree over row-0 hashes j·2^r .. (j+1)·2^r - 1),
   * shared: do not modify it. Requires (j+1)·2^r <= width.
   */
  node(r: number, j: number): Uint8Array {
    if ((j + 1) << r > this.width) {
      throw new AuditlogError('INTERNAL', `tile node ${r}/${j} beyond width ${this.width}`);
    }
    let row = this.nodes[r];
    if (!row) row = this.nodes[r] = [];
    let h = row[j];
    if (h === undefined) {
      h = hashChildren(this.node(r - 1, 2 * j), this.node(r - 1, 2 * j + 1));
      row[j] = h;
    }
    return h;
  }

  /** Root of a full tile (the hash it contributes to the level above). Requires width 256. */
  root(): Uint8Array {
    return this.node(TILE_HEIGHT, 0);
  }
}
