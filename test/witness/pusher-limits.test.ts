import { describe, expect, it } from 'vitest';
import { MAX_WITNESS_WAITERS, WitnessPusher } from '../../src/witness/pusher.js';
import { MemoryLog, Witness } from '../client/fixtures.js';
import { codeOf } from '../helpers/errors.js';

describe('WitnessPusher limits', () => {
  it('refuses a waiter beyond MAX_WITNESS_WAITERS with OVERLOADED; close rejects the rest', async () => {
    const log = new MemoryLog();
    log.append(new TextEncoder().encode('one'));
    const note = await log.checkpoint(1n);
    const pusher = new WitnessPusher({
      log: {
        latest: () => ({ size: 1n, note }),
        onCommit: () => () => {},
        consistencyProof: (a, b) => log.consistency(a, b),
      },
      // Nothing listens on port 9: no checkpoint is ever witnessed.
      witnesses: [{ url: 'http://127.0.0.1:9', key: new Witness('w.example').key }],
      retryMs: 60_000,
      stderr: { write: () => true },
    });
    const waiting = Array.from({ length: MAX_WITNESS_WAITERS }, () =>
      pusher.waitWitnessed(1n, 60_000).then(
        () => 'witnessed',
        (e: unknown) =>
          codeOf(() => {
            throw e;
          }),
      ),
    );
    const over = await pusher.waitWitnessed(1n, 60_000).catch((e: unknown) => e);
    expect(
      codeOf(() => {
        throw over;
      }),
    ).toBe('OVERLOADED');
    await pusher.close();
    const settled = await Promise.all(waiting);
    expect(new Set(settled)).toEqual(new Set(['CLOSED']));
  });
});
