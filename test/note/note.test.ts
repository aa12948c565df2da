import { describe, expect, test } from 'vitest';
import {
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  verifierKey,
} from '../../src/note/keys.js';
import {
  addSignatures,
  formatNote,
  MAX_SIGNATURES,
  parseNote,
  parseNoteBytes,
  signNote,
  verifyNote,
} from '../../src/note/note.js';
import { ed25519Signer, generateSeed } from '../../src/note/signer.js';
import { codeOf } from '../helpers/errors.js';

const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

describe('known answers', () => {
  test('verifies the C2SP example note', () => {
    const { note, verified } = verifyNote(C2SP_NOTE, [parseVerifierKey(C2SP_VKEY)]);
    expect(note.text).toBe('This is an example message.\n');
    expect(verified.map((v) => v.name)).toEqual(['example.com/foo']);
  });

  test('signs the Go example byte for byte (Ed25519 is deterministic) and verifies it', async () => {
    const { name, seed } = parseSignerKey(GO_SKEY);
    expect(await signNote(GO_TEXT, [ed25519Signer(name, seed)])).toBe(GO_NOTE);
    expect(verifyNote(GO_NOTE, [parseVerifierKey(GO_VKEY)]).verified).toHaveLength(1);
  });
});

describe('signer key IDs (computed once per signer)', () => {
  test('a signer signing again keeps its key ID; one whose name or key object changes gets the new ID', async () => {
    const seed = generateSeed();
    const base = ed25519Signer('a.example', seed);
    const other = ed25519Signer('b.example', generateSeed());
    // A signer object whose fields change (the interface says readonly; a careless KMS wrapper may not).
    const s: { name: string; publicKey: Uint8Array; sign: (m: Uint8Array) => Promise<Uint8Array> } = {
      ...base,
    };
    const vkey = (x: { name: string; publicKey: Uint8Array }) => verifierKey(x.name, x.publicKey);
    for (let i = 0; i < 2; i++)
      expect(verifyNote(await signNote('t\n', [s]), [vkey(base)]).verified).toHaveLength(1);
    s.name = 'c.example';
    expect(verifyNote(await signNote('t\n', [s]), [vkey(s)]).verified).toHaveLength(1);
    s.name = other.name;
    s.publicKey = other.publicKey;
    s.sign = other.sign;
    expect(verifyNote(await signNote('t\n', [s]), [vkey(other)]).verified).toHaveLength(1);
  });
});

describe('parse and format', () => {
  test('round trip keeps unknown signatures and their order', async () => {
    const a = ed25519Signer('a.example', generateSeed());
    const b = ed25519Signer('b.example', generateSeed());
    const s = await signNote('line one\n\nline three after a blank line\n', [a, b]);
    const n = parseNote(s);
    expect(n.text).toBe('line one\n\nline three after a blank line\n');
    expect(n.signatures.map((x) => x.name)).toEqual(['a.example', 'b.example']);
    expect(formatNote(n)).toBe(s);
    expect(parseNoteBytes(new TextEncoder().encode(s))).toEqual(n);
  });

  test('accepts MAX_SIGNATURES signatures and at least the 16 the spec requires', () => {
    expect(MAX_SIGNATURES).toBeGreaterThanOrEqual(16);
    const sig = (i: number) => `— k${i}.example AAAAAAA=\n`;
    const s = `t\n\n${Array.from({ length: MAX_SIGNATURES }, (_, i) => sig(i)).join('')}`;
    expect(parseNote(s).signatures).toHaveLength(MAX_SIGNATURES);
    expect(codeOf(() => parseNote(`${s}${sig(MAX_SIGNATURES)}`))).toBe('BAD_NOTE');
  });

  const sigLine = GO_NOTE.slice(GO_TEXT.length + 1);
  const malformed: [string, string][] = [
    ['empty', ''],
    ['no blank line', `${GO_TEXT}${sigLine}`],
    ['no signatures', `${GO_TEXT}\n`],
    ['missing final newline', GO_NOTE.slice(0, -1)],
    ['trailing blank line', `${GO_NOTE}\n`],
    ['hyphen instead of em dash', GO_NOTE.replace('—', '-')],
    ['no space after dash', GO_NOTE.replace('— ', '—')],
    ['two spaces after dash', GO_NOTE.replace('— ', '—  ')],
    ['missing signature', GO_NOTE.replace(/ x08go.*\n$/, '\n')],
    ['space in signature', GO_NOTE.replace('x08go/', 'x08go/ ')],
    ['non-canonical base64 padding', GO_NOTE.replace('AM=\n', 'AM\n')],
    ['non-canonical base64 trailing bits', GO_NOTE.replace('AM=\n', 'AN=\n')],
    ['signature of 4 bytes', `${GO_TEXT}\n— PeterNeumann AAAAAA==\n`],
    ['name with plus', GO_NOTE.replace('PeterNeumann', 'Peter+Neumann')],
    ['carriage return', GO_NOTE.replace('problem,\n', 'problem,\r\n')],
    ['tab in text', GO_NOTE.replace('If you', 'If\tyou')],
    ['NUL in text', GO_NOTE.replace('If you', 'If\u0000you')],
    ['lone surrogate', GO_NOTE.replace('If you', 'If\ud800you')],
    ['too large', `${'x'.repeat(300 * 1024)}\n${GO_NOTE}`],
  ];
  test.each(malformed)('rejects note: %s', (_, s) => {
    expect(codeOf(() => parseNote(s))).toBe('BAD_NOTE');
  });

  test('rejects invalid UTF-8 bytes', () => {
    const b = new TextEncoder().encode(GO_NOTE);
    b[3] = 0xff;
    expect(codeOf(() => parseNoteBytes(b))).toBe('BAD_NOTE');
  });

  test('refuses to sign text without a final newline or with control characters', async () => {
    const s = ed25519Signer('a.example', generateSeed());
    await expect(signNote('no newline', [s])).rejects.toMatchObject({ code: 'BAD_NOTE' });
    await expect(signNote('cr\r\n', [s])).rejects.toMatchObject({ code: 'BAD_NOTE' });
    await expect(signNote('x\n', [])).rejects.toMatchObject({ code: 'BAD_NOTE' });
  });
});

describe('verification', () => {
  const goKey = parseVerifierKey(GO_VKEY);

  test('two lines by one key: ignored when the key is unknown (C2SP), refused when it is known', () => {
    const twice = `${GO_NOTE}${GO_NOTE.slice(GO_TEXT.length + 1)}`;
    expect(parseNote(twice).signatures).toHaveLength(2);
    const other = verifierKey('other.example', ed25519Signer('other.example', generateSeed()).publicKey);
    expect(codeOf(() => verifyNote(twice, [other]))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => verifyNote(twice, [goKey]))).toBe('BAD_NOTE');
    expect(verifyNote(GO_NOTE, [goKey]).verified).toEqual([goKey]);
  });

  test('UNKNOWN_KEY when no signature is by a known key; unknown signatures are ignored', async () => {
    const other = ed25519Signer('other.example', generateSeed());
    const s = await signNote(GO_TEXT, [other]);
    expect(codeOf(() => verifyNote(s, [goKey]))).toBe('UNKNOWN_KEY');
    const both = addSignatures(GO_NOTE, parseNote(s).signatures);
    expect(verifyNote(both, [goKey]).verified).toEqual([goKey]);
    expect(verifyNote(both, [goKey]).note.signatures).toHaveLength(2);
  });

  test('same name but different key id is an unknown key, not a bad signature', async () => {
    const impostor = ed25519Signer('PeterNeumann', generateSeed());
    const s = await signNote(GO_TEXT, [impostor]);
    expect(codeOf(() => verifyNote(s, [goKey]))).toBe('UNKNOWN_KEY');
  });

  test('BAD_SIGNATURE when a known key signature fails, even if another known key verifies', async () => {
    const good = ed25519Signer('good.example', generateSeed());
    const s = await signNote(GO_TEXT, [good]);
    const forged = addSignatures(s, [
      { ...parseNote(GO_NOTE).signatures[0]!, signature: new Uint8Array(64) },
    ]);
    const goodKey = verifierKey(good.name, good.publicKey);
    expect(codeOf(() => verifyNote(forged, [goodKey, goKey]))).toBe('BAD_SIGNATURE');
  });

  test('any flipped bit in the body or the signature fails', () => {
    const bytes = new TextEncoder().encode(GO_NOTE);
    let tried = 0;
    // One assertion over all flips (thousands of expect calls cost more than the checks).
    const accepted: string[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = bytes.slice();
        m[i]! ^= 1 << bit;
        tried++;
        if (codeOf(() => verifyNote(new TextDecoder().decode(m), [goKey])) === 'none')
          accepted.push(`byte ${i} bit ${bit}`);
      }
    }
    expect(tried).toBe(bytes.length * 8);
    expect(accepted, 'flips that were accepted').toEqual([]);
  });

  test('a cosignature key (type 0x04) does not accept a plain Ed25519 signature by the same key', async () => {
    const s = ed25519Signer('w.example', generateSeed());
    const note = await signNote('x\n', [s]);
    const asWitness = verifierKey(s.name, s.publicKey, SIG_TYPE_COSIGNATURE_V1);
    expect(codeOf(() => verifyNote(note, [asWitness]))).toBe('UNKNOWN_KEY');
  });
});
