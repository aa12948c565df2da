/**
 * The witness remembers the comparisons it concluded (spec/witness.md section 4, "Comparing two
 * checkpoints") by a digest, not by the checkpoint text: a log signing checkpoints with large
 * extension lines cannot make that memo hold 10,000 notes of ~128 KiB. A remembered comparison
 * is still not asked of the log again.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { formatAddCheckpoint } from '../../src/witness/wire.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../helpers/server.js';
import { FakeLog, serveLog } from './fake-log.js';

/** The memo of a witness (a private field: its size is what is under test, not an API). */
const memoOf = (w: Witness) => (w as unknown as { checked: Set<string> }).checked;

describe('the memo of concluded comparisons', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('holds a 32-byte digest per comparison, whatever the size of the checkpoints', async () => {
    const log = FakeLog.create('example.com/big-ext').grow(10);
    const w = await Witness.open({
      dir: join(tempDir('checked-memo-'), 'w'),
      name: 'witness.example/m',
      logs: [{ key: parseVerifierKey(log.vkey) }],
      stderr: { write: () => true },
    });
    closers.push(() => w.close());
    const first = await log.checkpoint(10);
    expect((await w.addCheckpoint(formatAddCheckpoint({ oldSize: 0n, proof: [], note: first }))).status).toBe(
      200,
    );
    const N = 40;
    for (let i = 0; i < N; i++) {
      // Same size and root as the cosigned one: consistent, concluded, remembered.
      const note = await signCheckpoint(
        { origin: log.origin, size: 10n, root: log.root(10), extensions: [`e${i}${'a'.repeat(120_000)}`] },
        log.signer,
      );
      expect(await w.checkView(log.origin, note, 'http://peer.example')).toBe('consistent');
    }
    const keys = [...memoOf(w)];
    expect(keys).toHaveLength(N);
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a concluded comparison is not asked of the log again', async () => {
    const log = FakeLog.create('example.com/memo-hit').grow(8);
    let fetches = 0;
    const srv = await serveLog(log, async () => {
      fetches++;
      return log.checkpoint(8);
    });
    closers.push(srv.close);
    const w = await Witness.open({
      dir: join(tempDir('checked-memo-'), 'w'),
      name: 'witness.example/m',
      logs: [{ key: parseVerifierKey(log.vkey), url: srv.url }],
      stderr: { write: () => true },
    });
    closers.push(() => w.close());
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view(log.origin)?.checkpoint.size).toBe(8n);
    const older = await log.checkpoint(3);
    const before = fetches;
    expect(await w.checkView(log.origin, older, 'http://peer.example')).toBe('consistent');
    expect(fetches).toBe(before + 1);
    expect(await w.checkView(log.origin, older, 'http://peer.example')).toBe('consistent');
    expect(fetches).toBe(before + 1);
  });
});
