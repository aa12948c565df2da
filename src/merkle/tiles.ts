/**
 * C2SP tlog-tiles coordinates: tile paths, tile widths for a tree size, entry bundles.
 * A tile at level L, index N holds up to 256 hashes of tree level 8L, nodes 256N .. 256N+255.
 */
import { AuditlogError } from '../errors.js';
import { MAX_UINT64 } from './bits.js';
import { HASH_SIZE, type TreeHasher } from './hasher.js';
import { foldRight, perfectSubtrees } from './proof.js';

/** Tree levels per tile. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile (and entries in a full bundle). */
export const TILE_WIDTH = 256;
/** Highest tile level a path may name. */
export const MAX_TILE_LEVEL = 63;
/** Largest entry an entry bundle can carry (16-bit length prefix). */
export const MAX_ENTRY_SIZE = 65535;

/** A tile (or entry bundle when level is 'entries') and its width (256 = full). */
export interface TileId {
  level: number | 'entries';
  index: bigint;
  width: number;
}

/** Encodes a tile index as zero-padded 3-digit path elements, all but the last x-prefixed. */
export function formatTileIndex(index: bigint): string {
  if (index < 0n) throw new AuditlogError('BAD_REQUEST', 'negative tile index');
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift((n % 1000n).toString().padStart(3, '0'));
    n /= 1000n;
  } while (n > 0n);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/**
 * The path of a tile relative to the log prefix, e.g. `tile/0/x001/x234/067.p/5`.
 * `width` is 256 (or omitted) for a full tile, 1..255 for a partial one.
 */
export function formatTilePath(level: number | 'entries', index: bigint, width = TILE_WIDTH): string {
  if (level !== 'entries' && (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL)) {
    throw new AuditlogError('BAD_REQUEST', `tile level ${level} out of range`);
  }
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new AuditlogError('BAD_REQUEST', `tile width ${width} out of range`);
  }
  const suffix = width === TILE_WIDTH ? '' : `.p/${width}`;
  return `tile/${level}/${formatTileIndex(index)}${suffix}`;
}

const LEVEL_RE = /^(0|[1-9][0-9]?)$/;
const WIDTH_RE = /^[1-9][0-9]{0,2}$/;

/**
 * Parses a tile path (`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`) strictly:
 * canonical level, 3-digit groups with `x` on all but the last, width 1..255.
 * @throws AuditlogError BAD_REQUEST on anything else.
 */
export function parseTilePath(path: string): TileId {
  const bad = (why: string) =>
    new AuditlogError('BAD_REQUEST', `bad tile path ${JSON.stringify(path)}: ${why}`);
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') throw bad('want tile/<L>/<N>');
  const levelPart = parts[1]!;
  let level: number | 'entries';
  if (levelPart === 'entries') level = 'entries';
  else {
    if (!LEVEL_RE.test(levelPart)) throw bad('level is not a canonical decimal');
    level = Number(levelPart);
    if (level > MAX_TILE_LEVEL) throw bad('level above 63');
  }
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  const last = rest[rest.length - 1]!;
  if (rest.length >= 2 && rest[rest.length - 2]!.endsWith('.p')) {
    if (!WIDTH_RE.test(last)) throw bad('width is not a canonical decimal');
    width = Number(last);
    if (width < 1 || width > TILE_WIDTH - 1) throw bad('partial width must be 1..255');
    rest = rest.slice(0, -1);
    rest[rest.length - 1] = rest[rest.length - 1]!.slice(0, -2);
  }
  let index = 0n;
  for (let i = 0; i < rest.length; i++) {
    let g = rest[i]!;
    if (i < rest.length - 1) {
      if (!g.startsWith('x')) throw bad('non-final index element must start with x');
      g = g.slice(1);
    }
    if (!/^[0-9]{3}$/.test(g)) throw bad('index element is not 3 digits');
    index = index * 1000n + BigInt(g);
  }
  if (rest.length > 1 && rest[0] === 'x000') throw bad('index has a leading zero group');
  if (index > MAX_UINT64) throw bad('index too large');
  return { level, index, width };
}

/**
 * The width of tile (level, index) in a tree of `size`: 256 when full, 1..255 for the
 * right-edge partial tile, 0 when the tree does not reach the tile.
 */
export function tileWidth(level: number, index: bigint, size: bigint): number {
  const nodes = size >> BigInt(TILE_HEIGHT * level); // complete nodes at tree level 8L
  const first = index * BigInt(TILE_WIDTH);
  if (nodes <= first) return 0;
  const w = nodes - first;
  return w >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(w);
}

/** Encodes entries as an entry bundle: each a big-endian uint16 length, then its bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) throw new AuditlogError('TOO_LARGE', `entry of ${e.length} bytes > 65535`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const e of entries) {
    out[off] = e.length >> 8;
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/**
 * Decodes an entry bundle.
 * @throws AuditlogError BAD_REQUEST on a truncated length or entry.
 */
export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let off = 0;
  while (off < bundle.length) {
    if (off + 2 > bundle.length) throw new AuditlogError('BAD_REQUEST', `truncated length at offset ${off}`);
    const len = (bundle[off]! << 8) | bundle[off + 1]!;
    if (off + 2 + len > bundle.length)
      throw new AuditlogError('BAD_REQUEST', `truncated entry at offset ${off}`);
    entries.push(bundle.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return entries;
}

/** Splits a tile's bytes into its hashes. @throws BAD_REQUEST if not a multiple of 32. */
export function splitTile(tile: Uint8Array): Uint8Array[] {
  if (tile.length % HASH_SIZE !== 0)
    throw new AuditlogError('BAD_REQUEST', 'tile length not a multiple of 32');
  const out: Uint8Array[] = [];
  for (let off = 0; off < tile.length; off += HASH_SIZE) out.push(tile.subarray(off, off + HASH_SIZE));
  return out;
}

/**
 * MTH of an in-memory list of leaf hashes (for clients, monitors and tests; O(n) memory).
 */
export function treeRootFromLeafHashes(hasher: TreeHasher, leafHashes: readonly Uint8Array[]): Uint8Array {
  const stack: { level: number; hash: Uint8Array }[] = [];
  for (const leaf of leafHashes) {
    let node = { level: 0, hash: leaf };
    while (stack.length > 0 && stack[stack.length - 1]!.level === node.level) {
      const left = stack.pop()!;
      node = { level: node.level + 1, hash: hasher.hashChildren(left.hash, node.hash) };
    }
    stack.push(node);
  }
  return foldRight(
    hasher,
    stack.map((n) => n.hash),
  );
}

export { perfectSubtrees };
