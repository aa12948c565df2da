/** The compact range against the naive root of all leaves, and its storage format. */
import { describe, expect, it } from 'vitest';
import { hashLeaf, nodeHasher } from '../../src/merkle/rfc6962.js';
import { treeRootFromLeafHashes } from '../../src/merkle/tiles.js';
import { CompactRange } from '../../src/monitor/compact-range.js';

const leaf = (i: number) => hashLeaf(new TextEncoder().encode(`leaf ${i}`));

describe('CompactRange', () => {
  it('has the root of every prefix, and reports every completed node', () => {
    const leaves: Uint8Array[] = [];
    const r = CompactRange.empty(nodeHasher);
    expect(r.root()).toEqual(nodeHasher.emptyRoot);
    const nodes: string[] = [];
    for (let i = 0; i < 260; i++) {
      leaves.push(leaf(i));
      r.append(leaf(i), (level, index, hash) => {
        if (level === 8) nodes.push(`${index}:${Buffer.from(hash).toString('hex')}`);
      });
      expect(r.size).toBe(BigInt(i + 1));
      expect(r.root()).toEqual(treeRootFromLeafHashes(nodeHasher, leaves));
    }
    expect(nodes).toEqual([
      `0:${Buffer.from(treeRootFromLeafHashes(nodeHasher, leaves.slice(0, 256))).toString('hex')}`,
    ]);
  });

  it('round-trips through serialize and parse, and resumes', () => {
    const r = CompactRange.empty(nodeHasher);
    for (let i = 0; i < 77; i++) r.append(leaf(i));
    const back = CompactRange.parse(nodeHasher, r.serialize());
    back.append(leaf(77));
    r.append(leaf(77));
    expect(back.root()).toEqual(r.root());
    expect(CompactRange.parse(nodeHasher, CompactRange.empty(nodeHasher).serialize()).size).toBe(0n);
  });

  it.each([
    ['empty', ''],
    ['negative', '-1'],
    ['leading zero', `01 0:${'A'.repeat(43)}=`],
    ['missing node', `3 1:${'A'.repeat(43)}=`],
    ['extra node', `1 0:${'A'.repeat(43)}= 0:${'A'.repeat(43)}=`],
    ['wrong level', `2 0:${'A'.repeat(43)}=`],
    ['short hash', '1 0:AAAA'],
    ['bad base64', `1 0:${'*'.repeat(44)}`],
  ])('rejects a corrupt stored range: %s', (_, s) => {
    expect(() => CompactRange.parse(nodeHasher, s)).toThrow(expect.objectContaining({ code: 'STORAGE' }));
  });
});
