/** Reads of the committed tree while commits, failures and shutdown happen. */
import { describe, expect, it } from 'vitest';
import type { Signer } from '../../src/note/signer.js';
import { Log } from '../../src/sequencer/log.js';
import type { LogStore } from '../../src/storage/store.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { tempLogDirs } from '../helpers/server.js';
import * as model from '../merkle/model.js';

const newDir = tempLogDirs();
const entry = (i: number) => new TextEncoder().encode(`read entry ${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reads during commits, failures and shutdown', () => {
  it('a batch the reload finds committed after a write that failed late is found by leaf hash as soon as it is served', async () => {
    const mode = { failAfter: false, failRead: false };
    let gate: Promise<void> | undefined;
    let open: () => void = () => {};
    let entered: () => void = () => {};
    const reloading = new Promise<void>((r) => {
      entered = r;
    });
    const wrap = (s: LogStore): LogStore => ({
      ...faultyStore({ fail: 'none' })(s),
      async readTile(l, i) {
        const g = gate;
        gate = undefined; // only the reload's first read waits
        if (g) {
          entered();
          await g;
        }
        return s.readTile(l, i);
      },
      async readState() {
        // The first read after the fault fails, so the loop cannot tell at once that the write
        // landed (wroteAnyway) and takes the start-up path: the reload finds it.
        if (mode.failRead) {
          mode.failRead = false;
          throw new Error('injected: state unreadable for a moment');
        }
        return s.readState();
      },
      async commit(b) {
        await s.commit(b);
        if (mode.failAfter) {
          mode.failAfter = false;
          mode.failRead = true;
          gate = new Promise((r) => {
            open = r;
          });
          throw new Error('injected: fsync reported failure after the data reached the disk');
        }
      },
    });
    const log = await Log.open({
      dir: newDir(),
      origin: 'example.com/late-index',
      wrapStore: wrap,
      maxBatchSize: 10,
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => log.append(entry(i))));
    mode.failAfter = true;
    const failed = Promise.allSettled(Array.from({ length: 5 }, (_, i) => log.append(entry(5 + i))));
    await reloading; // the reload after the failed write is reading tiles
    await sleep(20);
    const served = log.latest().size;
    // Whenever the served tree holds entry 7, get-proof-by-hash finds it.
    const found =
      served > 7n ? await log.indexOfLeafHash(model.leafHash(entry(7)), served) : 'not served yet';
    open();
    await failed;
    while (log.latest().size !== 10n) await sleep(1);
    expect({ served, found }).toEqual(
      served > 7n ? { served, found: 7n } : { served, found: 'not served yet' },
    );
    expect(await log.indexOfLeafHash(model.leafHash(entry(7)))).toBe(7n);
    await log.close();
  });

  it('a read in flight when the log closes (SIGTERM with requests in flight) still answers; later ones get CLOSED', async () => {
    let slow = false;
    const wrap = (s: LogStore): LogStore => ({
      ...faultyStore({ fail: 'none' })(s),
      async readBundleChunks(i) {
        if (slow) await sleep(50); // a read queued behind a compaction
        return s.readBundleChunks(i);
      },
    });
    const log = await Log.open({ dir: newDir(), origin: 'example.com/close', wrapStore: wrap });
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(entry(i))));
    slow = true;
    const reading = log.entries(0n, 10n).then(
      (e) => e.length,
      (e: Error) => e.message,
    );
    const closing = log.close();
    await expect(log.entries(0n, 10n)).rejects.toMatchObject({ code: 'CLOSED' });
    await closing;
    expect(await reading).toBe(10);
  });

  it('concurrent get-sth requests for one tree head ask a remote signer once', async () => {
    const dir = newDir();
    const first = await Log.open({ dir, origin: 'example.com/sth' });
    const base = first.signer;
    await first.close();
    let calls = 0;
    const signer: Signer = {
      name: base.name,
      publicKey: base.publicKey,
      async sign(m) {
        calls++;
        await sleep(20); // a KMS round trip
        return base.sign(m);
      },
    };
    const log = await Log.open({ dir, signer });
    await log.append(entry(1));
    calls = 0;
    const answers = await Promise.all(Array.from({ length: 50 }, () => log.treeHeadSignature()));
    expect(calls).toBe(1);
    expect(new Set(answers.map((a) => Buffer.from(a.signature).toString('hex'))).size).toBe(1);
    await log.close();
  });
});
