/** The machine's own limits, measured first so every later result can be quoted against them. */
import type { Context } from '../context.js';
import {
  ed25519NobleRate,
  ed25519NodeRate,
  levelSyncedBatchRate,
  sha256LanesRate,
  sha256NobleRate,
  sha256NodeRate,
  sha256SodiumRate,
} from '../machine.js';
import { summarize } from '../stats.js';

/** The node-hash input (0x01 || left || right) and leaf-hash inputs (0x00 || entry) for each entry size. */
export const HASH_SIZES = [65, 129, 1025, 16385];

/** The LevelDB baselines; `bundled` (the bytes of C2SP entry bundles) is the one log results are compared to. */
export const LEVEL_NAMES = {
  bundled: 'leveldb synced batch',
  chained: 'leveldb synced batch, key per entry',
  array: 'leveldb synced batch, key per entry, array form',
} as const;

export async function machineBench(ctx: Context, batchSizes: number[], entrySizes: number[]): Promise<void> {
  const { quick } = ctx.opts;
  const cpuMs = quick ? 100 : 300;
  ctx.section('machine baselines (same run)');
  /** Each SHA-256 implementation the log or its verifiers use, by the name results carry. */
  const hashers: [string, (size: number, minMs: number) => number][] = [
    ['sha256 node:crypto', sha256NodeRate],
    ['sha256 libsodium', sha256SodiumRate],
    ['sha256 four lanes (wasm)', sha256LanesRate],
    ['sha256 @noble/hashes', sha256NobleRate],
  ];
  for (const size of HASH_SIZES) {
    for (const [name, rate] of hashers) {
      ctx.add({
        group: 'machine',
        name,
        params: { bytes: size },
        unit: 'hashes/s',
        value: ctx.repeatSync(() => rate(size, cpuMs)),
      });
    }
  }
  ctx.add({
    group: 'machine',
    name: 'ed25519 sign node:crypto',
    params: {},
    unit: 'sigs/s',
    value: ctx.repeatSync(() => ed25519NodeRate(cpuMs)),
  });
  ctx.add({
    group: 'machine',
    name: 'ed25519 sign @noble',
    params: {},
    unit: 'sigs/s',
    value: ctx.repeatSync(() => ed25519NobleRate(cpuMs)),
  });
  const ioMs = quick ? 150 : 500;
  for (const entry of entrySizes) {
    for (const batch of batchSizes) {
      // The bundled form, the log's ceiling, is measured by the append group next to each log run.
      for (const form of ['chained', 'array'] as const) {
        if (batch === 1) continue;
        // The array form only where it tells something: small entries, batches large enough to show it.
        if (form === 'array' && (quick || entry !== 128 || batch < 256)) continue;
        const runs: number[] = [];
        for (let i = 0; i < ctx.opts.repeats; i++) {
          runs.push(await levelSyncedBatchRate(ctx.opts.tmp, batch, entry, ioMs, 3, form));
        }
        ctx.add({
          group: 'machine',
          name: LEVEL_NAMES[form],
          params: { batch, entry },
          unit: 'entries/s',
          value: summarize(runs.map((r) => r * batch)),
          extra: { 'batches/s': summarize(runs) },
        });
      }
    }
  }
}
