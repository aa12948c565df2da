import { describe, expect, it } from 'vitest';
import { canonicalJson, findJsonProblem, toPointer } from '../../src/records/canonical-json.js';

describe('canonicalJson (RFC 8785)', () => {
  it('matches the RFC 8785 section 3.2.3 example', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts member names by UTF-16 code units (RFC 8785 section 3.2.3 sorting example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Object.keys would reorder "1" first (integer-like names), so read the order from the text.
    const out = canonicalJson(input);
    const order = ['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((n) =>
      out.indexOf(`"${n}":`),
    );
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('serializes numbers as in RFC 8785 appendix B', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [9007199254740992, '9007199254740992'],
      [1e21, '1e+21'],
      [999999999999999900000, '999999999999999900000'],
      [0.000001, '0.000001'],
      [1e-7, '1e-7'],
    ];
    for (const [n, s] of cases) expect(canonicalJson(n)).toBe(s);
  });

  it('refuses values that are not canonical JSON, naming the pointer', () => {
    const bad: [unknown, string][] = [
      [{ a: [1, Number.NaN] }, '/a/1: not a finite number'],
      [{ a: Infinity }, '/a: not a finite number'],
      [{ 'x/y': '\ud800' }, '/x~1y: string has a lone surrogate'],
      [{ a: undefined }, '/a: not a JSON value'],
      [{ a: 1n }, '/a: not a JSON value'],
      [{ d: new Date(0) }, '/d: not a JSON value'],
      [{ '\udc00': 1 }, '/\udc00: member name has a lone surrogate'],
    ];
    for (const [v, msg] of bad) {
      expect(() => canonicalJson(v)).toThrowError(msg);
      expect(findJsonProblem(v)).not.toBeNull();
    }
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(findJsonProblem(deep)?.reason).toBe('nested too deeply');
  });

  it('escapes JSON Pointer tokens per RFC 6901', () => {
    expect(toPointer(['details', 'a/b~c'])).toBe('/details/a~1b~0c');
  });
});
