import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { parsePolicy, parsePolicyBytes, witnessQuorum } from '../../src/client/policy.js';
import {
  formatTlogProof,
  parseTlogProof,
  receiptFromTlogProof,
  receiptToTlogProof,
} from '../../src/client/tlog-proof.js';
import { parseReceipt, type Receipt, receiptToJSON } from '../../src/client/receipt.js';
import {
  upgradeReceipt,
  verifyCheckpoint,
  verifyConsistencyBetween,
  verifyReceipt,
} from '../../src/client/verify.js';
import { parseVerifierKey, type VerifierKey } from '../../src/note/keys.js';
import { codeOf, MemoryLog, te, Witness } from './fixtures.js';

const log = new MemoryLog();
const w1 = new Witness('w1.example');
const w2 = new Witness('w2.example');
const w3 = new Witness('w3.example');
let receipt: Receipt;
/**
 * The log key parsed once from its vkey string, for the exhaustive and fuzz loops: parsing it
 * (a point decompression and a small-order check) on each of thousands of calls cost as much as
 * the verifications. The string form is exercised by the tests that pass log.vkey.
 */
let logKey: VerifierKey;

beforeAll(async () => {
  logKey = parseVerifierKey(log.vkey);
  for (let i = 0; i < 37; i++) log.append(te.encode(`entry ${i}`));
  receipt = await log.receipt(13n, 21n);
});

describe('verifyReceipt', () => {
  test('accepts a good receipt, with the vkey string or a parsed key', () => {
    const v = verifyReceipt(receipt, log.vkey);
    expect(v.index).toBe(13n);
    expect(v.checkpoint.size).toBe(21n);
    expect(verifyReceipt(receipt, log.key).latest.logKey.name).toBe(log.origin);
  });

  test('accepts every index of small trees (edges, powers of two)', async () => {
    for (const size of [1n, 2n, 3n, 4n, 5n, 8n, 16n, 17n, 32n, 37n]) {
      for (let i = 0n; i < size; i += 3n) verifyReceipt(await log.receipt(i, size), log.vkey);
      verifyReceipt(await log.receipt(size - 1n, size), log.vkey);
    }
  });

  test('each kind of tampering has its own code', async () => {
    const other = new MemoryLog('other.example/log');
    const cases: [string, Receipt, string][] = [
      ['entry changed', { ...receipt, entry: te.encode('entry 14') }, 'LEAF_MISMATCH'],
      [
        'leaf hash of another entry',
        { ...receipt, leafHash: log.leaves[14]!, entry: undefined },
        'ROOT_MISMATCH',
      ],
      ['index moved', { ...receipt, index: 12n }, 'ROOT_MISMATCH'],
      [
        'proof node changed',
        { ...receipt, inclusionProof: [log.leaves[0]!, ...receipt.inclusionProof.slice(1)] },
        'ROOT_MISMATCH',
      ],
      ['proof truncated', { ...receipt, inclusionProof: receipt.inclusionProof.slice(1) }, 'BAD_PROOF'],
      ['tree size differs from checkpoint', { ...receipt, treeSize: 22n }, 'BAD_PROOF'],
      ['index beyond size', { ...receipt, index: 21n }, 'BAD_PROOF'],
      ['checkpoint from another log', { ...receipt, checkpoint: await other.checkpoint(0n) }, 'UNKNOWN_KEY'],
      ['origin differs', { ...receipt, origin: 'x.example/log' }, 'UNKNOWN_KEY'],
      [
        'checkpoint body edited',
        { ...receipt, checkpoint: receipt.checkpoint.replace('\n21\n', '\n22\n') },
        'BAD_SIGNATURE',
      ],
      ['checkpoint garbled', { ...receipt, checkpoint: 'nope' }, 'BAD_NOTE'],
    ];
    for (const [name, r, code] of cases)
      expect(
        codeOf(() => verifyReceipt(r, log.vkey)),
        name,
      ).toBe(code);
    expect(codeOf(() => verifyReceipt(receipt, other.vkey))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => verifyReceipt(receipt, null))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => verifyReceipt(receipt, 'garbage'))).toBe('BAD_KEY');
  });

  test('every single bit flipped anywhere in the receipt JSON is rejected (exhaustive)', () => {
    const bytes = te.encode(JSON.stringify(receiptToJSON(receipt)));
    // One assertion over all flips (thousands of expect calls cost more than the checks).
    const accepted: number[] = [];
    let tried = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const m = bytes.slice();
      m[bit >> 3]! ^= 1 << (bit & 7);
      const code = codeOf(() => verifyReceipt(parseReceipt(JSON.parse(new TextDecoder().decode(m))), logKey));
      tried++;
      if (code === 'none') accepted.push(bit);
    }
    expect(tried).toBe(bytes.length * 8);
    expect(accepted, 'bits whose flip was accepted').toEqual([]);
  });

  test('fuzz: any bit flipped in any proof hash, the leaf hash or the entry is rejected', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: receipt.inclusionProof.length + 1 }),
        fc.integer({ min: 0, max: 255 }),
        (which, bit) => {
          const r: Receipt = { ...receipt, inclusionProof: receipt.inclusionProof.map((h) => h.slice()) };
          if (which < r.inclusionProof.length) r.inclusionProof[which]![bit >> 3]! ^= 1 << (bit & 7);
          else if (which === r.inclusionProof.length) {
            r.leafHash = r.leafHash.slice();
            r.leafHash[bit >> 3]! ^= 1 << (bit & 7);
          } else {
            r.entry = r.entry!.slice();
            r.entry[(bit >> 3) % r.entry.length]! ^= 1 << (bit & 7);
          }
          expect(codeOf(() => verifyReceipt(r, logKey))).not.toBe('none');
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('bit flips in other forms', () => {
  test('every single bit flipped in a .tlog-proof is rejected (exhaustive)', async () => {
    const r = await log.receipt(9n, 21n);
    const bytes = te.encode(formatTlogProof(receiptToTlogProof(r)));
    const accepted: number[] = [];
    let tried = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const m = bytes.slice();
      m[bit >> 3]! ^= 1 << (bit & 7);
      const code = codeOf(() =>
        verifyReceipt(receiptFromTlogProof(parseTlogProof(new TextDecoder().decode(m))), logKey),
      );
      tried++;
      if (code === 'none') accepted.push(bit);
    }
    expect(tried).toBe(bytes.length * 8);
    expect(accepted, 'bits whose flip was accepted').toEqual([]);
  });

  test('fuzz: flips in an upgrade (consistency proof or newer checkpoint) are rejected', async () => {
    const up = upgradeReceipt(receipt, await log.checkpoint(37n), await log.consistency(21n, 37n), log.vkey);
    const cp = te.encode(up.upgrade!.checkpoint);
    const proof = up.upgrade!.consistencyProof;
    fc.assert(
      fc.property(fc.nat({ max: proof.length * 256 + cp.length * 8 - 1 }), (bit) => {
        const u = { checkpoint: up.upgrade!.checkpoint, consistencyProof: proof.map((h) => h.slice()) };
        if (bit < proof.length * 256) u.consistencyProof[bit >> 8]![(bit & 255) >> 3]! ^= 1 << (bit & 7);
        else {
          const b = bit - proof.length * 256;
          const m = cp.slice();
          m[b >> 3]! ^= 1 << (b & 7);
          u.checkpoint = new TextDecoder().decode(m);
        }
        expect(codeOf(() => verifyReceipt({ ...up, upgrade: u }, logKey))).not.toBe('none');
      }),
      { numRuns: 500 },
    );
  });

  test('by design, flips inside a signature by a key outside the trust set are ignored', async () => {
    const r = await log.receipt(3n, 21n, [w1]);
    const line = r.checkpoint.split('\n').find((l) => l.startsWith('— w1.example '))!;
    const flipped = line.replace(/.(=*)$/, (c, pad) => `${c[0] === 'A' ? 'Q' : 'A'}${pad}`);
    const changed = { ...r, checkpoint: r.checkpoint.replace(line, flipped) };
    expect(codeOf(() => verifyReceipt(changed, log.vkey))).toBe('none');
    expect(codeOf(() => verifyReceipt(changed, log.vkey, { policy: witnessQuorum(1, [w1.key]) }))).not.toBe(
      'none',
    );
  });
});

describe('witness quorums', () => {
  test('k of n cosignatures', async () => {
    const r = await log.receipt(5n, 21n, [w1, w3]);
    const ok = verifyReceipt(r, log.vkey, { policy: witnessQuorum(2, [w1.key, w2.key, w3.key]) });
    expect(ok.latest.cosigners).toEqual(['w0', 'w2']);
    expect(
      codeOf(() => verifyReceipt(r, log.vkey, { policy: witnessQuorum(3, [w1.key, w2.key, w3.key]) })),
    ).toBe('QUORUM_NOT_MET');
    expect(codeOf(() => verifyReceipt(receipt, log.vkey, { policy: witnessQuorum(1, [w1.key]) }))).toBe(
      'QUORUM_NOT_MET',
    );
    expect(codeOf(() => witnessQuorum(4, [w1.key, w2.key, w3.key]))).toBe('BAD_REQUEST');
    expect(codeOf(() => witnessQuorum(1, [log.key]))).toBe('BAD_REQUEST');
  });

  test('a forged cosignature by a policy witness rejects the checkpoint', async () => {
    const r = await log.receipt(5n, 21n, [w1]);
    // Change the 21st base64 character of w1's signature line to another one (whatever it was).
    const forged = r.checkpoint.replace(
      /(— w1\.example \S{20})(\S)/,
      (_, p: string, c: string) => `${p}${c === 'A' ? 'B' : 'A'}`,
    );
    expect(forged).not.toBe(r.checkpoint);
    expect(
      codeOf(() =>
        verifyReceipt({ ...r, checkpoint: forged }, log.vkey, { policy: witnessQuorum(1, [w1.key]) }),
      ),
    ).toMatch(/BAD_SIGNATURE|BAD_NOTE/);
  });

  test('a policy file: log from the policy, nested groups', async () => {
    const policy = parsePolicy(
      [
        `log ${log.vkey}`,
        `witness A ${w1.vkey}`,
        `witness B ${w2.vkey}`,
        `witness C ${w3.vkey}`,
        'group AB any A B',
        'group all-of-it all AB C',
        'quorum all-of-it',
        '',
      ].join('\n'),
    );
    const r = await log.receipt(5n, 21n, [w2, w3]);
    expect(verifyReceipt(r, null, { policy }).latest.cosigners).toEqual(['B', 'C']);
    const r2 = await log.receipt(5n, 21n, [w1, w2]);
    expect(codeOf(() => verifyReceipt(r2, null, { policy }))).toBe('QUORUM_NOT_MET');
    const other = new MemoryLog('other.example/log');
    expect(codeOf(() => verifyReceipt(r, other.vkey, { policy }))).toBe('UNKNOWN_KEY');
  });

  test('policy bytes that are not UTF-8 are opaque octets (tlog-policy): comments and names', async () => {
    const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    const r = await log.receipt(5n, 21n, [w2]);
    // A comment in Latin-1, and a witness named with a byte that is not UTF-8.
    const policy = parsePolicyBytes(
      latin1(`# caf\xe9\nlog ${log.vkey}\nwitness w\xff ${w2.vkey}\nquorum w\xff\n`),
    );
    expect(verifyReceipt(r, null, { policy }).latest.cosigners).toEqual(['w\xff']);
    const unwitnessed = await log.receipt(5n, 21n);
    expect(codeOf(() => verifyReceipt(unwitnessed, null, { policy }))).toBe('QUORUM_NOT_MET');
    // A valid UTF-8 file still reads as UTF-8.
    const utf8 = parsePolicyBytes(te.encode(`log ${log.vkey}\nwitness w\u00ef ${w2.vkey}\nquorum w\u00ef\n`));
    expect(verifyReceipt(r, null, { policy: utf8 }).latest.cosigners).toEqual(['w\u00ef']);
    // A vkey names a note key: its bytes must be UTF-8.
    const badName = log.vkey.replace(/^[^+]+/, 'bad\xff');
    expect(codeOf(() => parsePolicyBytes(latin1(`log ${badName}\nquorum none\n`)))).toBe('BAD_REQUEST');
  });

  test('a policy listing two keys for one origin (a rotation) accepts a checkpoint signed by either', async () => {
    const rotated = new MemoryLog(log.origin); // same origin, another key
    const both = parsePolicy(`log ${rotated.vkey}\nlog ${log.vkey}\nquorum none\n`);
    const v = verifyReceipt(await log.receipt(5n, 21n), null, { policy: both });
    expect(v.latest.logKey.keyId).toEqual(log.key.keyId);
    for (const r of [1n, 2n, 3n]) rotated.append(te.encode(`rotated ${r}`));
    const fromRotated = await rotated.receipt(1n, 3n);
    expect(verifyReceipt(fromRotated, null, { policy: both }).latest.logKey.keyId).toEqual(rotated.key.keyId);
    // Only the keys the policy lists: a third key of the same origin is still refused.
    const third = new MemoryLog(log.origin);
    for (const r of [1n, 2n, 3n]) third.append(te.encode(`third ${r}`));
    const fromThird = await third.receipt(1n, 3n);
    expect(codeOf(() => verifyReceipt(fromThird, null, { policy: both }))).toBe('UNKNOWN_KEY');
    expect(
      codeOf(() =>
        verifyReceipt(fromRotated, null, { policy: parsePolicy(`log ${log.vkey}\nquorum none\n`) }),
      ),
    ).toBe('UNKNOWN_KEY');
  });
});

describe('consistency and upgrades', () => {
  test('verifyConsistencyBetween', async () => {
    const a = await log.checkpoint(21n);
    const b = await log.checkpoint(37n);
    const proof = await log.consistency(21n, 37n);
    expect(verifyConsistencyBetween(a, b, proof, log.vkey).checkpoint.size).toBe(37n);
    expect(codeOf(() => verifyConsistencyBetween(b, a, proof, log.vkey))).toBe('ROLLBACK');
    expect(codeOf(() => verifyConsistencyBetween(a, b, proof.slice(1), log.vkey))).toBe('BAD_PROOF');
    expect(
      codeOf(() => verifyConsistencyBetween(a, b, [proof[1]!, proof[0]!, ...proof.slice(2)], log.vkey)),
    ).toBe('ROOT_MISMATCH');
  });

  test('a fork: two signed checkpoints of one size with different roots', async () => {
    const fork = new MemoryLog(log.origin);
    Object.assign(fork, { signer: log.signer });
    fork.append(...log.entries.slice(0, 20), te.encode('forked'));
    const a = await log.checkpoint(21n);
    const b = await fork.checkpoint(21n);
    expect(codeOf(() => verifyConsistencyBetween(a, b, [], log.vkey))).toBe('INCONSISTENT');
  });

  test('upgrade: an old receipt vouched for by a newer, witnessed checkpoint', async () => {
    const newer = await log.checkpoint(37n, [w1, w2]);
    const policy = witnessQuorum(2, [w1.key, w2.key]);
    expect(codeOf(() => verifyReceipt(receipt, log.vkey, { policy }))).toBe('QUORUM_NOT_MET');
    const up = upgradeReceipt(receipt, newer, await log.consistency(21n, 37n), log.vkey, { policy });
    const v = verifyReceipt(up, log.vkey, { policy });
    expect(v.checkpoint.size).toBe(21n);
    expect(v.latest.checkpoint.size).toBe(37n);
    expect(v.latest.cosigners).toEqual(['w0', 'w1']);
    // The upgrade survives the JSON round trip, and tampering with it is caught.
    const back = parseReceipt(JSON.parse(JSON.stringify(receiptToJSON(up))));
    verifyReceipt(back, log.vkey, { policy });
    const bad = {
      ...back,
      upgrade: { ...back.upgrade!, consistencyProof: back.upgrade!.consistencyProof.slice(1) },
    };
    expect(codeOf(() => verifyReceipt(bad, log.vkey, { policy }))).toBe('BAD_PROOF');
    const wrong = await log.consistency(20n, 37n);
    expect(codeOf(() => upgradeReceipt(receipt, newer, wrong, log.vkey))).toMatch(/BAD_PROOF|ROOT_MISMATCH/);
  });

  test('verifyCheckpoint requires the log signature even when witnesses signed', async () => {
    const other = new MemoryLog(log.origin);
    other.append(...log.entries);
    const note = await other.checkpoint(5n, [w1]);
    expect(codeOf(() => verifyCheckpoint(note, log.vkey, { policy: witnessQuorum(1, [w1.key]) }))).toBe(
      'UNKNOWN_KEY',
    );
  });
});
