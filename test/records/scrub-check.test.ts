import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findInFiles } from '../../src/records/scrub-check.js';
import { tempDir } from './helpers.js';

describe('findInFiles', () => {
  it('finds needles anywhere, across chunk boundaries and in subdirectories', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'sub'));
    const needle = Buffer.from('0123456789abcdef0123456789abcdef');
    const big = Buffer.alloc((1 << 20) + 100, 0x20);
    needle.copy(big, (1 << 20) - 10); // straddles the first 1 MiB chunk
    fs.writeFileSync(path.join(dir, 'sub', 'big.bin'), big);
    fs.writeFileSync(path.join(dir, 'clean.bin'), Buffer.alloc(5000, 0x41));
    const r = findInFiles(dir, [Buffer.from('not here'), needle]);
    expect(r).toEqual({ files: 2, needles: 2, foundIn: [path.join(dir, 'sub', 'big.bin')], skipped: false });
    expect(findInFiles(dir, [Buffer.from('zzzz')]).foundIn).toEqual([]);
    expect(findInFiles(dir, [needle], 1000).skipped).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
