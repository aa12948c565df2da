import { AuditlogError } from '../errors.js';

/**
 * Parses a request body as JSON, refusing what JSON.parse would silently accept: a member
 * name repeated in one object (JSON.parse keeps the last; another parser may keep the first,
 * and a record must mean one thing to every reader — I-JSON, RFC 7493 section 2.3).
 * @throws AuditlogError('BAD_REQUEST') on invalid JSON or a duplicate member, naming it.
 */
export function parseStrictJson(text: string): unknown {
  // JSON.parse of megabytes of brackets holds the event loop for seconds; a body that large is
  // scanned for its depth first. Smaller bodies parse in milliseconds whatever their shape.
  if (text.length > DEPTH_SCAN_FROM && nestedDeeperThan(text, MAX_NESTING)) {
    throw new AuditlogError('BAD_REQUEST', `body is nested deeper than ${MAX_NESTING} levels`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'body is not valid JSON');
  }
  // Fast path: a repeated member name is the only way the text can name more members than
  // the parsed value holds (JSON.parse keeps one of each, "__proto__" included as an own
  // member), so equal counts prove there is none; only a mismatch pays for the full scan.
  if (countMemberNames(text) === countMembers(value)) return value;
  const dup = findDuplicateMember(text);
  if (dup !== null)
    throw new AuditlogError(
      'BAD_REQUEST',
      `${dup.path || '(body)'}: duplicate member ${JSON.stringify(dup.name)}`,
    );
  return value;
}

/** Deepest nesting of arrays and objects a JSON body may have (records allow 32 inside a batch). */
export const MAX_NESTING = 64;
/** Bodies longer than this (in UTF-16 code units) are scanned for their depth before parsing. */
export const DEPTH_SCAN_FROM = 65536;

/**
 * Whether `text` opens more than `max` arrays or objects inside one another, counting brackets
 * outside strings. Requires nothing of `text` (it runs before JSON.parse): on invalid JSON the
 * answer may be wrong either way, and JSON.parse then refuses the text anyway.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string; an unterminated one ends the scan.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Member names in valid JSON `text`: strings followed, after optional whitespace, by ':'. */
export function countMemberNames(text: string): number {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) {
    let j = i + 1;
    for (let d = text.charCodeAt(j); d !== 0x22; d = text.charCodeAt(j)) j += d === 0x5c ? 2 : 1;
    let k = j + 1;
    for (
      let d = text.charCodeAt(k);
      d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09;
      d = text.charCodeAt(k)
    )
      k++;
    if (text.charCodeAt(k) === 0x3a) n++;
    i = j;
  }
  return n;
}

/**
 * Own members of every object in a parsed JSON value; NaN below `maxDepth` levels of nesting
 * (so the caller falls back to the iterative scan instead of overflowing the stack).
 */
export function countMembers(value: unknown, maxDepth = 64): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (maxDepth === 0) return Number.NaN;
  let n = 0;
  if (Array.isArray(value)) {
    for (const v of value) n += countMembers(v, maxDepth - 1);
    return n;
  }
  for (const k in value) {
    n++;
    n += countMembers((value as Record<string, unknown>)[k], maxDepth - 1);
  }
  return n;
}

/**
 * The first member name repeated within one object of `text`, with the dotted path of that
 * object; null if none. Requires `text` to be valid JSON (call after JSON.parse succeeded).
 */
export function findDuplicateMember(text: string): { name: string; path: string } | null {
  // One frame per open object or array: its member names so far, and what comes next.
  const stack: { keys: Set<string> | null; expectKey: boolean; name: string; index: number }[] = [];
  let lastKey = '';
  const pathOf = () =>
    stack
      .slice(1)
      .map((f) => f.name)
      .join('.');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(j); d !== 0x22; d = text.charCodeAt(j)) {
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else j++;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        // Only a name with escapes needs decoding; the usual one is its own text.
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.has(key)) return { name: key, path: pathOf() };
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      const top = stack[stack.length - 1];
      const name = top === undefined ? '' : top.keys ? lastKey : String(top.index);
      stack.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b, name, index: 0 });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return null;
}
