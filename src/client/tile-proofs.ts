/**
 * Proofs computed from C2SP tlog-tiles, as any outside party can: the subtree-hash oracle that
 * merkle/proof.ts needs, answered from hash tiles fetched by a caller-supplied function. Tiles are
 * unauthenticated; callers verify the resulting proofs against a signed checkpoint. Browser-safe.
 */
import { AuditlogError } from '../errors.js';
import { HASH_SIZE } from '../merkle/hasher.js';
import { portableHasher } from '../merkle/portable.js';
import { foldRight, perfectSubtrees, type SubtreeHashOracle } from '../merkle/proof.js';
import { TILE_HEIGHT, TILE_WIDTH, tileWidth } from '../merkle/tiles.js';

/** Fetches the raw bytes of hash tile (level, index) of the given width (256 = full). */
export type TileFetcher = (level: number, index: bigint, width: number) => Promise<Uint8Array>;

/** MTH of a perfect subtree given its 2^k leaf-side hashes. */
function perfectRoot(hashes: Uint8Array[]): Uint8Array {
  let layer = hashes;
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2)
      next.push(portableHasher.hashChildren(layer[i]!, layer[i + 1]!));
    layer = next;
  }
  return layer[0]!;
}

/**
 * The hash of perfect subtree (level, index) in a tree of `size`, from the tile at tile level
 * floor(level / 8) that holds its descendants. Requires the subtree to lie within `size`.
 */
export async function nodeHashFromTiles(
  fetchTile: TileFetcher,
  size: bigint,
  level: number,
  index: bigint,
): Promise<Uint8Array> {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const shift = level - tileLevel * TILE_HEIGHT;
  const first = index << BigInt(shift); // first descendant at tree level 8 * tileLevel
  const tileIndex = first / BigInt(TILE_WIDTH);
  const offset = Number(first % BigInt(TILE_WIDTH));
  const count = 1 << shift;
  const width = tileWidth(tileLevel, tileIndex, size);
  if (offset + count > width)
    throw new AuditlogError('OUT_OF_RANGE', `node ${level}/${index} is beyond size ${size}`);
  const tile = await fetchTile(tileLevel, tileIndex, width);
  if (tile.length !== width * HASH_SIZE) {
    throw new AuditlogError(
      'BAD_PROOF',
      `tile ${tileLevel}/${tileIndex} has ${tile.length} bytes, want ${width * HASH_SIZE}`,
    );
  }
  const hashes: Uint8Array[] = [];
  for (let i = offset; i < offset + count; i++)
    hashes.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return perfectRoot(hashes);
}

/**
 * A subtree-hash oracle over the tiles of a tree of `size`: MTH(D[start:end]) for the ranges that
 * inclusion and consistency proofs name (and [0, n) for any n <= size, i.e. past roots).
 */
export function tileOracle(fetchTile: TileFetcher, size: bigint): SubtreeHashOracle {
  return async (start, end) => {
    if (end > size || start >= end)
      throw new AuditlogError('OUT_OF_RANGE', `range [${start}, ${end}) beyond size ${size}`);
    const nodes = perfectSubtrees(start, end);
    const hashes = await Promise.all(nodes.map((n) => nodeHashFromTiles(fetchTile, size, n.level, n.index)));
    return foldRight(portableHasher, hashes);
  };
}

/** The root of the tree at `n` <= size, from the tiles of the tree of `size`. */
export async function rootFromTiles(fetchTile: TileFetcher, size: bigint, n: bigint): Promise<Uint8Array> {
  if (n === 0n) return portableHasher.emptyRoot;
  return tileOracle(fetchTile, size)(0n, n);
}
