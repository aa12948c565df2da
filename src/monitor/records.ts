/**
 * Whether a log entry is a well-formed compliance record (spec/records.md). An entry that claims
 * to be one (a JSON object whose `schema` starts with `auditlog.record/`) must parse as a record
 * leaf (v1 or v2); other entries are opaque unless the monitor is told every entry must be a record.
 */
import { claimsRecordSchema, parseLeaf } from '../records/leaf.js';

/** Why `entry` is not an acceptable entry, or undefined when it is. */
export function recordProblem(entry: Uint8Array, requireRecords: boolean): string | undefined {
  // Leading JSON whitespace or a byte-order mark does not hide a claim to be a record: such an
  // entry is read as the object it holds, and then fails to parse as a leaf.
  if (!claimsRecordSchema(entry)) return requireRecords ? 'not a record leaf' : undefined;
  try {
    parseLeaf(entry);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
