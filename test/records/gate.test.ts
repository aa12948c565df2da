import { describe, expect, it } from 'vitest';
import { Gate } from '../../src/records/gate.js';
import { errorCode } from './helpers.js';

describe('Gate', () => {
  it('holds shared sections back during an exclusive one, and refuses more than maxWaiting', async () => {
    const gate = new Gate(2);
    let release!: () => void;
    const exclusive = gate.exclusive(() => new Promise<void>((r) => (release = r)));
    const ran: number[] = [];
    const waiting = [1, 2].map((n) => gate.shared(async () => ran.push(n)));
    expect(await errorCode(gate.shared(async () => ran.push(3)))).toBe('OVERLOADED');
    expect(ran).toEqual([]);
    release();
    await exclusive;
    await Promise.all(waiting);
    expect(ran.sort()).toEqual([1, 2]);
    // Nothing waits now: a shared section runs at once.
    await gate.shared(async () => ran.push(4));
    expect(ran).toContain(4);
  });
});
