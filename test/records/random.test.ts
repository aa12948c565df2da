import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/records/random.js';

describe('pooled randomBytes', () => {
  it('never hands out the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    const held: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = randomBytes(i % 7 === 0 ? 100 : 32);
      expect(r.length).toBe(i % 7 === 0 ? 100 : 32);
      const hex = Buffer.from(r).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
      held.push(r);
    }
    // Earlier draws are not overwritten by later refills.
    expect(held.map((r) => Buffer.from(r).toString('hex'))).toEqual([...seen]);
  });
});
