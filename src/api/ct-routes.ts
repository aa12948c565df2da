/**
 * RFC 6962 section 4 JSON API, for clients that speak classic Certificate Transparency.
 * `leaf_input` is the raw entry (our leaves are entries, not MerkleTreeLeaf structures);
 * `extra_data` is empty.
 */
import { Hono } from 'hono';
import { AuditlogError } from '../errors.js';
import { encodeBase64 } from '../note/encoding.js';
import type { Log } from '../sequencer/log.js';
import { parseHashParam, parseUint64Param } from './params.js';

/** Most entries one get-entries call returns (RFC 6962 lets logs return fewer than asked). */
export const MAX_GET_ENTRIES = 256;
/**
 * Most entry bytes one get-entries answer carries (at least one entry, whatever its size): 256
 * entries of 64 KiB would be a 21 MB JSON body, and a few such requests at once would hold
 * gigabytes. A client asks again from where the answer stopped, as RFC 6962 clients do.
 */
export const MAX_GET_ENTRIES_BYTES = 1 << 20;

/** Standard padded base64 of an entry, with node's native encoder (entries reach 64 KiB). */
function entryBase64(e: Uint8Array): string {
  return Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('base64');
}

export function ctRoutes(log: Log): Hono {
  const app = new Hono();

  app.get('/get-sth', async (c) => {
    const { state, signature } = await log.treeHeadSignature();
    return c.json({
      tree_size: Number(state.size),
      timestamp: Number(state.timestampMs),
      sha256_root_hash: encodeBase64(state.root),
      tree_head_signature: encodeBase64(signature),
    });
  });

  app.get('/get-sth-consistency', async (c) => {
    const first = parseUint64Param('first', c.req.query('first'));
    const second = parseUint64Param('second', c.req.query('second'));
    if (first > second) throw new AuditlogError('BAD_REQUEST', 'first is greater than second');
    if (second > log.latest().size) throw new AuditlogError('BAD_REQUEST', 'second is beyond the tree size');
    const proof = await log.consistencyProof(first, second);
    return c.json({ consistency: proof.map(encodeBase64) });
  });

  app.get('/get-proof-by-hash', async (c) => {
    const hash = parseHashParam('hash', c.req.query('hash'));
    const size = parseUint64Param('tree_size', c.req.query('tree_size'));
    if (size > log.latest().size) throw new AuditlogError('BAD_REQUEST', 'tree_size is beyond the tree size');
    // During a start-up rebuild of the index: 503 with Retry-After rather than a request held open.
    const index = await log.indexOfLeafHash(hash, size, { wait: false });
    if (index === undefined) {
      throw new AuditlogError('NOT_FOUND', 'no entry with that leaf hash in a tree of that size');
    }
    const proof = await log.inclusionProof(index, size);
    return c.json({ leaf_index: Number(index), audit_path: proof.map(encodeBase64) });
  });

  app.get('/get-entries', async (c) => {
    const start = parseUint64Param('start', c.req.query('start'));
    let end = parseUint64Param('end', c.req.query('end'));
    const size = log.latest().size;
    if (start > end) throw new AuditlogError('BAD_REQUEST', 'start is greater than end');
    if (start >= size) throw new AuditlogError('BAD_REQUEST', 'start is beyond the tree size');
    if (end >= size) end = size - 1n;
    if (end - start + 1n > BigInt(MAX_GET_ENTRIES)) end = start + BigInt(MAX_GET_ENTRIES) - 1n;
    const entries = await log.entries(start, end + 1n);
    let n = 0;
    for (let bytes = 0; n < entries.length; n++) {
      bytes += entries[n]!.length;
      if (n > 0 && bytes > MAX_GET_ENTRIES_BYTES) break;
    }
    return c.json({
      entries: entries.slice(0, n).map((e) => ({ leaf_input: entryBase64(e), extra_data: '' })),
    });
  });

  app.get('/get-entry-and-proof', async (c) => {
    const index = parseUint64Param('leaf_index', c.req.query('leaf_index'));
    const size = parseUint64Param('tree_size', c.req.query('tree_size'));
    if (size > log.latest().size) throw new AuditlogError('BAD_REQUEST', 'tree_size is beyond the tree size');
    if (index >= size) throw new AuditlogError('BAD_REQUEST', 'leaf_index is not below tree_size');
    const [entry] = await log.entries(index, index + 1n);
    const proof = await log.inclusionProof(index, size);
    return c.json({ leaf_input: entryBase64(entry!), extra_data: '', audit_path: proof.map(encodeBase64) });
  });
  return app;
}
