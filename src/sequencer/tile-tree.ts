/**
 * One tile with its internal levels computed lazily: row 0 holds up to 256 hashes of tree
 * level 8L; row r (1..8) holds the perfect subtrees of 2^r of them. Complete nodes never
 * change, so a computed node is kept for good, also on the growing right-edge tile.
 *
 * Hashes are kept packed in two off-heap buffers (row 0, and rows 1..8 one after another),
 * not as one typed array per node: the tree caches hundreds of tiles, and ~500 small objects
 * per tile, each surviving a few garbage collections before its tile is evicted, made
 * collection a tenth of the append loop's time. `node` hands out a view of the packed bytes
 * (short-lived, cheap to collect); callers must not write to it.
 */
import { AuditlogError } from '../errors.js';
import { HASH_SIZE, hashChildren } from '../merkle/rfc6962.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';

const ROW0_BYTES = TILE_WIDTH * HASH_SIZE;
/** Rows 1..8 packed: row r starts at node ROW_START[r] (row 1 has 128 nodes, row 8 one). */
const ROW_START: number[] = [0];
for (let r = 1, at = 0; r <= TILE_HEIGHT; r++) {
  ROW_START[r] = at;
  at += TILE_WIDTH >> r;
}
const INNER_NODES = TILE_WIDTH - 1;

export class TileTree {
  private row0: Uint8Array;
  private count = 0;
  /** Rows 1..8, allocated on the first inner node; `known[i]` marks packed node i computed. */
  private inner: Uint8Array | undefined;
  private known: Uint8Array | undefined;

  /** A tile holding `row0` (width × 32 bytes, kept by reference when it is a full tile). */
  constructor(row0?: Uint8Array) {
    if (row0) {
      if (row0.length % HASH_SIZE !== 0 || row0.length > ROW0_BYTES) {
        throw new AuditlogError('STORAGE', `stored tile of ${row0.length} bytes`);
      }
      if (row0.length === ROW0_BYTES) this.row0 = row0;
      else {
        this.row0 = new Uint8Array(ROW0_BYTES);
        this.row0.set(row0);
      }
      this.count = row0.length / HASH_SIZE;
    } else {
      this.row0 = new Uint8Array(ROW0_BYTES);
    }
  }

  /** Number of hashes in row 0. */
  get width(): number {
    return this.count;
  }

  /** Appends a hash to row 0 (copied). Requires width < 256 and the tile not built from a full stored row. */
  push(hash: Uint8Array): void {
    this.row0.set(hash, this.count * HASH_SIZE);
    this.count++;
  }

  /** Appends the packed hashes `bytes` to row 0 (copied). Requires width + bytes/32 <= 256. */
  pushMany(bytes: Uint8Array): void {
    const k = bytes.length / HASH_SIZE;
    if (!Number.isInteger(k) || this.count + k > TILE_WIDTH) {
      throw new AuditlogError(
        'INTERNAL',
        `${bytes.length} bytes do not fit tile row 0 at width ${this.count}`,
      );
    }
    this.row0.set(bytes, this.count * HASH_SIZE);
    this.count += k;
  }

  /**
   * Records nodes j, j+1, ... of row r (r >= 1), packed in `bytes`, computed elsewhere (the
   * tree's batch append), so that `node` need not hash them again. Requires them to be the
   * nodes' true hashes.
   */
  setNodes(r: number, j: number, bytes: Uint8Array): void {
    const k = bytes.length / HASH_SIZE;
    if (r < 1 || r > TILE_HEIGHT || j < 0 || !Number.isInteger(k) || j + k > TILE_WIDTH >> r) {
      throw new AuditlogError('INTERNAL', `tile nodes ${r}/${j}+${k} out of range`);
    }
    const i = ROW_START[r]! + j;
    this.innerBuffer().set(bytes, i * HASH_SIZE);
    this.known!.fill(1, i, i + k);
  }

  /**
   * Records node j of row r (r >= 1), computed elsewhere (the tree's frontier merge), so that
   * `node` need not hash it again. Requires it to be the node's true hash.
   */
  setNode(r: number, j: number, hash: Uint8Array): void {
    if (r < 1 || r > TILE_HEIGHT || j < 0 || j >= TILE_WIDTH >> r || hash.length !== HASH_SIZE) {
      throw new AuditlogError('INTERNAL', `tile node ${r}/${j} out of range`);
    }
    const i = ROW_START[r]! + j;
    this.innerBuffer().set(hash, i * HASH_SIZE);
    this.known![i] = 1;
  }

  private innerBuffer(): Uint8Array {
    if (!this.inner) {
      this.inner = new Uint8Array(INNER_NODES * HASH_SIZE);
      this.known = new Uint8Array(INNER_NODES);
    }
    return this.inner;
  }

  /** Row 0 as stored: width × 32 bytes, a fresh copy. */
  bytes(): Uint8Array {
    return this.row0.slice(0, this.count * HASH_SIZE);
  }

  /**
   * Hash of node j of row r (the perfect subtree over row-0 hashes j·2^r .. (j+1)·2^r - 1),
   * a view of the tile's own bytes: do not modify it. Requires (j+1)·2^r <= width.
   */
  node(r: number, j: number): Uint8Array {
    if ((j + 1) << r > this.count) {
      throw new AuditlogError('INTERNAL', `tile node ${r}/${j} beyond width ${this.count}`);
    }
    if (r === 0) return this.row0.subarray(j * HASH_SIZE, (j + 1) * HASH_SIZE);
    const i = ROW_START[r]! + j;
    const inner = this.innerBuffer();
    if (this.known![i] === 0) {
      inner.set(hashChildren(this.node(r - 1, 2 * j), this.node(r - 1, 2 * j + 1)), i * HASH_SIZE);
      this.known![i] = 1;
    }
    return inner.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }

  /** Root of a full tile (the hash it contributes to the level above). Requires width 256. */
  root(): Uint8Array {
    return this.node(TILE_HEIGHT, 0);
  }
}
