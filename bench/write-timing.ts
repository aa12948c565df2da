/**
 * Times a log's durable writes, for the append benchmark's account of where a batch's wall time
 * goes. `timedStore` wraps the LogStore that `Log.open` builds (its `wrapStore` option): each
 * `commit` is timed from the call to the moment its promise settles, which is as the commit
 * loop sees it (one write is on the disk at a time, spec/commit-protocol.md).
 */
import type { LogStore } from '../src/storage/store.js';
import { nowMs } from './stats.js';

/** A write slower than this (ms) is counted as a stall: a 256-entry batch's work on the main thread takes ~1 ms. */
export const STALL_MS = 2;

export class WriteTimes {
  /** Start and end (nowMs) of every write, in the order they started. */
  private readonly spans: number[] = [];

  record(start: number, end: number): void {
    this.spans.push(start, end);
  }

  /**
   * The writes that started within [from, to): how many, their p50 and p99 duration (ms), and
   * the share of the window during which a write slower than STALL_MS was on the disk.
   * Requires from < to.
   */
  summary(from: number, to: number): { writes: number; p50: number; p99: number; stallShare: number } {
    const d: number[] = [];
    let stalled = 0;
    for (let i = 0; i < this.spans.length; i += 2) {
      const s = this.spans[i]!;
      const e = this.spans[i + 1]!;
      if (s < from || s >= to) continue;
      d.push(e - s);
      if (e - s > STALL_MS) stalled += Math.min(e, to) - s;
    }
    d.sort((a, b) => a - b);
    const q = (p: number) =>
      d.length === 0 ? Number.NaN : d[Math.min(d.length - 1, Math.floor(p * d.length))]!;
    return { writes: d.length, p50: q(0.5), p99: q(0.99), stallShare: stalled / (to - from) };
  }
}

/** `store` with its commits timed into `times`; every other method passes through. */
export function timedStore(store: LogStore, times: WriteTimes): LogStore {
  return {
    readMeta: () => store.readMeta(),
    writeMeta: (m) => store.writeMeta(m),
    readState: () => store.readState(),
    readTile: (level, index) => store.readTile(level, index),
    readBundle: (index) => store.readBundle(index),
    readBundleChunks: (index) => store.readBundleChunks(index),
    commit: async (batch) => {
      const start = nowMs();
      try {
        await store.commit(batch);
      } finally {
        times.record(start, nowMs());
      }
    },
    close: () => store.close(),
  };
}
