/**
 * RFC 6962 hashing on @noble/hashes: no node built-ins, so verification code that imports
 * this runs unchanged in a browser.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { treeHasher } from './hasher.js';

/** The portable tree hasher. */
export const portableHasher = treeHasher((data) => sha256(data));
