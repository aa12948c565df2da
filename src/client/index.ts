/**
 * The auditlog client SDK: verification (browser-safe, also importable alone as
 * `auditlog/verify`), the HTTP client, receipt files and agent instrumentation (Node).
 */
export * from './verify-only.js';
export * from './log-client.js';
export * from './receipt-file.js';
export * from './agent.js';
export { verifyRecordRead } from '../records/verify-read.js';
