/**
 * Whether a log entry is a well-formed compliance record (spec/records.md). An entry that claims
 * to be one (a JSON object whose `schema` starts with `auditlog.record/`) must parse as a v1
 * record leaf; other entries are opaque unless the monitor is told every entry must be a record.
 */
import { parseLeaf } from '../records/leaf.js';

const SCHEMA_PREFIX = 'auditlog.record/';

/** Why `entry` is not an acceptable entry, or undefined when it is. */
export function recordProblem(entry: Uint8Array, requireRecords: boolean): string | undefined {
  const notRecord = requireRecords ? 'not a record leaf' : undefined;
  // Leading JSON whitespace or a byte-order mark does not hide a claim to be a record: such an
  // entry is read as the object it holds, and then fails to parse as a leaf.
  let at = 0;
  if (entry[0] === 0xef && entry[1] === 0xbb && entry[2] === 0xbf) at = 3;
  while (entry[at] === 0x20 || entry[at] === 0x09 || entry[at] === 0x0a || entry[at] === 0x0d) at++;
  if (entry[at] !== 0x7b /* { */) return notRecord;
  let obj: unknown;
  try {
    obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry.subarray(at)));
  } catch {
    return notRecord;
  }
  const schema = (obj as { schema?: unknown } | null)?.schema;
  if (typeof schema !== 'string' || !schema.startsWith(SCHEMA_PREFIX)) return notRecord;
  try {
    parseLeaf(entry);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
