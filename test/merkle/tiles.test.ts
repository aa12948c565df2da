import { describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  formatTilePath,
  parseTilePath,
  tileWidth,
} from '../../src/merkle/tiles.js';

describe('tile paths', () => {
  it('formats the C2SP examples', () => {
    expect(formatTilePath(0, 1234067n)).toBe('tile/0/x001/x234/067');
    expect(formatTilePath(1, 0n, 17)).toBe('tile/1/000.p/17');
    expect(formatTilePath('entries', 999n)).toBe('tile/entries/999');
    expect(formatTilePath('entries', 1000n, 3)).toBe('tile/entries/x001/000.p/3');
    expect(formatTilePath(63, (1n << 64n) - 1n)).toBe('tile/63/x018/x446/x744/x073/x709/x551/615');
  });
  it('round-trips', () => {
    for (const [l, n, w] of [
      [0, 0n, 256],
      [5, 1234067n, 1],
      ['entries', 7n, 255],
    ] as const) {
      expect(parseTilePath(formatTilePath(l, n, w))).toEqual({ level: l, index: n, width: w });
    }
  });
  const bad = [
    'tile/0',
    'tile/0/1',
    'tile/0/01',
    'tile/0/0001',
    'tile/00/000',
    'tile/64/000',
    'tile/-1/000',
    'tile/0/001/002',
    'tile/0/x001',
    'tile/0/x000/001',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/007',
    'tile/0/000.p/',
    'tile/0/000.x/5',
    'tile/0/x001.p/5',
    'tile/data/000',
    'tiles/0/000',
    'tile/0/000/',
    'tile/0/abc',
    'tile/0/x018/x446/x744/x073/x709/x551/616',
  ];
  for (const p of bad) {
    it(`rejects ${p}`, () => {
      expect(() => parseTilePath(p)).toThrow(AuditlogError);
    });
  }
});

describe('tile widths', () => {
  it('matches the C2SP example of a tree of 70,000', () => {
    expect(tileWidth(0, 272n, 70000n)).toBe(256);
    expect(tileWidth(0, 273n, 70000n)).toBe(112);
    expect(tileWidth(0, 274n, 70000n)).toBe(0);
    expect(tileWidth(1, 0n, 70000n)).toBe(256);
    expect(tileWidth(1, 1n, 70000n)).toBe(17);
    expect(tileWidth(2, 0n, 70000n)).toBe(1);
    expect(tileWidth(3, 0n, 70000n)).toBe(0);
    expect(tileWidth(1, 0n, 256n)).toBe(1);
  });
});

describe('entry bundles', () => {
  it('round-trips, including empty and maximal entries', () => {
    const entries = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(65535).fill(7)];
    const b = encodeEntryBundle(entries);
    expect(b.length).toBe(2 + 5 + 65537);
    expect(decodeEntryBundle(b)).toEqual(entries);
  });
  it('rejects oversized entries and truncated bundles', () => {
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(AuditlogError);
    expect(() => decodeEntryBundle(new Uint8Array([0]))).toThrow(AuditlogError);
    expect(() => decodeEntryBundle(new Uint8Array([0, 3, 1, 2]))).toThrow(AuditlogError);
  });
});
