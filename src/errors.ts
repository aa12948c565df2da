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
