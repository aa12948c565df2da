import { createPublicKey } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { encodeBase64, encodeHex } from '../../src/note/encoding.js';
import {
  formatSignerKey,
  formatVerifierKey,
  keyId,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
} from '../../src/note/keys.js';
import { ed25519Signer, generateSeed } from '../../src/note/signer.js';
import { codeOf } from '../helpers/errors.js';

// Known answers: the example keys of golang.org/x/mod/sumdb/note and of c2sp.org/signed-note.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';

describe('verifier keys', () => {
  test('parses the C2SP and Go example vkeys', () => {
    const c = parseVerifierKey(C2SP_VKEY);
    expect(c.name).toBe('example.com/foo');
    expect(encodeHex(c.keyId)).toBe('530d903a');
    expect(c.type).toBe(1);
    const g = parseVerifierKey(GO_VKEY);
    expect(encodeHex(g.keyId)).toBe('c74f20a3');
  });

  test('the Go signer key derives the Go verifier key', () => {
    const { name, seed } = parseSignerKey(GO_SKEY);
    expect(name).toBe('PeterNeumann');
    const signer = ed25519Signer(name, seed);
    expect(formatVerifierKey(name, signer.publicKey)).toBe(GO_VKEY);
    expect(formatSignerKey(name, seed)).toBe(GO_SKEY);
  });

  test('key id is SHA-256(name || 0x0A || type || key)[:4], cross-checked with node:crypto', async () => {
    const { createHash } = await import('node:crypto');
    const seed = generateSeed();
    const s = ed25519Signer('log.example/a', seed);
    const spki = createPublicKey(
      (await import('node:crypto')).createPrivateKey({
        key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]),
        format: 'der',
        type: 'pkcs8',
      }),
    ).export({ format: 'der', type: 'spki' });
    expect(encodeHex(s.publicKey)).toBe(spki.subarray(-32).toString('hex'));
    for (const type of [1, 4]) {
      const want = createHash('sha256')
        .update('log.example/a\n')
        .update(Buffer.of(type))
        .update(s.publicKey)
        .digest()
        .subarray(0, 4);
      expect(encodeHex(keyId('log.example/a', type, s.publicKey))).toBe(want.toString('hex'));
    }
  });

  test('round trips, both types', () => {
    for (let i = 0; i < 20; i++) {
      const s = ed25519Signer(`w${i}.example`, generateSeed());
      for (const type of [1, SIG_TYPE_COSIGNATURE_V1]) {
        const v = formatVerifierKey(s.name, s.publicKey, type);
        const p = parseVerifierKey(v);
        expect(p.type).toBe(type);
        expect(formatVerifierKey(p.name, p.publicKey, p.type)).toBe(v);
      }
      const seed = generateSeed();
      expect(parseSignerKey(formatSignerKey('n', seed)).seed).toEqual(seed);
    }
  });

  const [name, id, key] = ['PeterNeumann', 'c74f20a3', 'ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'];
  // An identity-point public key (small order): 0x01 followed by y = 1.
  const smallOrder = encodeBase64(Uint8Array.from([1, 1, ...new Array(31).fill(0)]));
  const nonCanonical = encodeBase64(Uint8Array.from([1, 0xee, ...new Array(30).fill(0xff), 0x7f]));
  const malformed: [string, string][] = [
    ['empty', ''],
    ['two parts', `${name}+${id}`],
    ['empty name', `+${id}+${key}`],
    ['name with space', `Peter Neumann+${id}+${key}`],
    ['name with NBSP', `Peter\u00a0Neumann+${id}+${key}`],
    ['name with newline', `Peter\nNeumann+${id}+${key}`],
    ['uppercase hex id', `${name}+C74F20A3+${key}`],
    ['short hex id', `${name}+c74f20a+${key}`],
    ['long hex id', `${name}+c74f20a300+${key}`],
    ['wrong key id', `${name}+c74f20a4+${key}`],
    ['base64 without padding', `${name}+${id}+${key.slice(0, -1)}`],
    ['base64 non-canonical trailing bits', `${name}+${id}+${key.slice(0, -1)}X`],
    ['base64 whitespace', `${name}+${id}+ ${key}`],
    ['key too short', `${name}+${id}+${encodeBase64(Uint8Array.from([1, ...new Array(31).fill(7)]))}`],
    ['trailing garbage', `${name}+${id}+${key}AAAA`],
    ['unknown type 0x02', `${name}+${id}+${encodeBase64(Uint8Array.from([2, ...new Array(32).fill(9)]))}`],
    [
      'small-order key',
      `${name}+${encodeHex(keyId(name, 1, Uint8Array.from([1, ...new Array(31).fill(0)])))}+${smallOrder}`,
    ],
    ['non-canonical key', `${name}+${id}+${nonCanonical}`],
  ];
  test.each(malformed)('rejects vkey: %s', (_, vkey) => {
    expect(codeOf(() => parseVerifierKey(vkey))).toBe('BAD_KEY');
  });

  test('every single-character mangling of the Go vkey is rejected', () => {
    const b = Buffer.from(GO_VKEY);
    for (let i = 0; i < b.length; i++) {
      const m = Buffer.from(b);
      m[i] = (m[i]! + 1) & 0x7f;
      expect(codeOf(() => parseVerifierKey(m.toString('latin1')))).toBe('BAD_KEY');
    }
  });

  const skeyMalformed: [string, string][] = [
    ['no PRIVATE', GO_SKEY.slice('PRIVATE+'.length)],
    ['lowercase private', GO_SKEY.replace('PRIVATE', 'private')],
    ['wrong id', GO_SKEY.replace('c74f20a3', 'c74f20a4')],
    ['truncated', GO_SKEY.slice(0, -4)],
    ['vkey instead', GO_VKEY],
  ];
  test.each(skeyMalformed)('rejects signer key: %s', (_, s) => {
    expect(codeOf(() => parseSignerKey(s))).toBe('BAD_KEY');
  });
});
