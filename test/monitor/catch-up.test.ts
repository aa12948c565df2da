/**
 * Catch-up: an interrupted one resumes from its saved progress, not from the start; on a TTY it
 * shows progress; tiles that disagree with the entries are reported. In-process Monitor (real
 * LevelDB) against real log processes.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../src/monitor/monitor.js';

const PROGRESS_EVERY = 4;
import { parseVerifierKey } from '../../src/note/keys.js';
import { Log } from '../../src/sequencer/log.js';
import { bundleKey, tileKey } from '../../src/storage/keys.js';
import { startServer, type TestServer, tempDir } from '../helpers/server.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('monitor catch-up', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('saves progress every few bundles and resumes from it', async () => {
    const root = tempDir('monitor-resume-');
    const dir = join(root, 'log');
    const size = (PROGRESS_EVERY + 2) * 256 + 10;
    let l = await Log.open({ dir, origin: 'example.com/long' });
    await Promise.all(Array.from({ length: size }, (_, i) => l.append(enc(`e${i}`))));
    // Hide level-0 tile PROGRESS_EVERY + 1, so the first pass stops after saving its progress.
    const hidden = tileKey(0, BigInt(PROGRESS_EVERY + 1));
    const saved = (await l.db.get(hidden))!;
    await l.db.del(hidden);
    const vkey = l.vkey;
    await l.close();

    let log: TestServer = await startServer({ dir });
    const lines: string[] = [];
    const sink = { isTTY: true, write: (s: string) => lines.push(s) };
    const out: string[] = [];
    const m = await Monitor.open({
      dir: join(root, 'mon'),
      logs: [{ key: parseVerifierKey(vkey), url: log.url }],
      stderr: sink,
      progressEvery: PROGRESS_EVERY,
      stdout: { write: (s: string) => out.push(s) },
    });
    cleanup.push(() => m.close());
    const logEntry = { key: parseVerifierKey(vkey), url: log.url };
    const first = await m.pass(logEntry);
    expect(first.error).toMatch(/404/);
    expect(first.size).toBe(0n);
    expect(lines.join('')).toContain(`/${size} entries`);

    // Put the tile back but break bundle 0: a resumed catch-up never reads it again.
    expect(await log.stop()).toBe(0);
    l = await Log.open({ dir });
    await l.db.put(hidden, saved);
    const b0 = Uint8Array.from((await l.db.get(bundleKey(0n)))!);
    b0[2]! ^= 1;
    await l.db.put(bundleKey(0n), b0);
    await l.close();
    log = await startServer({ dir });
    cleanup.push(() => log.stop());
    const second = await m.pass({ key: logEntry.key, url: log.url });
    expect(second).toEqual({ origin: 'example.com/long', size: BigInt(size), alerts: 0, failed: false });
    expect(out.join('')).toContain(`size ${size} `);
    expect(await m.alerts.list()).toEqual([]);
  });
});

describe('monitor tile checks', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('a tile that disagrees with the entries is a tile-mismatch, even when the root matches', async () => {
    const root = tempDir('monitor-tile-');
    const dir = join(root, 'log');
    const l = await Log.open({ dir, origin: 'example.com/tiles' });
    await Promise.all(Array.from({ length: 300 }, (_, i) => l.append(enc(`e${i}`))));
    // Level-0 tile 0 is full and off the right edge: the server does not read it to start.
    const tile = Uint8Array.from((await l.db.get(tileKey(0, 0n)))!);
    tile[5 * 32]! ^= 1;
    await l.db.put(tileKey(0, 0n), tile);
    const vkey = l.vkey;
    await l.close();
    const log = await startServer({ dir });
    cleanup.push(() => log.stop());
    const m = await Monitor.open({
      dir: join(root, 'mon'),
      logs: [{ key: parseVerifierKey(vkey), url: log.url }],
      stderr: { write: () => true },
      stdout: { write: () => true },
    });
    cleanup.push(() => m.close());
    const r = await m.passAll();
    expect(r).toEqual([{ origin: 'example.com/tiles', size: 300n, alerts: 1, failed: true }]);
    const [alert] = await m.alerts.list();
    expect(alert?.kind).toBe('tile-mismatch');
    expect(alert?.detail).toBe('tile tile/0/000 hash 5 is not the hash of entry 5');
  });
});
