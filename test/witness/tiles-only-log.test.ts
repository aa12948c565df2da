/**
 * spec/witness.md section 4: the witness builds consistency proofs from the log's C2SP tiles, and
 * a proof it cannot build (tiles not served, redirected, or not rebuilding the log's signed root)
 * decides nothing. A log that serves only /checkpoint and /tile/* (as tlog-tiles logs do: no
 * consistency-proof endpoint), or whose tiles are behind a redirect, must never be declared
 * forked; and nobody can make the witness declare it forked by sending it a bad proof.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTilePath } from '../../src/merkle/tiles.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../helpers/server.js';
import { FakeLog, fakeTile, serveLog } from './fake-log.js';
import { body, eventually } from './http.js';

describe('a tiles-only log', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  const witnessOf = async (log: FakeLog, url: string, lines: string[] = []) => {
    const w = await Witness.open({
      dir: join(tempDir('tiles-only-'), 'w'),
      name: 'witness.example/t',
      logs: [{ key: parseVerifierKey(log.vkey), url }],
      stderr: { write: (s: string) => lines.push(s) },
    });
    closers.push(() => w.close());
    return w;
  };

  it('a bad proof sent to add-checkpoint is a 422 and no fork; the correct one is then cosigned', async () => {
    const log = FakeLog.create('example.com/tiles-only').grow(300);
    let size = 270;
    const srv = await serveLog(log, () => log.checkpoint(size));
    closers.push(srv.close);
    const w = await witnessOf(log, srv.url);
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view(log.origin)?.checkpoint.size).toBe(270n);
    // Anyone may post the log's public checkpoint with a junk proof.
    const next = await log.checkpoint(290);
    expect((await w.addCheckpoint(body(270, [new Uint8Array(32).fill(7)], next))).status).toBe(422);
    // The investigation (from the tiles) finds the checkpoint consistent: no alert, no fork.
    const res = await eventually(
      async () => {
        const r = await w.addCheckpoint(body(270, await log.proof(270, 290), next));
        return r.status === 200 ? r : undefined;
      },
      10_000,
      'the correct request cosigned',
    );
    expect(res.status).toBe(200);
    expect(await w.alerts.list()).toEqual([]);
    expect(w.fork(log.origin)).toBeUndefined();
    // Polling follows the log's growth across a tile boundary, with proofs from its tiles.
    size = 300;
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view(log.origin)?.checkpoint.size).toBe(300n);
    expect(await w.alerts.list()).toEqual([]);
  });

  it('a forked checkpoint is still found from the tiles, with a proof anyone can check', async () => {
    const log = FakeLog.create('example.com/tiles-fork').grow(20);
    const srv = await serveLog(log, () => log.checkpoint(20));
    closers.push(srv.close);
    const w = await witnessOf(log, srv.url);
    expect((await w.addCheckpoint(body(0, [], await log.checkpoint(10)))).status).toBe(200);
    // The log signed, for someone else, a size-15 tree that is not a prefix of what it serves.
    const forked = await log.fork(12).grow(3, 'fork').checkpoint(15);
    expect(await w.checkView(log.origin, forked, 'http://peer.example')).toBe('alert');
    const [alert] = await w.alerts.list();
    expect(alert?.kind).toBe('inconsistent');
    expect(alert?.checkpoints).toEqual([await log.checkpoint(20), forked]);
    expect(alert?.proof?.old_size).toBe('15');
    expect(alert?.proof?.new_size).toBe('20');
    expect(alert?.proof?.hashes.length).toBeGreaterThan(0);
    expect(w.fork(log.origin)?.alert).toBe(alert!.id);
  });

  it('tiles that are redirected, missing, or do not rebuild the signed root decide nothing', async () => {
    const log = FakeLog.create('example.com/tiles-odd').grow(12);
    let mode: 'redirect' | 'missing' | 'garbage' = 'redirect';
    const server: Server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/checkpoint') {
        void log.checkpoint(12).then((c) => res.end(c));
      } else if (u.pathname.startsWith('/tile/') && mode === 'redirect') {
        res.writeHead(301, { location: `/v2${u.pathname}` }).end();
      } else if (u.pathname.startsWith('/tile/') && mode === 'garbage') {
        const id = parseTilePath(u.pathname.slice(1));
        const t = id.level === 'entries' ? undefined : fakeTile(log, id.level, id.index, id.width);
        if (t === undefined) res.writeHead(404).end();
        else res.end(t.map((b) => b ^ 1));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(r)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lines: string[] = [];
    const w = await witnessOf(log, url, lines);
    expect((await w.addCheckpoint(body(0, [], await log.checkpoint(3)))).status).toBe(200);
    for (const m of ['redirect', 'missing', 'garbage'] as const) {
      mode = m;
      // A genuine larger checkpoint (gossiped by a peer), and the log's own by polling.
      expect(await w.checkView(log.origin, await log.checkpoint(8), 'http://peer.example'), m).toBe(
        'unknown',
      );
      await w.poll(w.witnessedLogs[0]!);
      expect(w.view(log.origin)?.checkpoint.size, m).toBe(3n);
    }
    expect(lines.join('')).toContain('do not rebuild the root it signed');
    expect(await w.alerts.list()).toEqual([]);
    expect(w.fork(log.origin)).toBeUndefined();
  });
});
