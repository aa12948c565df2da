/** The browser-safe note API (signer.ts, which needs node:crypto, is imported separately). */
export * from './checkpoint.js';
export * from './cosignature.js';
export * from './ed25519.js';
export * from './encoding.js';
export * from './keys.js';
export * from './note.js';
export * from './sth.js';
