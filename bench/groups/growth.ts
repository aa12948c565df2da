/**
 * How cost grows with the tree: one log grown to 10^4, 10^5, 10^6 (and 10^7) entries of 128 bytes
 * in 4096-entry batches; at each size the append rate of the last stretch, inclusion-proof
 * latency, disk bytes per entry, and start-up time and memory of a fresh process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Log } from '../../src/sequencer/log.js';
import type { Context } from '../context.js';
import { nowMs, percentiles, summarize } from '../stats.js';
import { benchSigner, ORIGIN } from './append.js';
import { records } from './hashchain.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OPEN_LOG = path.join(here, '..', 'servers', 'open-log.js');
export const GROWTH_ENTRY = 128;
const BATCH = 4096;

/** Total size in bytes of the files under `dir`. */
export async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

interface OpenProbe {
  openMs: number;
  firstProofMs: number;
  rssBytes: number;
  rssDeltaBytes: number;
  heapUsedBytes: number;
}

async function probeOpen(dir: string): Promise<OpenProbe> {
  const { stdout } = await promisify(execFile)(process.execPath, [OPEN_LOG, dir]);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as OpenProbe;
}

/**
 * Grows the log through `sizes`. A size whose estimated time (from the last measured rate) is
 * over `budgetS` seconds is skipped with a note giving the estimate.
 */
export async function growthBench(ctx: Context, sizes: number[], budgetS: number): Promise<void> {
  const { quick, tmp } = ctx.opts;
  ctx.section(`growth: one log of ${GROWTH_ENTRY}-byte entries, batches of ${BATCH}, per-batch signature`);
  const dir = await mkdtemp(path.join(tmp, 'growth-'));
  const signer = benchSigner(0);
  const entries = records(1e12, GROWTH_ENTRY);
  try {
    let log = await Log.open({ dir, origin: ORIGIN, signer, maxBatchSize: BATCH, maxQueue: 4 * BATCH });
    let size = 0;
    let lastRate = 0;
    for (const target of sizes) {
      const estimateS = lastRate > 0 ? (target - size) / lastRate : 0;
      if (estimateS > budgetS) {
        ctx.note(
          `growth to ${target} entries skipped: about ${Math.round(estimateS)} s at the measured ` +
            `${Math.round(lastRate)} entries/s, over the ${budgetS} s budget (--growth-budget-s)`,
        );
        break;
      }
      // Grow in five stretches so the append rate has a median and a spread.
      const rates: number[] = [];
      const t0 = nowMs();
      const stretch = Math.ceil((target - size) / 5);
      while (size < target) {
        const n = Math.min(stretch, target - size);
        const s = nowMs();
        await appendExactly(log, entries, n);
        rates.push(n / ((nowMs() - s) / 1000));
        size += n;
      }
      ctx.log(`grew to ${size} in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
      lastRate = summarize(rates).median;
      ctx.add({
        group: 'growth',
        name: 'append rate',
        params: { size: target },
        unit: 'entries/s',
        value: summarize(rates),
      });

      // Inclusion proofs for random indexes at the current size, served from stored tiles.
      const big = BigInt(size);
      const proofs = quick ? 300 : 1000;
      let proofLen = 0;
      const m = await ctx.repeat(async () => {
        const lat: number[] = [];
        for (let i = 0; i < proofs; i++) {
          const index = BigInt(Math.floor(Math.random() * size));
          const s = nowMs();
          const p = await log.inclusionProof(index, big);
          lat.push(nowMs() - s);
          proofLen = p.length;
        }
        return percentiles(lat);
      });
      const note = log.latest().note;
      ctx.add({
        group: 'growth',
        name: 'inclusion proof',
        params: { size: target },
        unit: 'ms',
        value: m.p50,
        extra: {
          p99_ms: m.p99,
          proof_bytes: summarize([proofLen * 32]),
          checkpoint_bytes: summarize([new TextEncoder().encode(note).length]),
        },
      });

      await log.close();
      const bytes = await diskBytes(dir);
      ctx.add({
        group: 'growth',
        name: 'disk',
        params: { size: target },
        unit: 'bytes/entry',
        value: summarize([bytes / size]),
        extra: { total_bytes: summarize([bytes]) },
      });
      const probes: OpenProbe[] = [];
      for (let i = 0; i < ctx.opts.repeats; i++) probes.push(await probeOpen(dir));
      ctx.add({
        group: 'growth',
        name: 'start-up (Log.open)',
        params: { size: target },
        unit: 'ms',
        value: summarize(probes.map((p) => p.openMs)),
        extra: {
          first_proof_ms: summarize(probes.map((p) => p.firstProofMs)),
          rss_bytes: summarize(probes.map((p) => p.rssBytes)),
          heap_bytes: summarize(probes.map((p) => p.heapUsedBytes)),
        },
      });
      log = await Log.open({ dir, signer, maxBatchSize: BATCH, maxQueue: 4 * BATCH });
    }
    await log.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Appends exactly `n` entries with 2 x BATCH in flight. */
async function appendExactly(log: Log, entries: Iterator<Uint8Array>, n: number): Promise<void> {
  let issued = 0;
  const worker = async () => {
    while (issued < n) {
      issued++;
      await log.append(entries.next().value!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, 2 * BATCH) }, worker));
}
