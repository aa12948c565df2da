/**
 * TokenStore on a real LevelDB: the cache never outlives a revocation made through the store,
 * and a cached entry is re-read after CACHE_TTL_MS; changes are serialized, so concurrent
 * revocations cannot remove every admin token.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CACHE_TTL_MS, TokenStore } from '../../src/api/tokens.js';
import { type LogDB, openLogDB } from '../../src/storage/level-store.js';
import { tempDir } from '../helpers/server.js';

let db: LogDB | undefined;
let dir: string | undefined;
afterEach(async () => {
  await db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<LogDB> {
  dir = tempDir();
  db = await openLogDB(join(dir, 'db'));
  return db;
}

describe('TokenStore', () => {
  it('a lookup racing a revocation does not leave the revoked token cached', async () => {
    const store = new TokenStore(await open());
    await store.create({ role: 'admin', name: 'root' });
    for (let i = 0; i < 20; i++) {
      const { token } = await store.create({ role: 'submitter', name: `s-${i}` });
      expect(await store.lookup(token)).toMatchObject({ name: `s-${i}` });
      const racing = Array.from({ length: 8 }, () => store.lookup(token));
      await Promise.all([store.revoke(`s-${i}`), ...racing]);
      expect(await store.lookup(token)).toBeUndefined();
    }
  });

  it('a change made behind the store’s back is seen within CACHE_TTL_MS', async () => {
    let now = 1_700_000_000_000;
    const d = await open();
    const serving = new TokenStore(d, () => now);
    const other = new TokenStore(d, () => now);
    await other.create({ role: 'admin', name: 'root' });
    const { token } = await other.create({ role: 'auditor', name: 'aud' });
    expect(await serving.lookup(token)).toMatchObject({ name: 'aud' }); // now cached
    await other.revoke('aud');
    now += CACHE_TTL_MS - 1;
    expect(await serving.lookup(token)).toMatchObject({ name: 'aud' });
    now += 1;
    expect(await serving.lookup(token)).toBeUndefined();
  });

  it('concurrent revocations of the last two admin tokens: one succeeds, one is refused', async () => {
    const store = new TokenStore(await open());
    await store.create({ role: 'admin', name: 'a1' });
    await store.create({ role: 'admin', name: 'a2' });
    const results = await Promise.allSettled([store.revoke('a1'), store.revoke('a2')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.code).toBe('CONFLICT');
    expect((await store.list()).filter((t) => t.revoked === undefined)).toHaveLength(1);
  });

  it('concurrent creates of one name: one succeeds, one is refused', async () => {
    const store = new TokenStore(await open());
    const results = await Promise.allSettled([
      store.create({ role: 'submitter', name: 'same' }),
      store.create({ role: 'auditor', name: 'same' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await store.list()).toHaveLength(1);
  });
});
