/**
 * The tree as the sequencer sees it: the right edge in memory (the partial tile of every
 * level, the perfect-subtree "frontier" that yields the root), and every other node read from
 * stored tiles through a bounded cache. Memory is O(levels × tile), never O(tree).
 *
 * Appends may run ahead of what is committed; readers only ask for complete nodes of
 * committed tree sizes, and a complete node never changes, so they can share this object.
 */
import { HASH_SIZE, hashChildren, nodeHasher } from '../merkle/rfc6962.js';
import { hashNodePairs } from '../merkle/sha256x4.js';
import { foldRight, perfectSubtrees } from '../merkle/proof.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { AuditlogError } from '../errors.js';
import type { LogStore } from '../storage/store.js';
import { BoundedCache } from './bounded-cache.js';
import { TileTree } from './tile-tree.js';

const FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
/** Full tiles kept in memory per level: at most 256, each up to 511 node hashes (~40 KiB). */
const TILE_CACHE_SIZE = 256;

export interface TileWrite {
  level: number;
  index: bigint;
  hashes: Uint8Array;
}

/**
 * What the receipts of one batch share: MTH(D[start:size]) per start, and per tile level the
 * tile the last proof used (the next leaf's proof nearly always uses it again).
 */
interface ProofMemo {
  readonly rightEdge: Map<number, Uint8Array>;
  readonly tiles: ({ index: number; tile: TileTree } | undefined)[];
  /** Leaf hashes first, first+1, ... (the batch's own views), used instead of new views of tile row 0. */
  readonly first: number;
  readonly leaves: readonly Uint8Array[] | undefined;
}

export class Tree {
  /** Leaves appended so far (may be ahead of the committed size). */
  size = 0n;
  /** Perfect subtrees covering [0, size), largest first. */
  private readonly frontier: Uint8Array[] = [];
  /** frontier[i] is the root of a perfect subtree of 2^frontierLevels[i] leaves (parallel arrays: no object per merge). */
  private readonly frontierLevels: number[] = [];
  /** Right-edge tile per level and its index. */
  private readonly right: TileTree[] = [];
  private readonly rightIndex: bigint[] = [];
  /** Full tiles by level, then index (bigint Map keys compare by value). */
  private readonly cache: BoundedCache<bigint, TileTree>[] = [];
  /** Tiles changed since the last `takeTileWrites`. */
  private readonly fullWrites: TileWrite[] = [];
  private readonly dirtyLevels = new Set<number>();
  /** Per level, the tile that received the latest row-0 hash (the right edge, or the tile it just filled). */
  private readonly lastPushed: TileTree[] = [];

  private constructor(private readonly store: LogStore) {}

  /**
   * Loads the right edge of the committed tree of `size` from storage and checks that it
   * hashes to `root`: O(levels) reads, whatever the tree size.
   */
  static async load(store: LogStore, size: bigint, root: Uint8Array): Promise<Tree> {
    const t = new Tree(store);
    t.size = size;
    for (let level = 0; size >> BigInt(TILE_HEIGHT * level) > 0n; level++) {
      const count = size >> BigInt(TILE_HEIGHT * level);
      const index = count / BigInt(TILE_WIDTH);
      const width = Number(count % BigInt(TILE_WIDTH));
      t.rightIndex[level] = index;
      if (width === 0) {
        t.right[level] = new TileTree();
        continue;
      }
      const stored = await store.readTile(level, index);
      if (!stored || stored.length < width * HASH_SIZE) {
        throw new AuditlogError('STORAGE', `right-edge tile ${level}/${index} missing or short`);
      }
      t.right[level] = new TileTree(stored.subarray(0, width * HASH_SIZE));
    }
    for (const n of perfectSubtrees(0n, size)) {
      t.frontier.push(await t.nodeHash(n.level, n.index));
      t.frontierLevels.push(n.level);
    }
    const got = t.root();
    if (Buffer.compare(got, root) !== 0) {
      throw new AuditlogError(
        'STORAGE',
        `stored tiles hash to a root other than the checkpoint's at size ${size}`,
      );
    }
    return t;
  }

  /** Root of the tree of the current (in-memory) size. */
  root(): Uint8Array {
    // A fresh array: a single frontier node would otherwise be handed out (and stored in the
    // state) by reference.
    return this.frontier.length === 1 ? this.frontier[0]!.slice() : foldRight(nodeHasher, this.frontier);
  }

  /**
   * Appends a leaf hash: O(1) amortized hashing (one node hash per leaf). Every interior node
   * the frontier merge computes is also a node of some tile, and is handed to that tile, so
   * that proofs never hash it a second time.
   */
  appendLeaf(leafHash: Uint8Array): void {
    this.pushToLevel(0, leafHash);
    let hash = leafHash;
    let level = 0;
    const levels = this.frontierLevels;
    while (levels.length > 0 && levels[levels.length - 1] === level) {
      levels.pop();
      hash = hashChildren(this.frontier.pop()!, hash);
      level++;
      const r = level % TILE_HEIGHT;
      const tileLevel = (level - r) / TILE_HEIGHT;
      if (r === 0) this.pushToLevel(tileLevel, hash);
      else {
        // The node ends at the last hash pushed to row 0 of its tile (possibly just filled).
        const tile = this.lastPushed[tileLevel]!;
        tile.setNode(r, (tile.width - 1) >> r, hash);
      }
    }
    this.frontier.push(hash);
    levels.push(level);
    this.size++;
  }

  /**
   * Appends a batch of leaf hashes (`leaves[i]` the view of bytes 32i.. of `flat`), hashing
   * level by level: the new nodes of one tree level do not depend on each other, so each
   * level is one call to the four-lane hasher instead of one hash at a time. The tree, its
   * tiles and its frontier end up exactly as after appendLeaf for each leaf in turn (the
   * tests compare both); every interior node is computed once and handed to its tile.
   */
  appendLeaves(flat: Uint8Array, leaves: readonly Uint8Array[]): void {
    const n = leaves.length;
    if (flat.length !== n * HASH_SIZE) {
      throw new AuditlogError('INTERNAL', `appendLeaves: ${flat.length} bytes for ${n} leaf hashes`);
    }
    if (n === 0) return;
    if (this.size + BigInt(n) >= 2n ** 53n) {
      for (const leaf of leaves) this.appendLeaf(leaf);
      return;
    }
    const oldSize = Number(this.size);
    const newSize = oldSize + n;
    /** The old frontier by level (its node at level h is the last complete one of oldSize). */
    const old: Uint8Array[] = [];
    for (let i = 0; i < this.frontier.length; i++) old[this.frontierLevels[i]!] = this.frontier[i]!;
    /** Per level, the first new node's index and the new nodes, packed (no view per node). */
    const firsts: number[] = [];
    const news: Uint8Array[] = [];
    let first = oldSize;
    let bytes = flat;
    for (let level = 0; ; level++) {
      const count = bytes.length / HASH_SIZE;
      firsts.push(first);
      news.push(bytes);
      this.handToTiles(level, first, bytes);
      // Pair the new nodes, the first with its left sibling from the frontier if it is a right child.
      const left = first % 2 === 1 ? old[level] : undefined;
      if (first % 2 === 1 && !left) throw new AuditlogError('INTERNAL', `frontier lacks level ${level}`);
      const pairs = Math.floor((count + (left ? 1 : 0)) / 2);
      if (pairs === 0) break;
      let children = bytes;
      if (left) {
        children = new Uint8Array(2 * pairs * HASH_SIZE);
        children.set(left, 0);
        children.set(bytes.subarray(0, (2 * pairs - 1) * HASH_SIZE), HASH_SIZE);
      }
      bytes = hashNodePairs(children, pairs);
      first = Math.floor(first / 2);
    }
    // The new frontier: for each set bit h of newSize, node (newSize >> h) - 1 of level h.
    this.frontier.length = 0;
    this.frontierLevels.length = 0;
    let top = 0;
    while (2 ** (top + 1) <= newSize) top++;
    for (let h = top; h >= 0; h--) {
      const count = Math.floor(newSize / 2 ** h);
      if (count % 2 === 0) continue;
      const index = count - 1;
      // New if this level produced it; otherwise it is the old frontier's node of this level.
      const at = index - (firsts[h] ?? Number.POSITIVE_INFINITY);
      const hash =
        h < news.length && at >= 0 ? news[h]!.subarray(at * HASH_SIZE, (at + 1) * HASH_SIZE) : old[h];
      if (!hash) throw new AuditlogError('INTERNAL', `frontier node ${h}/${index} unknown`);
      this.frontier.push(hash);
      this.frontierLevels.push(h);
    }
    this.size = BigInt(newSize);
  }

  /**
   * Gives the new nodes of tree `level` (indices first, first+1, ..., packed in `bytes`) to
   * their tiles, one copy per tile: row 0 of the tile level when the level is a multiple of 8,
   * else the memo of the tile holding them (consecutive nodes of one row are adjacent there).
   */
  private handToTiles(level: number, first: number, bytes: Uint8Array): void {
    const r = level % TILE_HEIGHT;
    const tileLevel = (level - r) / TILE_HEIGHT;
    const count = bytes.length / HASH_SIZE;
    if (r === 0) {
      for (let i = 0; i < count; ) {
        const tile = this.rightTile(tileLevel);
        const k = Math.min(count - i, TILE_WIDTH - tile.width);
        tile.pushMany(bytes.subarray(i * HASH_SIZE, (i + k) * HASH_SIZE));
        i += k;
        this.afterPush(tileLevel, tile);
      }
      return;
    }
    const perTile = TILE_WIDTH >> r; // nodes of row r in one tile
    for (let i = 0; i < count; ) {
      const node = first + i;
      const t = Math.floor(node / perTile);
      const j = node - t * perTile;
      const k = Math.min(count - i, perTile - j);
      // A tile evicted from the cache meanwhile just recomputes the nodes if they are ever asked.
      this.tileSync(tileLevel, BigInt(t))?.setNodes(r, j, bytes.subarray(i * HASH_SIZE, (i + k) * HASH_SIZE));
      i += k;
    }
  }

  /** The right-edge tile of `level`, created (index 0) for a level the tree has just reached. */
  private rightTile(level: number): TileTree {
    let tile = this.right[level];
    if (!tile) {
      tile = this.right[level] = new TileTree();
      this.rightIndex[level] = 0n;
    }
    return tile;
  }

  /** Bookkeeping after hashes were pushed to `tile`, the right edge of `level`: a full tile moves to the cache. */
  private afterPush(level: number, tile: TileTree): void {
    this.lastPushed[level] = tile;
    this.dirtyLevels.add(level);
    if (tile.width === TILE_WIDTH) {
      const index = this.rightIndex[level]!;
      this.fullWrites.push({ level, index, hashes: tile.bytes() });
      this.cacheFor(level).set(index, tile);
      this.right[level] = new TileTree();
      this.rightIndex[level] = index + 1n;
    }
  }

  private pushToLevel(level: number, hash: Uint8Array): void {
    const tile = this.rightTile(level);
    tile.push(hash);
    this.afterPush(level, tile);
  }

  /** The tiles to write for everything appended since the last call (full ones, then right edges). */
  takeTileWrites(): TileWrite[] {
    const writes = this.fullWrites.splice(0);
    for (const level of this.dirtyLevels) {
      const tile = this.right[level]!;
      if (tile.width > 0) writes.push({ level, index: this.rightIndex[level]!, hashes: tile.bytes() });
    }
    this.dirtyLevels.clear();
    return writes;
  }

  private cacheFor(level: number): BoundedCache<bigint, TileTree> {
    let c = this.cache[level];
    if (!c) c = this.cache[level] = new BoundedCache<bigint, TileTree>(TILE_CACHE_SIZE);
    return c;
  }

  private tileSync(level: number, index: bigint): TileTree | undefined {
    if (index === this.rightIndex[level]) return this.right[level];
    return this.cache[level]?.get(index);
  }

  private async tile(level: number, index: bigint): Promise<TileTree> {
    const hit = this.tileSync(level, index);
    if (hit) return hit;
    const stored = await this.store.readTile(level, index);
    if (!stored) throw new AuditlogError('STORAGE', `tile ${level}/${index} missing`);
    const tile = new TileTree(stored);
    // A tile completed by a batch still in flight is stored partial; do not cache it as full.
    if (stored.length === FULL_TILE_BYTES) this.cacheFor(level).set(index, tile);
    return tile;
  }

  private static locate(level: number, index: bigint) {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const r = level % TILE_HEIGHT;
    const first = index << BigInt(r); // first node at tree level 8·tileLevel
    const tileIndex = first / BigInt(TILE_WIDTH);
    const offset = Number(first % BigInt(TILE_WIDTH));
    return { tileLevel, tileIndex, r, j: offset >> r };
  }

  /** Hash of the perfect subtree of 2^level leaves starting at leaf index·2^level, if in memory. */
  nodeHashSync(level: number, index: bigint): Uint8Array | undefined {
    const loc = Tree.locate(level, index);
    return this.tileSync(loc.tileLevel, loc.tileIndex)?.node(loc.r, loc.j);
  }

  /**
   * Hash of the perfect subtree of 2^level leaves starting at leaf index·2^level.
   * Requires the subtree to be complete in the committed tree.
   */
  async nodeHash(level: number, index: bigint): Promise<Uint8Array> {
    const loc = Tree.locate(level, index);
    const tile = await this.tile(loc.tileLevel, loc.tileIndex);
    return tile.node(loc.r, loc.j);
  }

  /**
   * MTH(D[start:end]) for the subtree ranges proofs use (start aligned to the range's
   * power-of-two ceiling). Requires end <= the committed size.
   */
  subtreeHashSync(start: bigint, end: bigint): Uint8Array | undefined {
    const nodes = perfectSubtrees(start, end);
    const hashes: Uint8Array[] = [];
    for (const n of nodes) {
      const h = this.nodeHashSync(n.level, n.index);
      if (!h) return undefined;
      hashes.push(h);
    }
    return hashes.length === 1 ? hashes[0]!.slice() : foldRight(nodeHasher, hashes);
  }

  /**
   * Inclusion proofs of leaves start .. start+count-1 in the tree of `size`, from in-memory
   * tiles only; an element is undefined where a node is not in memory (and all are past
   * 2^53). The receipts of a batch take this path. It walks each proof level by level with
   * number arithmetic (RFC 9162's inner nodes, then the border) but only up to the level where
   * the leaf's path joins the previous leaf's: above it both proofs are the same nodes, so the
   * rest is copied from the end of the previous proof (how many: `proofLength`). For
   * consecutive leaves that is two levels on average. `leaves`, when given, are the hashes of
   * leaves start, start+1, ... (the batch's own views): a leaf's level-0 sibling is taken from
   * them instead of a new view of a tile's row 0. Allocating views was a third of the receipts'
   * cost (0.37 → 0.22 µs per proof in bench-like use, with the parallel array of levels this
   * replaced).
   * Requires start + count <= size <= the committed size, and `leaves` (if given) to be
   * those leaves' true hashes.
   */
  inclusionProofsSync(
    start: bigint,
    count: number,
    size: bigint,
    leaves?: readonly Uint8Array[],
  ): (Uint8Array[] | undefined)[] {
    const out: (Uint8Array[] | undefined)[] = new Array(count);
    if (size > 2n ** 53n) return out;
    const memo: ProofMemo = { rightEdge: new Map(), tiles: [], first: Number(start), leaves };
    const last = Number(size) - 1;
    const first = Number(start);
    let prev: Uint8Array[] | undefined;
    for (let k = 0; k < count; k++) {
      const m = first + k;
      // Levels below `join` are this leaf's own; from `join` up, its path is the previous one's.
      let join = Number.POSITIVE_INFINITY;
      if (prev !== undefined) {
        join = 1;
        for (let v = m; v % 2 === 0; v /= 2) join++;
      }
      const proof: Uint8Array[] = [];
      if (!this.walkProof(m, last, size, join, memo, proof)) {
        prev = undefined;
        continue;
      }
      if (prev !== undefined) {
        // The elements at levels >= join are the previous proof's last ones, as many as m's.
        const own = proof.length;
        const tail = proofLength(m, last) - own;
        for (let i = prev.length - tail; i < prev.length; i++) proof.push(prev[i]!);
      }
      out[k] = proof;
      prev = proof;
    }
    return out;
  }

  /**
   * Appends to `proof` the inclusion-proof nodes of leaf m in the tree whose last leaf is
   * `last`, for levels below `toLevel`. False when a node is not in memory.
   */
  private walkProof(
    m: number,
    last: number,
    size: bigint,
    toLevel: number,
    memo: ProofMemo,
    proof: Uint8Array[],
  ): boolean {
    for (let h = 0, width = 1; h < toLevel; h++, width *= 2) {
      const node = Math.floor(m / width);
      let hash: Uint8Array | undefined;
      if (node !== Math.floor(last / width)) {
        // Inner node: below the level where m's and the last leaf's paths meet.
        const sibling = node % 2 === 0 ? node + 1 : node - 1;
        const start = sibling * width;
        if (start + width <= last + 1) hash = this.memoNode(h, sibling, memo);
        else {
          hash = memo.rightEdge.get(start);
          if (!hash) {
            hash = this.subtreeHashSync(BigInt(start), size);
            if (hash) memo.rightEdge.set(start, hash);
          }
        }
      } else if (node === 0) {
        return true; // above the root
      } else if (node % 2 === 1) {
        // Border node: a left sibling of the right border.
        hash = this.memoNode(h, node - 1, memo);
      } else {
        continue;
      }
      if (!hash) return false;
      proof.push(hash);
    }
    return true;
  }

  /** nodeHashSync with number arithmetic and the batch's tile memo. Requires index·2^level < 2^53. */
  private memoNode(level: number, index: number, memo: ProofMemo): Uint8Array | undefined {
    if (level === 0 && memo.leaves !== undefined) {
      const leaf = memo.leaves[index - memo.first];
      if (leaf !== undefined) return leaf;
    }
    const r = level % TILE_HEIGHT;
    const tileLevel = (level - r) / TILE_HEIGHT;
    const first = index * (1 << r); // first node of the subtree at tree level 8·tileLevel
    const tileIndex = Math.floor(first / TILE_WIDTH);
    let hit = memo.tiles[tileLevel];
    if (hit === undefined || hit.index !== tileIndex) {
      const tile = this.tileSync(tileLevel, BigInt(tileIndex));
      if (!tile) return undefined;
      hit = memo.tiles[tileLevel] = { index: tileIndex, tile };
    }
    return hit.tile.node(r, (first - tileIndex * TILE_WIDTH) >> r);
  }

  async subtreeHash(start: bigint, end: bigint): Promise<Uint8Array> {
    const nodes = perfectSubtrees(start, end);
    const hashes: Uint8Array[] = [];
    for (const n of nodes)
      hashes.push(this.nodeHashSync(n.level, n.index) ?? (await this.nodeHash(n.level, n.index)));
    return hashes.length === 1 ? hashes[0]!.slice() : foldRight(nodeHasher, hashes);
  }
}

const TWO_32 = 2 ** 32;

/** Number of set bits of a 32-bit value. */
function ones32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Length of the inclusion proof of leaf m in the tree whose last leaf is `last` (RFC 9162
 * section 2.1.3.2: inner = bit length of m XOR last, then one border node per set bit of
 * m >> inner), with number arithmetic. Requires 0 <= m <= last < 2^53.
 */
export function proofLength(m: number, last: number): number {
  if (last < TWO_32) {
    const inner = 32 - Math.clz32((m ^ last) >>> 0);
    return inner + (inner === 32 ? 0 : ones32(m >>> inner));
  }
  const hi = (Math.floor(m / TWO_32) ^ Math.floor(last / TWO_32)) >>> 0;
  const inner = hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(((m >>> 0) ^ (last >>> 0)) >>> 0);
  let border = m;
  for (let i = 0; i < inner; i++) border = Math.floor(border / 2);
  return inner + ones32(border >>> 0) + ones32(Math.floor(border / TWO_32));
}
