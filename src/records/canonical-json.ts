import { AuditlogError } from '../errors.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme) serialization of a JSON value.
 *
 * Object members are sorted by the UTF-16 code units of their names, numbers use the
 * ECMAScript shortest round-trip form (`-0` becomes `0`), strings use the JSON.stringify
 * escapes (which are exactly those of RFC 8785 section 3.2.2.2), and no whitespace is emitted.
 *
 * Precondition: `value` is a tree of plain objects, arrays, strings, finite numbers, booleans
 * and null, with well-formed strings (no lone surrogates), at most `MAX_DEPTH` deep.
 * @throws AuditlogError('BAD_REQUEST') for anything else, naming the JSON Pointer of the problem.
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const problem = write(value, [], out);
  if (problem !== null) {
    throw new AuditlogError('BAD_REQUEST', `${toPointer(problem.path) || '/'}: ${problem.reason}`);
  }
  return out.join('');
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/** Deepest nesting accepted anywhere (objects and arrays both count). */
export const MAX_DEPTH = 32;

/** Where a value fails to be canonicalizable JSON: the member names / indexes leading there. */
export interface JsonProblem {
  path: string[];
  reason: string;
}

/** Returns the first reason `value` cannot be canonicalized, or null if it can. */
export function findJsonProblem(value: unknown): JsonProblem | null {
  return write(value, [], null);
}

function write(value: unknown, path: string[], out: string[] | null): JsonProblem | null {
  if (path.length > MAX_DEPTH) return { path, reason: 'nested too deeply' };
  if (value === null || typeof value === 'boolean') {
    out?.push(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { path, reason: 'not a finite number' };
    out?.push(JSON.stringify(value));
  } else if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) return { path, reason: 'string has a lone surrogate' };
    out?.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out?.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out?.push(',');
      const p = write(value[i], [...path, String(i)], out);
      if (p !== null) return p;
    }
    out?.push(']');
  } else if (isPlainObject(value)) {
    const names = Object.keys(value).sort();
    out?.push('{');
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const child = [...path, name];
      if (LONE_SURROGATE.test(name)) return { path: child, reason: 'member name has a lone surrogate' };
      if (i > 0) out?.push(',');
      out?.push(JSON.stringify(name), ':');
      const p = write(value[name], child, out);
      if (p !== null) return p;
    }
    out?.push('}');
  } else {
    return { path, reason: 'not a JSON value' };
  }
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** RFC 6901 JSON Pointer of a path of member names and array indexes. */
export function toPointer(path: readonly string[]): string {
  return path.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
