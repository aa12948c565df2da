import { z } from 'zod';
import { AuditlogError } from '../errors.js';
import { findJsonProblem } from './canonical-json.js';

/**
 * The compliance record, schema version 2 (spec/records.md), and the historic version 1 that
 * leaves written before it carry. Every object is strict: an unknown field is an error naming
 * that field.
 */

/** Actions the vocabulary knows; anything else must be an extension value `x-<name>`. */
export const ACTIONS = [
  'conversation_started',
  'conversation_ended',
  'user_message_received',
  'agent_response_generated',
  'tool_invoked',
  'data_accessed',
  'data_modified',
  'prompt_changed',
  'model_changed',
  'access_granted',
  'access_revoked',
  'guardrail_decision',
] as const;

/** Actions only the log itself writes; a submitted record carrying one is refused. */
export const LOG_ACTIONS = [
  'subject_erased',
  'legal_hold_placed',
  'legal_hold_lifted',
  'archive_created',
  'archive_deleted',
] as const;

/** Prefix of the subject of a record that names no other: `record:<record_id>`. */
export const RECORD_SUBJECT_PREFIX = 'record:';

export const ACTOR_TYPES = ['user', 'agent', 'admin', 'system'] as const;

/**
 * True for the actor types that name a person: `user` and `admin` (a human administrator). Such
 * an actor's `actor_id` is personal data: committed in the leaf, never in clear (spec/records.md).
 */
export function isPersonActor(actorType: string): boolean {
  return actorType === 'user' || actorType === 'admin';
}
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;

/**
 * A tenant id: 1 to 128 of `[A-Za-z0-9_.:-]`, starting with a letter or digit; or `*`, which
 * only the log writes (records about every tenant: a global hold).
 */
export const TENANT_ID = /^(?:\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$/;
const EXTENSION_ACTION = /^x-[a-z0-9][a-z0-9_.-]{0,62}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * True iff an RFC 3339 string (already matching RFC3339) names a real instant: month 1-12, a
 * day that exists in that month, hour < 24, minute and second < 60, offset within ±23:59.
 * (Date.parse alone accepts Feb 30 and 24:00 by rolling over.)
 */
export function isCalendarDateTime(t: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/.exec(t);
  if (m === null) return false;
  const [y, mo, d, h, mi, s, oh, om] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  return (
    mo! >= 1 &&
    mo! <= 12 &&
    d! >= 1 &&
    d! <= daysInMonth &&
    h! < 24 &&
    mi! < 60 &&
    s! < 60 &&
    oh! < 24 &&
    om! < 60
  );
}

const id = z.string().min(1).max(256);
/**
 * A guardrail's verdict: a machine token (`allow`, `BLOCK`, `redact:pii`), never free text,
 * since it stays in the public leaf; the reasoning behind it goes in the personal `reason`.
 */
const verdictToken = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
    'not a verdict token ([A-Za-z0-9_.:-], 1 to 64; free text goes in reason)',
  );
/** Personal free text: bounded, lives only in the encrypted body. */
const personalText = z.string().max(65536);
/** A list of `details` member names: at most 256, no repeats (v2's public keys, v1's personal ones). */
const detailKeyList = z
  .array(z.string().min(1).max(256))
  .max(256)
  .refine((a) => new Set(a).size === a.length, 'duplicate key')
  .optional();
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const jsonValue = z.unknown().refine((v) => v !== undefined, 'required');

const action = z
  .string()
  .refine(
    (a) =>
      (ACTIONS as readonly string[]).includes(a) ||
      (LOG_ACTIONS as readonly string[]).includes(a) ||
      EXTENSION_ACTION.test(a),
    'unknown action (use one of the vocabulary or an extension value x-<name>)',
  );

/** What a client submits, and what the leaves written now (`auditlog.record/v2`) carry. */
export const recordSchemaV2 = z.strictObject({
  schema_version: z.literal(2).optional(),
  event_id: id.optional(),
  client_timestamp: z
    .string()
    .regex(RFC3339, 'not an RFC 3339 date-time')
    .refine(isCalendarDateTime, 'not a valid date-time')
    .optional(),
  tenant_id: z.string().regex(TENANT_ID, 'not a tenant id ([A-Za-z0-9_.:-], 1 to 128)'),
  request_id: id.optional(),
  conversation_id: id.optional(),
  action,
  actor_id: id,
  actor_type: z.enum(ACTOR_TYPES),
  agent_name: id.optional(),
  resource_type: id.optional(),
  resource_id: id.optional(),
  user_id: id.optional(),
  data_classification: z
    .array(z.enum(CLASSIFICATIONS))
    .min(1)
    .max(4)
    .refine((a) => new Set(a).size === a.length, 'duplicate classification')
    .optional(),
  compliance_domains: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'not a retention class name'))
    .max(16)
    .refine((a) => new Set(a).size === a.length, 'duplicate domain')
    .optional(),
  model: z.strictObject({ name: id, provider: id.optional(), version_hash: id.optional() }).optional(),
  system_prompt_version: id.optional(),
  policy_version: id.optional(),
  input: z
    .strictObject({
      user_message: personalText.optional(),
      retrieved_docs: z
        .array(z.strictObject({ id, hash: id.optional() }))
        .max(256)
        .optional(),
    })
    .optional(),
  guardrails: z
    .array(
      z.strictObject({
        id,
        verdict: verdictToken,
        score: z.number().finite().optional(),
        reason: personalText.optional(),
      }),
    )
    .max(256)
    .optional(),
  output: z
    .strictObject({
      final_text: personalText.optional(),
      tool_calls: z
        .array(
          z.strictObject({
            tool: id,
            args_hash: id.optional(),
            args: jsonValue.optional(),
            ok: z.boolean(),
          }),
        )
        .max(256)
        .optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      latency_ms: z.number().finite().min(0).optional(),
      input_tokens: count.optional(),
      output_tokens: count.optional(),
      cost_usd: z.number().finite().min(0).optional(),
    })
    .optional(),
  details: z.record(z.string().min(1).max(256), jsonValue).optional(),
  public_detail_keys: detailKeyList,
});

export type AuditRecord = z.infer<typeof recordSchemaV2>;

/**
 * The public part of a record as a v2 leaf holds it: `actor_id` optional, since a user actor's
 * id is personal and only committed (the leaf parser requires it either present or committed).
 */
export const leafRecordSchemaV2 = recordSchemaV2.extend({ actor_id: id.optional() });

/**
 * The public part of a record in a leaf written before version 2 (`auditlog.record/v1`): free
 * text verdicts of 1 to 1024 characters, no guardrail `reason`, and `personal_detail_keys` (the
 * opt-in list of personal `details` members, kept in the public record) instead of
 * `public_detail_keys`. Leaves are permanent, so this is accepted when reading for as long as
 * the log exists; nothing is submitted or written in it any more.
 */
export const leafRecordSchemaV1 = recordSchemaV2.omit({ public_detail_keys: true }).extend({
  schema_version: z.literal(1).optional(),
  guardrails: z
    .array(
      z.strictObject({ id, verdict: z.string().min(1).max(1024), score: z.number().finite().optional() }),
    )
    .max(256)
    .optional(),
  personal_detail_keys: detailKeyList,
});

export type AuditRecordV1 = z.infer<typeof leafRecordSchemaV1>;

/** A record as some leaf holds it: of schema v2, or of v1 in a leaf written before it. */
export type LeafRecord = AuditRecord | AuditRecordV1;

/** Largest number of records in one `{"records": [...]}` request. */
export const MAX_RECORDS_PER_REQUEST = 1000;

/**
 * Parses one submitted record. The input must be JSON (well-formed strings, finite numbers,
 * at most MAX_DEPTH deep); every public detail key must name a member of `details`.
 * @throws AuditlogError('BAD_REQUEST') whose message starts with the path of the first bad field.
 * @example parseRecord(JSON.parse(body))
 */
export function parseRecord(input: unknown, pathPrefix = ''): AuditRecord {
  // One walk over the raw input, before validation could drop anything: strings well-formed,
  // numbers finite, depth bounded, no "__proto__" member (what RFC 8785 encoding accepts here).
  checkJson(input, pathPrefix.replace(/\.$/, ''));
  const result = recordSchemaV2.safeParse(input);
  if (!result.success)
    throw new AuditlogError('BAD_REQUEST', describeIssue(result.error.issues[0], pathPrefix));
  const rec = result.data;
  // A subject is erased by POST /v1/subjects/<subject>/erase, and a URL path cannot carry the
  // segments "." and ".." (they are resolved away, even percent-encoded): refused as subjects.
  const subjects: [string, string | undefined][] = [
    ['user_id', rec.user_id],
    ['actor_id', isPersonActor(rec.actor_type) ? rec.actor_id : undefined],
  ];
  for (const [field, value] of subjects) {
    if (value === '.' || value === '..') {
      throw new AuditlogError('BAD_REQUEST', `${pathPrefix}${field}: "${value}" cannot name a data subject`);
    }
    // "record:<record_id>" is the subject of a record about nobody else, its key used by no other
    // record (spec/records.md): a submitted subject of that form would share, and with the
    // other record's archive deletion lose, that key.
    if (value?.startsWith(RECORD_SUBJECT_PREFIX)) {
      throw new AuditlogError(
        'BAD_REQUEST',
        `${pathPrefix}${field}: "${RECORD_SUBJECT_PREFIX}..." names the log's own record subjects`,
      );
    }
  }
  for (const key of rec.public_detail_keys ?? []) {
    if (rec.details === undefined || !Object.hasOwn(rec.details, key)) {
      throw new AuditlogError(
        'BAD_REQUEST',
        `${pathPrefix}public_detail_keys: "${key}" is not a key of details`,
      );
    }
  }
  return rec;
}

/**
 * Parses a POST /v1/records body: one record, or `{"records": [...]}` with 1 to
 * MAX_RECORDS_PER_REQUEST records. Paths in errors are `records.<i>.<field>` for the batch form.
 */
export function parseRecordBatch(input: unknown): { records: AuditRecord[]; batch: boolean } {
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'records' in input) {
    const keys = Object.keys(input);
    const extra = keys.find((k) => k !== 'records');
    if (extra !== undefined) throw new AuditlogError('BAD_REQUEST', `${extra}: unknown field`);
    const list = (input as { records: unknown }).records;
    if (!Array.isArray(list)) throw new AuditlogError('BAD_REQUEST', 'records: expected an array');
    if (list.length === 0) throw new AuditlogError('BAD_REQUEST', 'records: empty');
    if (list.length > MAX_RECORDS_PER_REQUEST) {
      throw new AuditlogError('TOO_LARGE', `records: more than ${MAX_RECORDS_PER_REQUEST} records`);
    }
    return { records: list.map((r, i) => parseRecord(r, `records.${i}.`)), batch: true };
  }
  return { records: [parseRecord(input)], batch: false };
}

function describeIssue(issue: z.core.$ZodIssue | undefined, prefix: string): string {
  if (issue === undefined) return `${prefix || '(record)'}: invalid`;
  const path = prefix + issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const field = path === '' ? issue.keys[0] : `${path}.${issue.keys[0]}`;
    return `${field}: unknown field`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${path}: required`;
  return `${path || '(record)'}: ${issue.message}`;
}

function checkJson(value: unknown, path: string): void {
  const problem = findJsonProblem(value);
  if (problem === null) return;
  const field = [path, ...problem.path].filter((t) => t !== '').join('.');
  throw new AuditlogError('BAD_REQUEST', `${field || '(record)'}: ${problem.reason}`);
}
