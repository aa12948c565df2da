/** The hash-chain "compliance logger" baseline: append rate and the cost of proving one record. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../context.js';
import { HashChainLogger } from '../hashchain.js';
import { nowMs, percentiles, Samples, summarize } from '../stats.js';

/** Records of `size` bytes drawn from one random pool (distinct, incompressible). */
export function* records(n: number, size: number): Generator<Uint8Array> {
  const pool = new Uint8Array(randomBytes(size + 65_536));
  for (let i = 0; i < n; i++) {
    const off = (i * 7919) % 65_536;
    yield pool.subarray(off, off + size);
  }
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
