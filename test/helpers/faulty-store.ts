/**
 * Fault injection on the log's commit path (a real LevelDB store underneath): with
 * `mode.fail` 'before' a commit is refused without writing; with 'after' it is written and
 * then reported failed (an fsync error after the data reached the disk).
 */
import type { LogStore } from '../../src/storage/store.js';

export type CommitFault = 'none' | 'before' | 'after';

export function faultyStore(mode: { fail: CommitFault }) {
  return (s: LogStore): LogStore => ({
    readMeta: () => s.readMeta(),
    writeMeta: (m) => s.writeMeta(m),
    readState: () => s.readState(),
    readTile: (l, i) => s.readTile(l, i),
    readBundle: (i) => s.readBundle(i),
    readBundleChunks: (i) => s.readBundleChunks(i),
    close: () => s.close(),
    async commit(b) {
      if (mode.fail === 'before') throw new Error('injected: write refused');
      await s.commit(b);
      if (mode.fail === 'after') throw new Error('injected: fsync reported failure');
    },
  });
}
