import { createHash, verify as nodeVerify } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  type Checkpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCanonicalUint64,
  parseCheckpoint,
  signCheckpoint,
} from '../../src/note/checkpoint.js';
import { cosign, verifyCosignature } from '../../src/note/cosignature.js';
import { encodeBase64 } from '../../src/note/encoding.js';
import { SIG_TYPE_COSIGNATURE_V1, verifierKey } from '../../src/note/keys.js';
import { addSignatures, parseNote, verifyNote } from '../../src/note/note.js';
import { ed25519Signer, generateSeed, withLatency } from '../../src/note/signer.js';
import {
  decodeDigitallySigned,
  encodeDigitallySigned,
  signTreeHead,
  treeHeadSignatureInput,
  verifyTreeHead,
} from '../../src/note/sth.js';
import { codeOf } from '../helpers/errors.js';

const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const root = createHash('sha256').update('root').digest();

describe('checkpoint body', () => {
  test('parses the tlog-checkpoint example and formats it back', () => {
    const c = parseCheckpoint(SPEC_BODY);
    expect(c.origin).toBe('example.com/behind-the-sofa');
    expect(c.size).toBe(20852163n);
    expect(c.root).toHaveLength(32);
    expect(c.extensions).toEqual([]);
    expect(formatCheckpoint(c)).toBe(SPEC_BODY);
  });

  test('round trip with extensions and the uint64 bounds', () => {
    for (const size of [0n, 1n, 2n ** 64n - 1n]) {
      const c: Checkpoint = { origin: 'o.example/log', size, root, extensions: ['ext one', 'x'] };
      expect(parseCheckpoint(formatCheckpoint(c))).toEqual({ ...c, root: new Uint8Array(root) });
    }
  });

  const b64 = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
  const malformed: [string, string][] = [
    ['empty', ''],
    ['no final newline', SPEC_BODY.slice(0, -1)],
    ['two lines', 'o\n1\n'],
    ['empty origin', `\n1\n${b64}\n`],
    ['size leading zero', `o\n010\n${b64}\n`],
    ['size plus', `o\n+10\n${b64}\n`],
    ['size minus', `o\n-1\n${b64}\n`],
    ['size hex', `o\n0x10\n${b64}\n`],
    ['size empty', `o\n\n${b64}\n`],
    ['size with space', `o\n 1\n${b64}\n`],
    ['size 2^64', `o\n18446744073709551616\n${b64}\n`],
    ['size exponent', `o\n1e3\n${b64}\n`],
    ['size unicode digit', `o\n\u0661\n${b64}\n`],
    ['root 31 bytes', `o\n1\n${encodeBase64(new Uint8Array(31))}\n`],
    ['root 33 bytes', `o\n1\n${encodeBase64(new Uint8Array(33))}\n`],
    ['root unpadded', `o\n1\n${b64.slice(0, -1)}\n`],
    ['root non-canonical bits', `o\n1\n${b64.slice(0, -2)}3=\n`],
    ['root base64url', `o\n1\n${b64.replace('/', '_')}\n`],
    ['empty extension line', `o\n1\n${b64}\n\next\n`],
    ['trailing empty line', `o\n1\n${b64}\n\n`],
    ['carriage return', `o\r\n1\n${b64}\n`],
    ['control character in origin', `o\u0001\n1\n${b64}\n`],
  ];
  test.each(malformed)('rejects checkpoint: %s', (_, body) => {
    expect(codeOf(() => parseCheckpoint(body))).toBe('BAD_CHECKPOINT');
  });

  test('canonical uint64', () => {
    expect(parseCanonicalUint64('0')).toBe(0n);
    expect(parseCanonicalUint64('18446744073709551615')).toBe(2n ** 64n - 1n);
    for (const s of [
      '',
      '00',
      '01',
      '-0',
      '+1',
      '1.0',
      '18446744073709551616',
      '99999999999999999999',
      ' 1',
    ]) {
      expect(parseCanonicalUint64(s)).toBeNull();
    }
  });
});

describe('signed checkpoints', () => {
  const logSigner = ed25519Signer('log.example/test', generateSeed());
  const logKey = verifierKey(logSigner.name, logSigner.publicKey);
  const c: Checkpoint = { origin: 'log.example/test', size: 7n, root, extensions: [] };

  test('sign and open', async () => {
    const n = await signCheckpoint(c, logSigner);
    const { checkpoint } = openCheckpoint(n, logKey);
    expect(checkpoint.size).toBe(7n);
    expect(Buffer.from(checkpoint.root)).toEqual(root);
  });

  test('origin must equal the log key name', async () => {
    const other = ed25519Signer('other.example', generateSeed());
    const n = await signCheckpoint(c, other);
    expect(codeOf(() => openCheckpoint(n, verifierKey(other.name, other.publicKey)))).toBe('BAD_CHECKPOINT');
  });

  test('a checkpoint signed by another key is UNKNOWN_KEY; a tampered one BAD_SIGNATURE', async () => {
    const other = ed25519Signer('log.example/test', generateSeed());
    const byOther = await signCheckpoint(c, other);
    expect(codeOf(() => openCheckpoint(byOther, logKey))).toBe('UNKNOWN_KEY');
    const good = await signCheckpoint(c, logSigner);
    const tampered = good.replace('\n7\n', '\n8\n');
    expect(codeOf(() => openCheckpoint(tampered, logKey))).toBe('BAD_SIGNATURE');
    const asWitness = verifierKey(logKey.name, logKey.publicKey, SIG_TYPE_COSIGNATURE_V1);
    expect(codeOf(() => openCheckpoint(good, asWitness))).toBe('BAD_KEY');
  });

  test('withLatency still signs correctly', async () => {
    const n = await signCheckpoint(c, withLatency(logSigner, 5));
    expect(openCheckpoint(n, logKey).checkpoint.size).toBe(7n);
  });

  test('every flipped bit of a signed checkpoint is rejected', async () => {
    const n = new TextEncoder().encode(await signCheckpoint(c, logSigner));
    // One assertion over all flips (thousands of expect calls cost more than the checks).
    const accepted: string[] = [];
    let tried = 0;
    for (let i = 0; i < n.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = n.slice();
        m[i]! ^= 1 << bit;
        tried++;
        if (codeOf(() => openCheckpoint(new TextDecoder().decode(m), logKey)) === 'none')
          accepted.push(`byte ${i} bit ${bit}`);
      }
    }
    expect(tried).toBe(n.length * 8);
    expect(accepted, 'flips that were accepted').toEqual([]);
  });
});

describe('cosignatures', () => {
  test('the tlog-cosignature example parses: key id, 72 bytes, timestamp 1679315147', () => {
    const example = `${SPEC_BODY}\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n`;
    const n = parseNote(example);
    expect(n.text).toBe(SPEC_BODY);
    const w = n.signatures[1]!;
    expect(w.name).toBe('witness.example.com/w1');
    expect(Buffer.from(w.keyId).toString('hex')).toBe('8d66cf3f');
    expect(w.signature).toHaveLength(72);
    expect(Buffer.from(w.signature.subarray(0, 8)).readBigUInt64BE()).toBe(1679315147n);
  });

  const logSigner = ed25519Signer('log.example/test', generateSeed());
  const witness = ed25519Signer('witness.example/w1', generateSeed());
  const witnessKey = verifierKey(witness.name, witness.publicKey, SIG_TYPE_COSIGNATURE_V1);
  const body = formatCheckpoint({ origin: 'log.example/test', size: 3n, root, extensions: [] });

  test('cosign, cross-checked against node:crypto over the spec message', async () => {
    const sig = await cosign(body, witness, 1679315147n);
    expect(sig.signature).toHaveLength(72);
    expect(Buffer.from(sig.signature.subarray(0, 8)).readBigUInt64BE()).toBe(1679315147n);
    const want = createHash('sha256')
      .update('witness.example/w1\n')
      .update(Buffer.of(4))
      .update(witness.publicKey)
      .digest()
      .subarray(0, 4);
    expect(Buffer.from(sig.keyId)).toEqual(want);
    const msg = Buffer.from(`cosignature/v1\ntime 1679315147\n${body}`);
    const spki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      Buffer.from(witness.publicKey),
    ]);
    expect(nodeVerify(null, msg, { key: spki, format: 'der', type: 'spki' }, sig.signature.subarray(8))).toBe(
      true,
    );
    expect(verifyCosignature(body, sig, witnessKey)).toEqual({ timestamp: 1679315147n });
  });

  test('a cosigned checkpoint verifies with the log key and the witness key', async () => {
    const n = addSignatures(await signCheckpoint(parseCheckpoint(body), logSigner), [
      await cosign(body, witness, 100n),
    ]);
    const logKey = verifierKey(logSigner.name, logSigner.publicKey);
    expect(verifyNote(n, [logKey, witnessKey]).verified).toEqual([logKey, witnessKey]);
    expect(parseNote(n).signatures).toHaveLength(2);
  });

  test('rejections', async () => {
    const sig = await cosign(body, witness, 5n);
    const flipped = { ...sig, signature: sig.signature.slice() };
    flipped.signature[7]! ^= 1; // the timestamp is signed
    expect(codeOf(() => verifyCosignature(body, flipped, witnessKey))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyCosignature(body.replace('3\n', '4\n'), sig, witnessKey))).toBe(
      'BAD_SIGNATURE',
    );
    const short = { ...sig, signature: sig.signature.subarray(0, 71) };
    expect(codeOf(() => verifyCosignature(body, short, witnessKey))).toBe('BAD_SIGNATURE');
    const huge = { ...sig, signature: sig.signature.slice() };
    huge.signature[0] = 0x80;
    expect(codeOf(() => verifyCosignature(body, huge, witnessKey))).toBe('BAD_SIGNATURE');
    const plainKey = verifierKey(witness.name, witness.publicKey);
    expect(codeOf(() => verifyCosignature(body, sig, plainKey))).toBe('BAD_KEY');
    const otherKey = verifierKey('witness.example/w2', witness.publicKey, SIG_TYPE_COSIGNATURE_V1);
    expect(codeOf(() => verifyCosignature(body, sig, otherKey))).toBe('UNKNOWN_KEY');
    await expect(cosign(body, witness, 2n ** 63n)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(cosign(body, witness, -1n)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('RFC 6962 tree head signatures', () => {
  test('TreeHeadSignature input layout', () => {
    const input = treeHeadSignatureInput(0x0102030405060708n, 0x1112131415161718n, root);
    expect(Buffer.from(input.subarray(0, 18)).toString('hex')).toBe('000101020304050607081112131415161718');
    expect(Buffer.from(input.subarray(18))).toEqual(root);
    expect(input).toHaveLength(50);
    expect(codeOf(() => treeHeadSignatureInput(-1n, 0n, root))).toBe('BAD_REQUEST');
    expect(codeOf(() => treeHeadSignatureInput(0n, 2n ** 64n, root))).toBe('BAD_REQUEST');
    expect(codeOf(() => treeHeadSignatureInput(0n, 0n, root.subarray(1)))).toBe('BAD_REQUEST');
  });

  test('sign, encode, decode, verify', async () => {
    const s = ed25519Signer('log.example/test', generateSeed());
    const ds = await signTreeHead(s, 1000n, 5n, root);
    expect(Buffer.from(ds.subarray(0, 4)).toString('hex')).toBe('08070040');
    expect(decodeDigitallySigned(ds)).toHaveLength(64);
    verifyTreeHead(s.publicKey, 1000n, 5n, root, ds);
    expect(codeOf(() => verifyTreeHead(s.publicKey, 1001n, 5n, root, ds))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyTreeHead(s.publicKey, 1000n, 6n, root, ds))).toBe('BAD_SIGNATURE');
  });

  const sig = new Uint8Array(64).fill(1);
  const good = encodeDigitallySigned(sig);
  const malformed: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['header only', good.subarray(0, 4)],
    ['ecdsa scheme', Uint8Array.from([0x04, 0x03, ...good.subarray(2)])],
    ['short signature', good.subarray(0, good.length - 1)],
    ['trailing garbage', Uint8Array.from([...good, 0])],
    ['length 63', Uint8Array.from([0x08, 0x07, 0x00, 0x3f, ...sig.subarray(1)])],
  ];
  test.each(malformed)('rejects DigitallySigned: %s', (_, b) => {
    expect(codeOf(() => decodeDigitallySigned(b))).toBe('BAD_SIGNATURE');
  });
});
