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
  const out = { s: '' };
  const problem = write(value, 0, out);
  if (problem !== null) {
    throw new AuditlogError('BAD_REQUEST', `${toPointer(problem.path) || '/'}: ${problem.reason}`);
  }
  return out.s;
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  const s = canonicalJson(value);
  // Node's UTF-8 encoder into a buffer of its own (not the shared small-buffer pool).
  const b = Buffer.allocUnsafeSlow(Buffer.byteLength(s, 'utf8'));
  b.write(s, 'utf8');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Deepest nesting accepted anywhere (objects and arrays both count). */
export const MAX_DEPTH = 32;

/** Where a value fails to be canonicalizable JSON: the member names / indexes leading there. */
export interface JsonProblem {
  path: string[];
  reason: string;
}

/**
 * Returns the first reason `value` cannot be canonicalized (members in document order), or
 * null if it can.
 */
export function findJsonProblem(value: unknown): JsonProblem | null {
  return write(value, 0, null);
}

/**
 * Appends the encoding of `value` (at nesting `depth`) to `out.s`, if given. The path of a
 * problem is built only on the way back from one (each level puts its member name or index in
 * front), so the usual walk allocates nothing but the output.
 */
function write(value: unknown, depth: number, out: { s: string } | null): JsonProblem | null {
  if (depth > MAX_DEPTH) return { path: [], reason: 'nested too deeply' };
  if (value === null || typeof value === 'boolean') {
    if (out) out.s += value === null ? 'null' : value ? 'true' : 'false';
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { path: [], reason: 'not a finite number' };
    // Number.prototype.toString is the ECMAScript serialization RFC 8785 prescribes (-0 gives "0").
    if (out) out.s += String(value);
  } else if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) return { path: [], reason: 'string has a lone surrogate' };
    if (out) out.s += JSON.stringify(value);
  } else if (Array.isArray(value)) {
    if (out) out.s += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0 && out) out.s += ',';
      const p = write(value[i], depth + 1, out);
      if (p !== null) {
        p.path.unshift(String(i));
        return p;
      }
    }
    if (out) out.s += ']';
  } else if (isPlainObject(value)) {
    // The default sort compares UTF-16 code units, the order RFC 8785 prescribes. A walk that
    // only checks (no output) takes the members as they come: it reports the first problem in
    // document order, and sorting every object's names was a seventh of what ingesting a record
    // allocated on the server's main thread (~7.5 of ~54 KB).
    const names = out ? Object.keys(value).sort() : Object.keys(value);
    if (out) out.s += '{';
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      let q = quoted.get(name);
      if (q === undefined) {
        if (LONE_SURROGATE.test(name)) return { path: [name], reason: 'member name has a lone surrogate' };
        // Valid JSON, but JavaScript object handling (and so validation) would drop or misread it.
        if (name === '__proto__') return { path: [name], reason: 'reserved member name' };
        q = JSON.stringify(name);
        if (quoted.size < 4096 && name.length <= 64) quoted.set(name, q);
      }
      if (out) out.s += i > 0 ? `,${q}:` : `${q}:`;
      const p = write(value[name], depth + 1, out);
      if (p !== null) {
        p.path.unshift(name);
        return p;
      }
    }
    if (out) out.s += '}';
  } else {
    return { path: [], reason: 'not a JSON value' };
  }
  return null;
}

// Quoted member names by name (bounded): names repeat from record to record, and only names
// that passed the checks above are kept, so a hit needs no check.
const quoted = new Map<string, string>();

const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Lone-surrogate test with a fast path for the usual string without any surrogate. */
const LONE_SURROGATE = { test: (s: string) => ANY_SURROGATE.test(s) && LONE_SURROGATE_RE.test(s) };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** RFC 6901 JSON Pointer of a path of member names and array indexes. */
export function toPointer(path: readonly string[]): string {
  return path.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * The member names and array indexes of a JSON Pointer (RFC 6901), the inverse of
 * {@link toPointer}; null for a pointer that it would never produce: one not empty and not
 * starting with `/`, one with a `~` not followed by `0` or `1`, or one with a `__proto__` token
 * (no record may have such a member, and a walk that steps into it reaches Object.prototype).
 * A walk over the tokens must still step only into own members.
 * @example pointerTokens('/details/a~1b') -> ['details', 'a/b']
 */
export function pointerTokens(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    if (/~(?![01])/.test(raw)) return null;
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (token === '__proto__') return null;
    tokens.push(token);
  }
  return tokens;
}
