/**
 * Binary LevelDB keys of the log core (spec/storage.md). Numbers are fixed-width big-endian
 * so byte order is numeric order. Core keys start with a byte below 0x20; sublevels of other
 * layers start with '!' (0x21), so the two never collide.
 */

export const PREFIX_TILE = 0x01;
export const PREFIX_BUNDLE = 0x02;
export const PREFIX_BUNDLE_CHUNK = 0x03;
export const KEY_STATE = new Uint8Array([0x04]);
export const KEY_META = new Uint8Array([0x05]);

function writeU64(buf: Uint8Array, off: number, v: bigint): void {
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigUint64(off, v);
}

/** 0x01 | level (1 byte) | index (8 bytes): the hashes of tile (level, index). */
export function tileKey(level: number, index: bigint): Uint8Array {
  const k = new Uint8Array(10);
  k[0] = PREFIX_TILE;
  k[1] = level;
  writeU64(k, 2, index);
  return k;
}

/** 0x02 | index (8 bytes): a full entry bundle. */
export function bundleKey(index: bigint): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = PREFIX_BUNDLE;
  writeU64(k, 1, index);
  return k;
}

/** 0x03 | bundle index (8 bytes) | first entry offset (2 bytes): part of a partial bundle. */
export function bundleChunkKey(index: bigint, offset: number): Uint8Array {
  const k = new Uint8Array(11);
  k[0] = PREFIX_BUNDLE_CHUNK;
  writeU64(k, 1, index);
  k[9] = offset >> 8;
  k[10] = offset & 0xff;
  return k;
}

/** Smallest and one-past-largest chunk keys of bundle `index`, for a range scan. */
export function bundleChunkRange(index: bigint): { gte: Uint8Array; lt: Uint8Array } {
  const gte = bundleChunkKey(index, 0);
  const lt = new Uint8Array(gte);
  lt[9] = 0xff;
  lt[10] = 0xff;
  return { gte, lt };
}
