/**
 * Polling a log over HTTP: what is stored from its /checkpoint carries only the log's own
 * signatures (a log cannot pad what the witness gossips), and a checkpoint cosigned through
 * add-checkpoint while a poll's fetch is in flight does not turn the poll's answer into a
 * rollback alert against an honest log.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { parseNote } from '../../src/note/note.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../helpers/server.js';
import { FakeLog, serveLog } from './fake-log.js';
import { body } from './http.js';

describe('Witness.poll', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  const open = async (log: FakeLog, url: string) => {
    const w = await Witness.open({
      dir: join(tempDir('poll-log-'), 'w'),
      name: 'witness.example/p',
      logs: [{ key: parseVerifierKey(log.vkey), url }],
      stderr: { write: () => true },
    });
    closers.push(() => w.close());
    return w;
  };

  it('stores and gossips the polled checkpoint with the log signature and its cosignature only', async () => {
    const log = FakeLog.create('example.com/poll-padded').grow(4);
    const junk = Array.from(
      { length: 99 },
      (_, i) => `\u2014 junk${i}.example ${encodeBase64(new Uint8Array(68).fill(i))}\n`,
    ).join('');
    const srv = await serveLog(log, async () => (await log.checkpoint(4)) + junk);
    closers.push(srv.close);
    const w = await open(log, srv.url);
    await w.poll(w.witnessedLogs[0]!);
    const [view] = w.allViews();
    expect(view?.origin).toBe(log.origin);
    const names = parseNote(view!.checkpoint).signatures.map((s) => s.name);
    expect(names).toEqual([log.origin, 'witness.example/p']);
  });

  it('a larger checkpoint cosigned while the fetch is in flight is no rollback', async () => {
    const log = FakeLog.create('example.com/poll-race').grow(6);
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let fetched!: () => void;
    const fetching = new Promise<void>((r) => {
      fetched = r;
    });
    const srv = await serveLog(
      log,
      () => log.checkpoint(4),
      async () => {
        fetched();
        await released;
      },
    );
    closers.push(srv.close);
    const w = await open(log, srv.url);
    expect((await w.addCheckpoint(body(0, [], await log.checkpoint(2)))).status).toBe(200);
    const poll = w.poll(w.witnessedLogs[0]!);
    await fetching; // the poll asked while size 2 was stored
    const proof = await log.proof(2, 6);
    expect((await w.addCheckpoint(body(2, proof, await log.checkpoint(6)))).status).toBe(200);
    release(); // the log answers size 4, older than the 6 cosigned meanwhile
    await poll;
    expect(await w.alerts.list()).toEqual([]);
    expect(w.fork(log.origin)).toBeUndefined();
    expect(w.view(log.origin)?.checkpoint.size).toBe(6n);
  });
});
