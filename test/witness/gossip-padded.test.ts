/**
 * A log must not be able to make the checkpoint a witness cosigned, and serves in gossip,
 * unreadable by its peers (too many signature lines, too many bytes): a split view would go
 * undetected. The witness keeps only the log's signatures, refuses (413) a checkpoint whose
 * cosigned form peers would not read, and peers skip a bad item rather than the whole list.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { encodeBase64 } from '../../src/note/encoding.js';
import { fetchPeerViews } from '../../src/witness/gossip.js';
import { listen, witnessApp } from '../../src/witness/server.js';
import { Witness } from '../../src/witness/witness.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { tempDir } from '../helpers/server.js';
import { FakeLog } from './fake-log.js';
import { addCheckpoint, body } from './http.js';

/** Pulls `peerUrl` into `w` as one gossip round does (startLoops). */
async function pull(w: Witness, peerUrl: string): Promise<void> {
  const { views } = await fetchPeerViews(peerUrl).catch(() => ({ views: [] }));
  for (const v of views) await w.checkView(v.origin, v.checkpoint, peerUrl).catch(() => undefined);
}

describe('gossip of cosigned checkpoints a log padded', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  const open = async (name: string, logs: FakeLog[]) => {
    const w = await Witness.open({
      dir: join(tempDir('rev-gossip-'), 'w'),
      name,
      logs: logs.map((l) => ({ key: parseVerifierKey(l.vkey) })),
      stderr: { write: () => true },
    });
    const srv = await listen(witnessApp(w), 0, '127.0.0.1');
    closers.push(async () => {
      await srv.close();
      await w.close();
    });
    return { w, url: `http://127.0.0.1:${srv.port}` };
  };

  it('a checkpoint padded with 99 signature lines by unknown keys is gossiped without them: the fork is found', async () => {
    const log = FakeLog.create('example.com/padded').grow(4);
    const branchB = log.fork(3).grow(1, 'other');
    // Branch A, as the log sends it to witness 1: its signature plus 99 lines by unknown keys
    // (signed-note: verifiers MUST ignore signatures from unknown keys).
    const a = await log.checkpoint(4);
    const junk = Array.from(
      { length: 99 },
      (_, i) => `\u2014 junk${i}.example ${encodeBase64(new Uint8Array(68).fill(i))}\n`,
    ).join('');
    const padded = a + junk;
    const w1 = await open('witness.example/w1', [log]);
    const w2 = await open('witness.example/w2', [log]);
    expect((await addCheckpoint(w1.url, body(0, [], padded))).status).toBe(200);
    expect((await addCheckpoint(w2.url, body(0, [], await branchB.checkpoint(4)))).status).toBe(200);
    // Two checkpoints of size 4 with different roots, both signed by the log: witness 2 pulls
    // witness 1's view and must see the fork.
    await pull(w2.w, w1.url);
    const alerts = await w2.w.alerts.list();
    expect(alerts.map((x) => x.kind)).toEqual(['inconsistent']);
  });

  it("a near-limit checkpoint of one log is refused, and another log's fork is still found", async () => {
    const big = FakeLog.create('example.com/big').grow(2);
    const forked = FakeLog.create('example.com/forked').grow(4);
    const other = forked.fork(3).grow(1, 'other');
    // A genuine checkpoint with a long extension line: the add-checkpoint body stays under 128 KiB.
    const root = big.root(2);
    const note = await signCheckpoint(
      { origin: big.origin, size: 2n, root, extensions: [`x ${'a'.repeat(130_800)}`] },
      big.signer,
    );
    expect(body(0, [], note).length).toBeLessThan(128 * 1024);
    const w1 = await open('witness.example/w1', [big, forked]);
    const w2 = await open('witness.example/w2', [big, forked]);
    // Cosigned, it would be over what peers read: refused, so it cannot hide anything.
    expect((await addCheckpoint(w1.url, body(0, [], note))).status).toBe(413);
    expect((await addCheckpoint(w1.url, body(0, [], await forked.checkpoint(4)))).status).toBe(200);
    expect((await addCheckpoint(w2.url, body(0, [], await other.checkpoint(4)))).status).toBe(200);
    await pull(w2.w, w1.url);
    const alerts = await w2.w.alerts.list();
    expect(alerts.map((x) => [x.kind, x.origin])).toEqual([['inconsistent', 'example.com/forked']]);
  });
});
