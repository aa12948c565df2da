/** writeSideOps against abstract-level's own batch form, on real LevelDB: same bytes, same atomicity. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLogDB, writeSideOps } from '../../src/storage/level-store.js';
import type { SideOp } from '../../src/storage/store.js';
import { tempDir } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const newDb = () => {
  const d = tempDir();
  dirs.push(d);
  return openLogDB(join(d, 'db'));
};
const bytes = (s: string) => new TextEncoder().encode(s);

async function dump(db: Awaited<ReturnType<typeof openLogDB>>): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of db.iterator())
    out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  return out;
}

describe('writeSideOps', () => {
  it('writes exactly the keys and values of db.batch(ops), sublevels included', async () => {
    const [a, b] = [await newDb(), await newDb()];
    const ops = (db: typeof a): SideOp[] => {
      const meta = db.sublevel<Uint8Array, Uint8Array>('rec-meta', {
        keyEncoding: 'view',
        valueEncoding: 'view',
      });
      const hot = db.sublevel<Uint8Array, Uint8Array>('rec-hot', {
        keyEncoding: 'view',
        valueEncoding: 'view',
      });
      return [
        { type: 'put', key: bytes('plain'), value: bytes('1') },
        { type: 'put', sublevel: meta, key: bytes('rec_1'), value: bytes('{"a":1}') },
        { type: 'put', sublevel: hot, key: Uint8Array.of(0, 1, 2, 0xff), value: new Uint8Array(0) },
        { type: 'put', sublevel: meta, key: bytes('rec_2'), value: bytes('{"b":2}') },
        { type: 'del', sublevel: meta, key: bytes('rec_2') },
      ];
    };
    await a.batch(ops(a), { sync: true });
    await writeSideOps(b, ops(b), true);
    expect(await dump(b)).toEqual(await dump(a));
    const meta = b.sublevel<Uint8Array, Uint8Array>('rec-meta', {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    expect(Buffer.from((await meta.get(bytes('rec_1')))!).toString()).toBe('{"a":1}');
    await a.close();
    await b.close();
  });

  it('refuses an op whose key is not bytes, and writes none of the batch', async () => {
    const db = await newDb();
    const bad = [
      { type: 'put', key: bytes('first'), value: bytes('1') },
      { type: 'put', key: 'a string', value: bytes('2') },
    ] as SideOp[];
    await expect(writeSideOps(db, bad, true)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await dump(db)).toEqual([]);
    await db.close();
  });
});
