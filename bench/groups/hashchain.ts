/** The hash-chain "compliance logger" baseline: append rate and the cost of proving one record. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { HashChainLogger } from '../hashchain.js';
import { nowMs, percentiles, Samples, summarize } from '../stats.js';

/** Distinct offsets into the random pool of `records`; the sequence repeats after this many. */
const RECORD_SLOTS = 65_536;

/**
 * Records of `size` bytes drawn from one random pool (distinct within every run of
 * RECORD_SLOTS, incompressible): record i is the view at offset (i · 7919) mod RECORD_SLOTS
 * (7919 is odd, so the offsets of RECORD_SLOTS consecutive records are all different).
 * Each view is made the first time its slot comes up and handed out again after that, so the
 * drivers, which take one record per append, cost next to nothing per record (a generator
 * that made a view per record was ~2.4% of the main thread in the 256-entry append run).
 * Requires size >= 0.
 */
export function records(n: number, size: number): IterableIterator<Uint8Array> {
  const pool = new Uint8Array(randomBytes(size + RECORD_SLOTS));
  const views: Uint8Array[] = [];
  const done: IteratorResult<Uint8Array> = { value: undefined, done: true };
  let i = 0;
  const it: IterableIterator<Uint8Array> = {
    next(): IteratorResult<Uint8Array> {
      if (i >= n) return done;
      const slot = i % RECORD_SLOTS;
      i++;
      let view = views[slot];
      if (view === undefined) {
        const off = (slot * 7919) % RECORD_SLOTS;
        view = pool.subarray(off, off + size);
        views[slot] = view;
      }
      return { value: view, done: false };
    },
    [Symbol.iterator]() {
      return it;
    },
  };
  return it;
}

export async function hashChainBench(ctx: Context, entrySizes: number[], proveAt: number): Promise<void> {
  const { quick, tmp } = ctx.opts;
  ctx.section('baseline: hash-chain logger, one synced write per record');
  for (const entry of entrySizes) {
    const rate: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    for (let run = 0; run < ctx.opts.repeats; run++) {
      const dir = await mkdtemp(path.join(tmp, 'chain-'));
      const chain = await HashChainLogger.open(dir);
      try {
        const lat = new Samples();
        const it = records(1e9, entry);
        const start = nowMs();
        let elapsed = 0;
        do {
          const t0 = nowMs();
          await chain.append(it.next().value!);
          lat.push(nowMs() - t0);
          elapsed = nowMs() - start;
        } while (elapsed < (quick ? 300 : 1000) || lat.length < 20);
        rate.push(lat.length / (elapsed / 1000));
        const p = percentiles(lat.values());
        p50.push(p.p50);
        p99.push(p.p99);
      } finally {
        await chain.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
    ctx.add({
      group: 'hashchain',
      name: 'chain append',
      params: { entry },
      unit: 'entries/s',
      value: summarize(rate),
      extra: { p50_ms: summarize(p50), p99_ms: summarize(p99) },
    });
  }

  const entry = 128;
  const dir = await mkdtemp(path.join(tmp, 'chain-big-'));
  const chain = await HashChainLogger.open(dir);
  try {
    const t0 = nowMs();
    await chain.bulkAppend(records(proveAt, entry));
    ctx.log(
      `built a ${proveAt}-record chain in ${((nowMs() - t0) / 1000).toFixed(1)} s (unsynced bulk load)`,
    );
    const head = chain.headHash;
    const ms: number[] = [];
    let bytes = 0;
    for (let run = 0; run < ctx.opts.repeats; run++) {
      const s = nowMs();
      const r = await chain.verifyRecord(Math.floor(proveAt / 2), head);
      ms.push(nowMs() - s);
      if (!r.found) throw new Error('record not found in chain walk');
      bytes = r.bytes;
    }
    ctx.add({
      group: 'hashchain',
      name: 'chain prove one record',
      params: { size: proveAt, entry },
      unit: 'ms',
      value: summarize(ms),
      extra: { bytes: summarize([bytes]) },
    });
  } finally {
    await chain.close();
    await rm(dir, { recursive: true, force: true });
  }
}
