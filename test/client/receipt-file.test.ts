import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { receiptToJSON } from '../../src/client/receipt.js';
import { ReceiptFile, readReceiptFile } from '../../src/client/receipt-file.js';
import { cli, tempDir } from '../helpers/server.js';
import { MemoryLog, te } from './fixtures.js';

const CHILD = resolve(import.meta.dirname, '../../dist/test/client/receipt-file-child.js');
const dir = tempDir('auditlog-receipts-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = new MemoryLog();
for (let i = 0; i < 5; i++) log.append(te.encode(`e${i}`));

describe('receipt file', () => {
  test('appends in call order, mode 0600, reads back', async () => {
    const path = join(dir, 'a.jsonl');
    const f = await ReceiptFile.open(path);
    const rs = await Promise.all([0n, 1n, 2n].map((i) => log.receipt(i, 5n)));
    await Promise.all(rs.map((r) => f.append(r)));
    await f.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await readReceiptFile(path)).toEqual(rs);
    await expect(f.append(rs[0]!)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  test('a torn last line is ignored by readers and cut off when reopened', async () => {
    const path = join(dir, 'b.jsonl');
    const r = await log.receipt(3n, 5n);
    const line = `${JSON.stringify(receiptToJSON(r))}\n`;
    writeFileSync(path, line + line.slice(0, 40));
    expect(await readReceiptFile(path)).toHaveLength(1);
    const f = await ReceiptFile.open(path);
    await f.append(r);
    await f.close();
    expect(readFileSync(path, 'utf8')).toBe(line + line);
    expect(await readReceiptFile(path)).toEqual([r, r]);
  });

  test('a complete line that is not a receipt is an error naming the line', async () => {
    const path = join(dir, 'c.jsonl');
    const r = await log.receipt(4n, 5n);
    writeFileSync(path, `${JSON.stringify(receiptToJSON(r))}\n`);
    appendFileSync(path, '{"origin":1}\n');
    await expect(readReceiptFile(path)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining(':2:'),
    });
  });
});

describe('receipt file: a failed append', () => {
  // A real fault, in a child process (the limit is per process): RLIMIT_FSIZE through `prlimit`
  // (util-linux). Before, the failed append's first bytes stayed in the file, the next append
  // was glued to them, and the file no longer read back or verified.
  test('is cut off: later appends and earlier ones read back and verify', async () => {
    expect(
      () => execFileSync('prlimit', ['--version'], { stdio: 'ignore' }),
      'prlimit is required',
    ).not.toThrow();
    const rs = await Promise.all([0n, 1n, 2n].map((i) => log.receipt(i, 5n)));
    const input = join(dir, 'fsize-in.json');
    writeFileSync(input, JSON.stringify(rs.map(receiptToJSON)));
    const path = join(dir, 'fsize.jsonl');
    const out = execFileSync(process.execPath, [CHILD, input, path], { encoding: 'utf8' });
    expect(await readReceiptFile(path)).toEqual([rs[0], rs[2]]);
    const v = await cli('verify', path, '--vkey', log.vkey);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(out)).toEqual(['ok', 'STORAGE/EFBIG', 'ok']);
  });

  // Fault injection: a truncate that fails cannot be produced for real on demand. The write
  // stops half-way with EIO, then cutting the file back fails too.
  test('that cannot be undone refuses every later append until the file is reopened', async () => {
    const path = join(dir, 'broken.jsonl');
    const rs = await Promise.all([0n, 1n, 2n, 3n].map((i) => log.receipt(i, 5n)));
    let f = await ReceiptFile.open(path);
    await f.append(rs[0]!);
    const fh = (f as unknown as { fh: FileHandle }).fh;
    const write = fh.write.bind(fh) as (b: Uint8Array, o: number, l: number, p: null) => Promise<unknown>;
    const eio = () => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    fh.write = (async (b: Uint8Array, o: number, l: number) => {
      await write(b, o, Math.floor(l / 2), null);
      throw eio();
    }) as unknown as typeof fh.write;
    fh.truncate = (async () => {
      throw eio();
    }) as typeof fh.truncate;
    await expect(f.append(rs[1]!)).rejects.toMatchObject({ code: 'STORAGE' });
    fh.write = write as unknown as typeof fh.write;
    await expect(f.append(rs[2]!)).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining('reopen'),
    });
    await f.close();
    // The torn line is the last one: readers skip it, reopening cuts it off.
    expect(await readReceiptFile(path)).toEqual([rs[0]]);
    f = await ReceiptFile.open(path);
    await f.append(rs[3]!);
    await f.close();
    expect(await readReceiptFile(path)).toEqual([rs[0], rs[3]]);
  });
});
