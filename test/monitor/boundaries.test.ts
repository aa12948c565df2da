/**
 * An honest tlog-tiles log (test/monitor/tile-log.ts) verifies with no alert across tile and
 * bundle boundaries, with restarts between passes, and in one catch-up from scratch.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../src/monitor/monitor.js';
import { tempDir } from '../helpers/server.js';
import { TileLog } from './tile-log.js';

const quiet = { write: () => true };

describe('sanity', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });
  it('honest log across boundaries, with restarts', { timeout: 120_000 }, async () => {
    const log = new TileLog();
    await log.start();
    cleanup.push(() => log.stop());
    const dir = join(tempDir('monitor-sanity-'), 'mon');
    for (const size of [0, 1, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537, 65536 + 256 + 1]) {
      log.grow(size - log.entries.length);
      await log.publish();
      const m = await Monitor.open({
        dir,
        logs: [{ key: log.key, url: log.url }],
        stderr: quiet,
        stdout: quiet,
        progressEvery: 7,
      });
      const [r] = await m.passAll();
      expect(r, `size ${size}`).toEqual({
        origin: log.key.name,
        size: BigInt(size),
        alerts: 0,
        failed: false,
      });
      expect(await m.alerts.list()).toEqual([]);
      await m.close();
    }
  });
  it('one shot to 65537 from scratch and a huge claimed size', { timeout: 120_000 }, async () => {
    const log = new TileLog().grow(65537);
    await log.publish();
    await log.start();
    cleanup.push(() => log.stop());
    const m = await Monitor.open({
      dir: join(tempDir('monitor-sanity-'), 'mon'),
      logs: [{ key: log.key, url: log.url }],
      stderr: quiet,
      stdout: quiet,
    });
    cleanup.push(() => m.close());
    expect((await m.passAll())[0]).toEqual({ origin: log.key.name, size: 65537n, alerts: 0, failed: false });
    await log.publish(65537);
    // a huge size: only errors
    const { signCheckpoint } = await import('../../src/note/checkpoint.js');
    log.note = await signCheckpoint(
      { origin: log.key.name, size: 2n ** 64n - 1n, root: new Uint8Array(32), extensions: [] },
      log.signer,
    );
    const r = (await m.passAll())[0];
    console.log(r);
    expect(r?.error).toBeDefined();
  });
});
