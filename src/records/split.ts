import { toPointer } from './canonical-json.js';
import type { AuditRecord } from './schema.js';

/** One personal field taken out of a record: where it was and what it held. */
export interface PersonalField {
  pointer: string;
  value: unknown;
}

/**
 * Splits a parsed record into the public part (which goes into the leaf) and its personal
 * fields (which go, encrypted, into the body store). Personal fields are exactly:
 * `/user_id`, `/input/user_message`, `/output/final_text`, `/output/tool_calls/<i>/args`,
 * and `/details/<k>` for every `k` in `personal_detail_keys`. The input is not modified.
 * Fields are returned in that order (tool calls by index, details in `personal_detail_keys` order).
 */
export function splitRecord(record: AuditRecord): { publicRecord: AuditRecord; personal: PersonalField[] } {
  // Copy only the objects that change; everything else is shared with the (unmodified) input.
  const pub: AuditRecord = { ...record };
  const personal: PersonalField[] = [];
  const take = (path: string[], value: unknown) => personal.push({ pointer: toPointer(path), value });

  if (pub.user_id !== undefined) {
    take(['user_id'], pub.user_id);
    delete pub.user_id;
  }
  if (pub.input?.user_message !== undefined) {
    take(['input', 'user_message'], pub.input.user_message);
    const { user_message: _, ...rest } = pub.input;
    pub.input = rest;
  }
  if (pub.output !== undefined) {
    const output = { ...pub.output };
    if (output.final_text !== undefined) {
      take(['output', 'final_text'], output.final_text);
      delete output.final_text;
    }
    if (output.tool_calls !== undefined) {
      output.tool_calls = output.tool_calls.map((call, i) => {
        if (call.args === undefined) return call;
        take(['output', 'tool_calls', String(i), 'args'], call.args);
        const { args: _, ...rest } = call;
        return rest;
      });
    }
    pub.output = output;
  }
  if (pub.personal_detail_keys !== undefined && pub.details !== undefined) {
    const details = { ...pub.details };
    for (const key of pub.personal_detail_keys) {
      if (Object.hasOwn(details, key)) {
        take(['details', key], details[key]);
        delete details[key];
      }
    }
    pub.details = details;
  }
  return { publicRecord: pub, personal };
}

/** True iff `record` has at least one personal field (what {@link splitRecord} would take out). */
export function hasPersonalFields(record: AuditRecord): boolean {
  return (
    record.user_id !== undefined ||
    record.input?.user_message !== undefined ||
    record.output?.final_text !== undefined ||
    (record.output?.tool_calls?.some((c) => c.args !== undefined) ?? false) ||
    (record.personal_detail_keys?.length ?? 0) > 0
  );
}

/**
 * Puts personal values back at their pointers, rebuilding the submitted record from the
 * public part (inverse of {@link splitRecord}). Unknown pointers are ignored; the result is a copy.
 */
export function joinRecord(publicRecord: AuditRecord, personal: readonly PersonalField[]): AuditRecord {
  const rec = structuredClone(publicRecord) as Record<string, unknown>;
  for (const { pointer, value } of personal) {
    const tokens = pointer
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    let node: Record<string, unknown> | unknown[] = rec;
    for (let i = 0; i < tokens.length - 1; i++) {
      const t = tokens[i]!;
      const next = (node as Record<string, unknown>)[t];
      if (typeof next !== 'object' || next === null) {
        const fresh = {};
        (node as Record<string, unknown>)[t] = fresh;
        node = fresh;
      } else {
        node = next as Record<string, unknown>;
      }
    }
    const last = tokens[tokens.length - 1];
    if (last !== undefined) {
      // defineProperty, so that a details key named "__proto__" stays a plain member.
      Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return rec as AuditRecord;
}
