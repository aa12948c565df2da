/**
 * The one error type of auditlog. Callers branch on `code`, never on the message;
 * `api/problem.ts` maps codes to HTTP statuses in one place.
 */
export type ErrorCode =
  // input and parsing
  | 'BAD_REQUEST' // malformed input of any kind (numbers, base64, paths, bodies)
  | 'BAD_NOTE' // a signed note that does not parse
  | 'BAD_CHECKPOINT' // a checkpoint body that does not parse
  | 'BAD_KEY' // a verifier or signer key string that does not parse
  | 'BAD_PROOF' // a proof of the wrong shape (length, index >= size, trailing data)
  | 'TOO_LARGE' // a body or entry over its limit
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED' // a path served, but not with this method (HTTP 405 with Allow)
  | 'OUT_OF_RANGE' // an index or size beyond the tree
  | 'CONFLICT'
  // verification outcomes
  | 'ROOT_MISMATCH' // a proof rebuilt a root other than the expected one
  | 'LEAF_MISMATCH' // an entry does not hash to the leaf hash claimed
  | 'BAD_SIGNATURE' // a signature does not verify
  | 'UNKNOWN_KEY' // no signature by the expected key
  | 'QUORUM_NOT_MET' // too few witness cosignatures
  | 'INCONSISTENT' // two checkpoints that cannot both be true (a fork)
  | 'ROLLBACK' // a checkpoint older than one already seen
  // access
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  // server state
  | 'OVERLOADED' // the sequencer queue is full; retry later
  | 'CLOSED' // the log is shutting down
  | 'STORAGE' // the store failed; nothing was acknowledged
  | 'ERASED' // personal data destroyed by an erasure
  | 'LEGAL_HOLD' // refused because a legal hold applies
  | 'RETENTION' // refused because a retention period has not ended
  | 'UNAVAILABLE' // the log could not be reached (connection failed or timed out)
  | 'INTERNAL';

export class AuditlogError extends Error {
  override readonly name = 'AuditlogError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Throws `AuditlogError(code, message)` unless `cond` holds. */
export function check(cond: unknown, code: ErrorCode, message: string): asserts cond {
  if (!cond) throw new AuditlogError(code, message);
}

const LINE_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` made safe to print as part of one line of a log or terminal: every control character
 * (C0, DEL, C1, so `\r`, `\n` and the ESC of ANSI sequences too) and the Unicode line and
 * paragraph separators become escapes (`\n`, `\r`, `\t`, `\u001b`). Text from another server (a
 * witness's answer, a peer's, a log's, or an error message quoting one) goes through it before it
 * reaches stderr, so that it can neither start a line of its own nor drive the terminal.
 * Backslashes are left as they are: the result is for reading, not for decoding.
 * @example oneLine('no\nauditlog: admin token x') === 'no\\nauditlog: admin token x'
 */
export function oneLine(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => LINE_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
