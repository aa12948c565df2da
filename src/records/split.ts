import { AuditlogError } from '../errors.js';
import { pointerTokens, toPointer } from './canonical-json.js';
import { type AuditRecord, isPersonActor, type LeafRecord } from './schema.js';

/** One personal field taken out of a record: where it was and what it held. */
export interface PersonalField {
  pointer: string;
  value: unknown;
}

/**
 * Splits a parsed record into the public part (which goes into the leaf) and its personal
 * fields (which go, encrypted, into the body store). Personal fields are exactly
 * (spec/records.md, "Personal fields"), in this order:
 * `/user_id`; `/actor_id` when `actor_type` is `user`; `/resource_id`; `/input/user_message`;
 * `/input/retrieved_docs/<i>/hash` (by index); `/guardrails/<i>/reason`; `/output/final_text`; `/output/tool_calls/<i>/args_hash` and
 * `/output/tool_calls/<i>/args` (by index); and `/details/<k>` for every member of `details`
 * not named in `public_detail_keys` (in the order of `details`). The input is not modified.
 */
export function splitRecord(record: AuditRecord): { publicRecord: AuditRecord; personal: PersonalField[] } {
  // Copy only the objects that change; everything else is shared with the (unmodified) input.
  const pub: Partial<AuditRecord> = { ...record };
  const personal: PersonalField[] = [];
  const take = (path: string[], value: unknown) => personal.push({ pointer: toPointer(path), value });

  if (pub.user_id !== undefined) {
    take(['user_id'], pub.user_id);
    delete pub.user_id;
  }
  if (pub.actor_type !== undefined && isPersonActor(pub.actor_type) && pub.actor_id !== undefined) {
    take(['actor_id'], pub.actor_id);
    delete pub.actor_id;
  }
  if (pub.resource_id !== undefined) {
    take(['resource_id'], pub.resource_id);
    delete pub.resource_id;
  }
  if (pub.input !== undefined) {
    const input = { ...pub.input };
    if (input.user_message !== undefined) {
      take(['input', 'user_message'], input.user_message);
      delete input.user_message;
    }
    if (input.retrieved_docs?.some((d) => d.hash !== undefined)) {
      input.retrieved_docs = input.retrieved_docs.map((doc, i) => {
        if (doc.hash === undefined) return doc;
        take(['input', 'retrieved_docs', String(i), 'hash'], doc.hash);
        const { hash: _, ...rest } = doc;
        return rest;
      });
    }
    pub.input = input;
  }
  if (pub.guardrails?.some((g) => g.reason !== undefined)) {
    pub.guardrails = pub.guardrails.map((g, i) => {
      if (g.reason === undefined) return g;
      take(['guardrails', String(i), 'reason'], g.reason);
      const { reason: _, ...rest } = g;
      return rest;
    });
  }
  if (pub.output !== undefined) {
    const output = { ...pub.output };
    if (output.final_text !== undefined) {
      take(['output', 'final_text'], output.final_text);
      delete output.final_text;
    }
    if (output.tool_calls !== undefined) {
      output.tool_calls = output.tool_calls.map((call, i) => {
        if (call.args === undefined && call.args_hash === undefined) return call;
        const { args, args_hash, ...rest } = call;
        if (args_hash !== undefined) take(['output', 'tool_calls', String(i), 'args_hash'], args_hash);
        if (args !== undefined) take(['output', 'tool_calls', String(i), 'args'], args);
        return rest;
      });
    }
    pub.output = output;
  }
  if (pub.details !== undefined) {
    const kept = new Set(pub.public_detail_keys ?? []);
    const details: NonNullable<AuditRecord['details']> = {};
    for (const [key, value] of Object.entries(pub.details)) {
      if (kept.has(key)) define(details, key, value);
      else take(['details', key], value);
    }
    pub.details = details;
  }
  return { publicRecord: pub as AuditRecord, personal };
}

/** True iff `record` has at least one personal field (what {@link splitRecord} would take out). */
export function hasPersonalFields(record: AuditRecord): boolean {
  const publicKeys = new Set(record.public_detail_keys ?? []);
  return (
    record.user_id !== undefined ||
    isPersonActor(record.actor_type) ||
    record.resource_id !== undefined ||
    record.input?.user_message !== undefined ||
    (record.input?.retrieved_docs?.some((d) => d.hash !== undefined) ?? false) ||
    (record.guardrails?.some((g) => g.reason !== undefined) ?? false) ||
    record.output?.final_text !== undefined ||
    (record.output?.tool_calls?.some((c) => c.args !== undefined || c.args_hash !== undefined) ?? false) ||
    Object.keys(record.details ?? {}).some((k) => !publicKeys.has(k))
  );
}

/**
 * The person a record names besides its data subject, with the pointers of their personal
 * fields (spec/records.md, "Named persons"): a person actor (`actor_type` `user` or `admin`)
 * whose `actor_id` is not the record's `user_id` — a clinician acting on a patient's record, an
 * adviser on a client's account, an administrator correcting it. Undefined when there is none
 * (no `user_id`: the person actor is then the subject).
 */
export function namedPersonOf(record: AuditRecord): { id: string; pointers: string[] } | undefined {
  if (
    !isPersonActor(record.actor_type) ||
    record.user_id === undefined ||
    record.actor_id === record.user_id
  ) {
    return undefined;
  }
  return { id: record.actor_id, pointers: ['/actor_id'] };
}

/** Sets a plain data member, so that a key named "__proto__" stays a member. */
function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Puts personal values back at their pointers, rebuilding the submitted record from the
 * public part (inverse of {@link splitRecord}). A pointer leading where the public part has
 * nothing creates the objects on its way; the walk steps only into own members and creates
 * only own members, so no pointer reaches a prototype. The result is a copy.
 * @throws AuditlogError('BAD_REQUEST') for a pointer {@link pointerTokens} refuses (one with a
 *   `__proto__` token), or one naming a member of an array that is not an index.
 */
export function joinRecord(publicRecord: LeafRecord, personal: readonly PersonalField[]): LeafRecord {
  const rec = structuredClone(publicRecord) as Record<string, unknown>;
  for (const { pointer, value } of personal) {
    const tokens = pointerTokens(pointer);
    if (tokens === null)
      throw new AuditlogError('BAD_REQUEST', `${JSON.stringify(pointer)}: not a field pointer`);
    let node: Record<string, unknown> = rec;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (Array.isArray(node) && !/^(0|[1-9]\d*)$/.test(t)) {
        throw new AuditlogError(
          'BAD_REQUEST',
          `${JSON.stringify(pointer)}: ${JSON.stringify(t)} is not an array index`,
        );
      }
      if (i === tokens.length - 1) {
        define(node, t, value);
        break;
      }
      const next = Object.hasOwn(node, t) ? node[t] : undefined;
      if (typeof next === 'object' && next !== null) {
        node = next as Record<string, unknown>;
      } else {
        const fresh = {};
        define(node, t, fresh);
        node = fresh;
      }
    }
  }
  return rec as LeafRecord;
}
