/**
 * Reading request bodies, the same way on every route: UTF-8 that must be well formed (a
 * replacement character must never stand in for bytes the client sent), JSON that must be
 * I-JSON (no repeated member names: parseStrictJson), of the declared media type, and
 * validated with the route's schema, the error naming the field. Content codings are refused
 * before any of this, in limitBody.
 */
import type { z } from 'zod';
import { AuditlogError } from '../errors.js';
import { parseStrictJson } from '../records/strict-json.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as text. @throws AuditlogError BAD_REQUEST when it is not well-formed UTF-8 (a
 * byte-order mark is kept, so JSON parsing then refuses it).
 */
export async function readUtf8(req: { arrayBuffer(): Promise<ArrayBuffer> }): Promise<string> {
  const bytes = await req.arrayBuffer();
  try {
    return utf8.decode(bytes);
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'body is not well-formed UTF-8');
  }
}

/** True for a Content-Type of application/json (with or without parameters). */
export function isJsonType(contentType: string | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType ?? '');
}

/**
 * A JSON body, parsed strictly. @throws AuditlogError UNSUPPORTED_MEDIA_TYPE (not
 * application/json) or BAD_REQUEST (not UTF-8, not JSON, a repeated member, nested too deeply).
 */
export async function readJsonBody(req: {
  arrayBuffer(): Promise<ArrayBuffer>;
  header(n: string): string | undefined;
}): Promise<unknown> {
  if (!isJsonType(req.header('content-type'))) {
    throw new AuditlogError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  }
  return parseStrictJson(await readUtf8(req));
}

/** Validates a parsed body with `schema`; the error names the field (or the unknown one). */
export function validate<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.join('.') || '(body)';
    const what =
      issue.code === 'unrecognized_keys' ? `${issue.keys[0]}: unknown field` : `${path}: ${issue.message}`;
    throw new AuditlogError('BAD_REQUEST', what);
  }
  return r.data;
}

/** readJsonBody, then validate. */
export async function readJSON<T>(
  req: { arrayBuffer(): Promise<ArrayBuffer>; header(n: string): string | undefined },
  schema: z.ZodType<T>,
): Promise<T> {
  return validate(schema, await readJsonBody(req));
}
