/**
 * Group commit (spec/commit-protocol.md): the writes of consecutive staged batches merged
 * into one atomic write that leaves the store as applying them one after another would.
 */
import type { CommitBatch } from '../storage/store.js';

/**
 * Default for LogOptions.maxBatchesAhead: batches staged ahead of the write on the disk. It
 * bounds the signatures in flight to a remote signer, the memory held for unwritten batches
 * (beyond the pool's own bound, maxQueue), and how many batches one failed write turns away.
 */
export const DEFAULT_BATCHES_AHEAD = 8;

/**
 * Merges the writes of consecutive batches, oldest first, into one.
 * Requires `commits` non-empty, in staging order, each batch extending the one before.
 * A tile written by several batches is written once, with the last batch's hashes (tiles are
 * only ever overwritten, never deleted). A chunk that a later batch drops (its bundle was
 * completed) is not written at all, since a store applies the deletions of chunks before it
 * writes chunks. The state is the last batch's; side operations keep their order.
 */
export function mergeCommits(commits: readonly CommitBatch[]): CommitBatch {
  if (commits.length === 1) return commits[0]!;
  const tiles = new Map<string, CommitBatch['tiles'][number]>();
  const dropped = new Set<string>();
  for (const c of commits) for (const d of c.dropChunks) dropped.add(`${d.index}/${d.offset}`);
  const out: CommitBatch = {
    tiles: [],
    bundles: [],
    chunks: [],
    dropChunks: [],
    state: commits[commits.length - 1]!.state,
    sideOps: [],
  };
  for (const c of commits) {
    for (const t of c.tiles) {
      const key = `${t.level}/${t.index}`;
      tiles.delete(key); // the last version takes the place of the last batch's write
      tiles.set(key, t);
    }
    for (const b of c.bundles) out.bundles.push(b);
    for (const ch of c.chunks) if (!dropped.has(`${ch.index}/${ch.offset}`)) out.chunks.push(ch);
    for (const d of c.dropChunks) out.dropChunks.push(d);
    for (const op of c.sideOps) out.sideOps.push(op);
  }
  out.tiles = [...tiles.values()];
  return out;
}
