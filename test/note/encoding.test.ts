import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeBase64, decodeHex, encodeBase64, encodeHex } from '../../src/note/encoding.js';

describe('strict base64 and hex', () => {
  test('agree with Buffer on every byte string, and round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const s = encodeBase64(b);
        expect(s).toBe(Buffer.from(b).toString('base64'));
        expect(decodeBase64(s)).toEqual(b);
        expect(decodeHex(encodeHex(b))).toEqual(b);
      }),
    );
  });

  test.each([
    ['missing padding', 'AA'],
    ['extra padding', 'AA==='],
    ['padding in the middle', 'AA==AAAA'],
    ['non-zero trailing bits (1 byte)', 'AB=='],
    ['non-zero trailing bits (2 bytes)', 'AAB='],
    ['url alphabet', '-_=='],
    ['whitespace', 'AA ='],
    ['newline', 'AAAA\n'],
    ['non-ASCII', 'AAA\u00e9'],
    ['three = signs', 'A==='],
  ])('rejects base64: %s', (_, s) => {
    expect(() => decodeBase64(s)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  test.each([
    ['uppercase', 'AB'],
    ['odd', 'abc'],
    ['non-hex', 'zz'],
    ['prefix', '0x00'],
  ])('rejects hex: %s', (_, s) => {
    expect(() => decodeHex(s)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  test('hex length', () => {
    expect(() => decodeHex('00', 2)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
