import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countMemberNames,
  countMembers,
  findDuplicateMember,
  parseStrictJson,
} from '../../src/records/strict-json.js';
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

  it('counts as many member names in the text as members in the parsed value, unless one repeats', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const parsed = JSON.parse(JSON.stringify(v));
        expect(countMemberNames(JSON.stringify(v))).toBe(countMembers(parsed));
        expect(countMemberNames(JSON.stringify(v, null, '\t'))).toBe(countMembers(parsed));
      }),
    );
    const dup = '{"a":{"b":1,"b" :2},"c":"\\":"}';
    expect(countMemberNames(dup)).toBe(4);
    expect(countMembers(JSON.parse(dup))).toBe(3);
    expect(countMembers(JSON.parse('{"__proto__":1,"a":[{"x":{}}]}'))).toBe(3);
    expect(countMembers(JSON.parse(`${'['.repeat(100)}{}${']'.repeat(100)}`))).toBeNaN();
  });

  it('finds a duplicate under nesting deeper than the fast path counts', async () => {
    const deep = `${'{"a":'.repeat(80)}{"k":1,"k":2}${'}'.repeat(80)}`;
    expect(await errorCode(() => parseStrictJson(deep))).toBe('BAD_REQUEST');
    const flat = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    expect(parseStrictJson(flat)).toBeDefined();
  });

  it('refuses invalid JSON and duplicates with BAD_REQUEST', async () => {
    expect(await errorCode(() => parseStrictJson('{'))).toBe('BAD_REQUEST');
    expect(await errorCode(() => parseStrictJson('{"user_id":"a","user_id":"b"}'))).toBe('BAD_REQUEST');
    expect(parseStrictJson('{"a":[1,2]}')).toEqual({ a: [1, 2] });
  });
});
