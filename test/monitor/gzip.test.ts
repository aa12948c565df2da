/**
 * tlog-tiles: "Logs MAY use Content-Encoding: gzip with no negotiation". An honest log that gzips
 * its tiles and bundles is verified as any other (before, the monitor read the gzip bytes as the
 * body and alerted tile-mismatch and root-mismatch); an unknown encoding is an unreadable log,
 * not a liar.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../src/monitor/monitor.js';
import { tempDir } from '../helpers/server.js';
import { TileLog } from './tile-log.js';

const quiet = { write: () => true };

describe('monitor and Content-Encoding', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function setup(log: TileLog) {
    await log.start();
    cleanup.push(() => log.stop());
    const m = await Monitor.open({
      dir: join(tempDir('monitor-gzip-'), 'mon'),
      logs: [{ key: log.key, url: log.url }],
      stderr: quiet,
      stdout: quiet,
    });
    cleanup.push(() => m.close());
    return m;
  }

  it('an honest log that gzips its tiles and entry bundles is verified', async () => {
    const log = new TileLog().grow(300);
    await log.publish();
    log.override = (path, honest) =>
      path.startsWith('tile/') && honest
        ? { body: gzipSync(honest), headers: { 'content-encoding': 'gzip' } }
        : undefined;
    const m = await setup(log);
    const [r] = await m.passAll();
    expect(await m.alerts.list()).toEqual([]);
    expect(r).toEqual({ origin: log.key.name, size: 300n, alerts: 0, failed: false });
  });

  it('an encoding it cannot decode leaves the log unread, with no alert', async () => {
    const log = new TileLog().grow(10);
    await log.publish();
    log.override = (path, honest) =>
      path.startsWith('tile/') && honest
        ? { body: honest, headers: { 'content-encoding': 'br' } }
        : undefined;
    const m = await setup(log);
    const [r] = await m.passAll();
    expect(r?.error).toMatch(/Content-Encoding br/);
    expect(await m.alerts.list()).toEqual([]);
  });
});
