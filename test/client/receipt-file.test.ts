import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { receiptToJSON } from '../../src/client/receipt.js';
import { ReceiptFile, readReceiptFile } from '../../src/client/receipt-file.js';
import { tempDir } from '../helpers/server.js';
import { MemoryLog, te } from './fixtures.js';

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
