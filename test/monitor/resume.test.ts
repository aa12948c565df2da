/**
 * The monitor against an in-memory tlog-tiles log served over HTTP (test/monitor/tile-log.ts):
 * problems and tile nodes found before an interrupted catch-up are not lost, a higher-level
 * tile cannot change what it said before, and `--once` does not exit 0 while the log still
 * fails its checks.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../src/monitor/monitor.js';
import { tempDir } from '../helpers/server.js';
import { TileLog } from './tile-log.js';

const quiet = { write: () => true };

describe('monitor, interrupted and repeated passes', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function setup(log: TileLog, progressEvery = 4) {
    if (log.url === '') {
      await log.start();
      cleanup.push(() => log.stop());
    }
    const m = await Monitor.open({
      dir: join(tempDir('monitor-review-'), 'mon'),
      logs: [{ key: log.key, url: log.url }],
      progressEvery,
      stderr: quiet,
      stdout: quiet,
    });
    cleanup.push(() => m.close());
    return m;
  }

  it('problems found before a progress save are still alerted when the catch-up is interrupted', async () => {
    const log = new TileLog()
      .grow(3)
      .add('{"schema":"auditlog.record/v1"}')
      .grow(6 * 256 + 10 - 4);
    await log.publish();
    let hide = true;
    log.override = (path, honest) => {
      if (hide && path === 'tile/0/005') return { status: 404, body: new Uint8Array() };
      if (path === 'tile/0/000') {
        const t = Uint8Array.from(honest!);
        t[5 * 32]! ^= 1; // level-0 tile 0 lies about entry 5
        return { body: t };
      }
      return undefined;
    };
    const m = await setup(log);
    const first = await m.pass({ key: log.key, url: log.url });
    expect(first.error).toMatch(/404/); // interrupted after progress was saved at bundle 3
    hide = false;
    const second = await m.pass({ key: log.key, url: log.url });
    expect(second.size).toBe(BigInt(6 * 256 + 10));
    // The malformed record (entry 3) and the lying level-0 tile were seen, then forgotten.
    expect((await m.alerts.list()).map((a) => a.kind).sort()).toEqual(['bad-entry', 'tile-mismatch']);
  });

  it('level-1 nodes completed before a progress save are still compared with the level-1 tile', async () => {
    const log = new TileLog().grow(6 * 256 + 10);
    await log.publish();
    let hide = false;
    log.override = (path, honest) => {
      if (hide && path === 'tile/0/005') return { status: 404, body: new Uint8Array() };
      if (path === 'tile/1/000.p/6') {
        const t = Uint8Array.from(honest!);
        t[0]! ^= 1; // hash 0 (entries 0..255) is wrong
        return { body: t };
      }
      return undefined;
    };
    // Control: an uninterrupted catch-up sees the lie.
    const control = await setup(log, 1000);
    expect((await control.passAll())[0]).toEqual({
      origin: log.key.name,
      size: BigInt(6 * 256 + 10),
      alerts: 1,
      failed: true,
    });
    hide = true;
    const m = await setup(log);
    expect((await m.pass({ key: log.key, url: log.url })).error).toMatch(/404/);
    hide = false;
    const second = await m.pass({ key: log.key, url: log.url });
    expect(second.size).toBe(BigInt(6 * 256 + 10));
    expect((await m.alerts.list()).map((a) => a.kind)).toEqual(['tile-mismatch']);
  });

  it('a higher-level tile whose prefix changed since it was served is a tile-mismatch', async () => {
    const log = new TileLog().grow(512);
    await log.publish();
    const m = await setup(log);
    expect((await m.passAll())[0]).toEqual({ origin: log.key.name, size: 512n, alerts: 0, failed: false }); // checks 1/000.p/2
    log.grow(256);
    await log.publish();
    log.override = (path, honest) => {
      if (path !== 'tile/1/000.p/3') return undefined;
      const t = Uint8Array.from(honest!);
      t[0]! ^= 1; // hash 0 is no longer what tile/1/000.p/2 said, nor the hash of entries 0..255
      return { body: t };
    };
    await m.passAll();
    expect((await m.alerts.list()).map((a) => a.kind)).toEqual(['tile-mismatch']);
  });

  it('a log still serving a rollback does not exit 0 ("every log verified") on the next run', async () => {
    const { cli } = await import('../helpers/server.js');
    const { formatVerifierKey } = await import('../../src/note/keys.js');
    const log = new TileLog().grow(300);
    await log.publish(300);
    await log.start();
    cleanup.push(() => log.stop());
    const vkey = formatVerifierKey(log.signer.name, log.signer.publicKey);
    const data = join(tempDir('monitor-review-cli-'), 'mon');
    const args = ['monitor', '--once', '--log', `${vkey}=${log.url}`, '--data', data];
    expect((await cli(...args)).code).toBe(0);
    await log.publish(200); // rollback, signed by the log
    expect((await cli(...args)).code).toBe(3);
    const again = await cli(...args); // the log still serves size 200
    expect(again.stdout).not.toMatch(/verified/);
    expect(again.code).not.toBe(0);
  });
});
