import { describe, expect, test } from 'vitest';
import { parsePolicy, witnessQuorum } from '../../src/client/policy.js';
import { verifyCheckpoint, verifyReceipt } from '../../src/client/verify.js';
import { cosign } from '../../src/note/cosignature.js';
import {
  formatVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  type VerifierKey,
  verifierKey,
} from '../../src/note/keys.js';
import { addSignatures, formatNote } from '../../src/note/note.js';
import { ed25519Signer, generateSeed } from '../../src/note/signer.js';
import { codeOf, MemoryLog, te, Witness } from './fixtures.js';

const log = new MemoryLog();
for (let i = 0; i < 8; i++) log.append(te.encode(`entry ${i}`));
const w1 = new Witness('w1.example');
const w2 = new Witness('w2.example');
const w3 = new Witness('w3.example');

describe('log key given with a policy', () => {
  test('a key with the policy log name and key ID but another public key is not "listed in the policy"', async () => {
    const policy = parsePolicy(`log ${log.vkey}\nquorum none\n`);
    // An attacker key whose (name, 4-byte key ID) equals the policy log's. Key IDs are 32 bits,
    // so a real vkey string like this is a 2^32 search away; the object skips the search.
    const attacker = ed25519Signer(log.origin, generateSeed());
    const forgedKey: VerifierKey = {
      name: log.origin,
      keyId: log.key.keyId,
      type: SIG_TYPE_ED25519,
      publicKey: attacker.publicKey,
    };
    const body = log.checkpointBody(8n).replace(/\n[^\n]+\n$/, `\n${'A'.repeat(43)}=\n`); // any root
    const note = formatNote({
      text: body,
      signatures: [
        { name: log.origin, keyId: log.key.keyId, signature: await attacker.sign(te.encode(body)) },
      ],
    });
    // The policy's own log key rejects this checkpoint...
    expect(codeOf(() => verifyCheckpoint(note, null, { policy }))).toBe('BAD_SIGNATURE');
    // ...but passing the look-alike key makes it verify "under the policy".
    expect(codeOf(() => verifyCheckpoint(note, forgedKey, { policy }))).toBe('UNKNOWN_KEY');
  });
});

describe('witnessQuorum and duplicate witness keys', () => {
  test('one witness key under two names (or twice) must not count twice', async () => {
    const seed = generateSeed();
    const a = ed25519Signer('w.example', seed);
    const b = ed25519Signer('w-alias.example', seed);
    const ka = verifierKey(a.name, a.publicKey, SIG_TYPE_COSIGNATURE_V1);
    const kb = verifierKey(b.name, b.publicKey, SIG_TYPE_COSIGNATURE_V1);
    const body = log.checkpointBody(8n);
    const note = addSignatures(await log.checkpoint(8n), [
      await cosign(body, a, 1_700_000_000n),
      await cosign(body, b, 1_700_000_000n),
    ]);
    // parsePolicy refuses the same two witnesses (duplicate public key, tlog-policy)...
    expect(
      codeOf(() =>
        parsePolicy(
          `witness A ${formatVerifierKey(a.name, a.publicKey, SIG_TYPE_COSIGNATURE_V1)}\n` +
            `witness B ${formatVerifierKey(b.name, b.publicKey, SIG_TYPE_COSIGNATURE_V1)}\n` +
            'group Q 2 A B\nquorum Q\n',
        ),
      ),
    ).toBe('BAD_REQUEST');
    // ...witnessQuorum accepts them, and one witness then meets a 2-of-2 quorum.
    expect(codeOf(() => witnessQuorum(2, [ka, kb]))).toBe('BAD_REQUEST');
    expect(codeOf(() => witnessQuorum(2, [w1.key, w1.key]))).toBe('BAD_REQUEST');
    expect(codeOf(() => verifyCheckpoint(note, log.vkey, { policy: witnessQuorum(2, [ka, kb]) }))).not.toBe(
      'none',
    );
  });
});

describe('tlog-policy group membership', () => {
  test('a name listed as a member of two groups is refused ("at most once")', async () => {
    const text = [
      `log ${log.vkey}`,
      `witness A ${w1.vkey}`,
      `witness B ${w2.vkey}`,
      `witness C ${w3.vkey}`,
      'group G1 any A B',
      'group G2 any A C',
      'group Q all G1 G2',
      'quorum Q',
      '',
    ].join('\n');
    expect(codeOf(() => parsePolicy(text))).toBe('BAD_REQUEST');
    // Impact today: a single witness (A) satisfies "all of G1, G2".
    const r = await log.receipt(3n, 8n, [w1]);
    expect(codeOf(() => verifyReceipt(r, null, { policy: parsePolicy(text) }))).not.toBe('none');
  });
});
