import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateMember, parseStrictJson } from '../../src/records/strict-json.js';
import { errorCode } from './helpers.js';

describe('strict JSON bodies', () => {
  it('finds a repeated member name, with the path of its object', () => {
    expect(findDuplicateMember('{"a":1,"a":2}')).toEqual({ name: 'a', path: '' });
    expect(findDuplicateMember('{"x":{"b":[1,{"c":1}],"c":2,"b":3}}')).toEqual({ name: 'b', path: 'x' });
    expect(findDuplicateMember('{"r":[{"k":1},{"k":1,"k":2}]}')).toEqual({ name: 'k', path: 'r.1' });
    expect(findDuplicateMember('{"a\\u0062":1,"ab":2}')).toEqual({ name: 'ab', path: '' });
    expect(findDuplicateMember('{"ab":1,"x":{},"a\\u0062":2}')).toEqual({ name: 'ab', path: '' });
    expect(findDuplicateMember('{"a":"\\"a\\":","b":{"a":1}}')).toBeNull();
    expect(findDuplicateMember('[{"a":1},{"a":1}]')).toBeNull();
    expect(findDuplicateMember(' { "a" : { } , "b" : [ ] } ')).toBeNull();
  });

  it('never reports one for what JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(findDuplicateMember(JSON.stringify(v))).toBeNull();
        expect(findDuplicateMember(JSON.stringify(v, null, 2))).toBeNull();
      }),
    );
  });

  it('refuses invalid JSON and duplicates with BAD_REQUEST', async () => {
    expect(await errorCode(() => parseStrictJson('{'))).toBe('BAD_REQUEST');
    expect(await errorCode(() => parseStrictJson('{"user_id":"a","user_id":"b"}'))).toBe('BAD_REQUEST');
    expect(parseStrictJson('{"a":[1,2]}')).toEqual({ a: [1, 2] });
  });
});
