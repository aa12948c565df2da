/**
 * The browser-safe part of the SDK: receipts, tlog-proof files, policies, offline verification and
 * tile-based proof computation. Imports only merkle/, note/ (without the node:crypto signer),
 * errors and @noble.
 */
export { AuditlogError, type ErrorCode } from '../errors.js';
export { type Checkpoint, parseCheckpoint } from '../note/checkpoint.js';
export { formatVerifierKey, parseVerifierKey, type VerifierKey } from '../note/keys.js';
export { type Note, parseNote } from '../note/note.js';
export * from './policy.js';
export * from './receipt.js';
export * from './tile-proofs.js';
export * from './tlog-proof.js';
export * from './verify.js';
