/**
 * In-process durable append throughput: batch size x entry size x signing policy. Every batch
 * is one LevelDB batch written with sync: true; a submitter's promise resolves after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ed25519Signer, generateSeed, type Signer, withLatency } from '../../src/note/signer.js';
import { MAX_LANE_BLOCKS } from '../../src/merkle/sha256x4.js';
import { Log } from '../../src/sequencer/log.js';
import { type Context, ratios } from '../context.js';
import { nowMs, percentiles, Samples, summarize } from '../stats.js';
import { records } from './hashchain.js';
import { LEVEL_NAMES } from './machine.js';
import { levelSyncedBatchRate } from '../machine.js';
import { timedStore, WriteTimes } from '../write-timing.js';

export const ORIGIN = 'bench.example/log';

export interface Policy {
  /** Label used in tables, JSON and the chart. */
  readonly name: string;
  readonly signPerEntry: boolean;
  readonly latencyMs: number;
}

export const POLICIES: readonly Policy[] = [
  { name: 'per-entry signature', signPerEntry: true, latencyMs: 0 },
  { name: 'per-batch signature', signPerEntry: false, latencyMs: 0 },
  { name: 'per-batch, 1 ms signer', signPerEntry: false, latencyMs: 1 },
  { name: 'per-batch, 10 ms signer', signPerEntry: false, latencyMs: 10 },
];

/** A fresh signer for the bench origin, slowed by `latencyMs` per signature when asked. */
export function benchSigner(latencyMs: number): Signer {
  const s = ed25519Signer(ORIGIN, generateSeed());
  return latencyMs > 0 ? withLatency(s, latencyMs) : s;
}

export interface AppendRun {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly committed: number;
  /** CPU time (user + system, every thread of the process) per committed entry, µs. */
  readonly cpuUs: number;
  /**
   * Share of the measured window in which the main thread was busy (its event-loop utilization,
   * node:perf_hooks); the rest it waited with nothing to do: for a write on the disk, a signer, or
   * submitters that had not appended again.
   */
  readonly mainBusy: number;
  /** The measured window (nowMs): after the warm-up, to the end of the drain. */
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * Keeps `inFlight` appends outstanding against `log` (each completion immediately issues the next).
 * The first `warmupMs` are not counted (a fresh log's first batches run with cold JIT code in the
 * leaf-hash index's new worker thread and an empty LevelDB); then it measures until `minMs` have
 * passed and at least `minEntries` committed, or `maxMs`, and drains. Returns entries/s over the
 * measured part, drain included, counting only appends submitted after the warm-up (so the
 * rate is, if anything, low by the appends in flight at its start), and their commit latency.
 */
export async function driveAppends(
  log: Log,
  entries: Iterator<Uint8Array>,
  inFlight: number,
  minMs: number,
  minEntries: number,
  maxMs: number,
  warmupMs = 0,
): Promise<AppendRun> {
  const lat = new Samples();
  let cpu0 = process.cpuUsage();
  let elu0 = performance.eventLoopUtilization();
  const opened = nowMs();
  let start = opened;
  let measuring = warmupMs <= 0;
  let stop = false;
  const worker = async () => {
    // One clock read per append: an append is issued right after the previous one of this
    // worker resolves, so that moment is the next append's start (the bookkeeping between them,
    // a fraction of a microsecond, counts as latency).
    let t0 = nowMs();
    while (!stop) {
      await log.append(entries.next().value!);
      const t1 = nowMs();
      const submitted = t0;
      t0 = t1;
      if (!measuring) {
        if (t1 - opened < warmupMs) continue;
        measuring = true;
        start = t1;
        cpu0 = process.cpuUsage();
        elu0 = performance.eventLoopUtilization();
      }
      if (submitted < start) continue; // submitted during the warm-up
      lat.push(t1 - submitted);
      const elapsed = t1 - start;
      if ((elapsed >= minMs && lat.length >= minEntries) || elapsed >= maxMs) stop = true;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const end = nowMs();
  const elapsed = end - start;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const p = percentiles(lat.values());
  return {
    rate: lat.length / (elapsed / 1000),
    p50: p.p50,
    p99: p.p99,
    committed: lat.length,
    cpuUs: (cpu.user + cpu.system) / lat.length,
    mainBusy: elu.utilization,
    startMs: start,
    endMs: end,
  };
}

/**
 * Runs per configuration: HEADLINE_REPEAT_FACTOR times `repeats` for the headline comparison
 * (256-entry batches of 128-byte entries), `repeats` for the rest. On the shared machines of
 * bench/results two runs of the same configuration a minute apart differ by up to ±30% (the
 * per-entry policy's rate most), so a median of three moved the headline ratio by several
 * units from one full run to the next; more runs of that one cell cost ~10 s.
 */
export function appendRepeats(repeats: number, batch: number, entry: number): number {
  return batch === 256 && entry === 128 ? HEADLINE_REPEAT_FACTOR * repeats : repeats;
}

export const HEADLINE_REPEAT_FACTOR = 5;

/**
 * Appends kept in flight, in batches: IN_FLIGHT_BATCHES x the batch size, for every policy.
 * The log stages up to 8 batches ahead of the write on the disk (spec/commit-protocol.md) so
 * that a slow fsync is ridden out by writing the batches staged meanwhile together; with only
 * two batches offered, one is on the disk and one staged, and during every fsync slower than
 * staging a batch the main thread waits with nothing to do. On the machine of bench/results
 * (2 cores, virtio disk), 4 batches against 2 raised the batched rate at 256-entry batches by
 * 7% in a phase of fast fsyncs and by up to 33% in a phase of slow ones (medians of 5–7
 * alternating runs), and left the per-entry policy's rate where it was (it is bound by its
 * signatures); 6 or 8 batches gained little more and cost CPU per entry (bench/README.md).
 */
export const IN_FLIGHT_BATCHES = 4;

/**
 * Warm-up of each append run, not counted (ms). A fresh log starts slowly even in a process
 * whose JIT is warm: its leaf-hash index starts a worker thread, LevelDB starts empty, and
 * the heap grows to the load; rates in 100 ms bins of a fresh log climb for most of its first
 * second. With 300 ms of warm-up the batched rate at 256-entry batches was 16% below its rate
 * with 1000 ms (medians of 5 alternating runs); the per-entry policy's did not move.
 */
export function appendWarmupMs(quick: boolean): number {
  return quick ? 100 : 1000;
}

export async function appendBench(
  ctx: Context,
  batchSizes: number[],
  entrySizes: number[],
  policies: readonly Policy[],
): Promise<void> {
  const { quick, tmp } = ctx.opts;
  const minMs = quick ? 150 : 500;
  const warmupMs = appendWarmupMs(quick);
  ctx.section(
    `in-process durable append (sync: true per batch), ${IN_FLIGHT_BATCHES} x batch appends in flight, ${warmupMs} ms ` +
      'of warm-up per run not counted; each run of every policy next to a run of the LevelDB ceiling',
  );
  /** A run, with its writes timed: p50/p99 write time and the share of time in stalled writes. */
  const one = async (
    policy: Policy,
    batch: number,
    entry: number,
  ): Promise<AppendRun & { writes: ReturnType<WriteTimes['summary']> }> => {
    const dir = await mkdtemp(path.join(tmp, 'append-'));
    const times = new WriteTimes();
    const log = await Log.open({
      dir,
      origin: ORIGIN,
      signer: benchSigner(policy.latencyMs),
      maxBatchSize: batch,
      maxQueue: Math.max(65_536, IN_FLIGHT_BATCHES * batch),
      signPerEntry: policy.signPerEntry,
      wrapStore: (s) => timedStore(s, times),
    });
    try {
      const run = await driveAppends(
        log,
        records(1e12, entry),
        IN_FLIGHT_BATCHES * batch,
        minMs,
        2 * batch,
        6 * minMs,
        warmupMs,
      );
      return { ...run, writes: times.summary(run.startMs, run.endMs) };
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
  for (const entry of entrySizes) {
    for (const batch of batchSizes) {
      // Interleave: run r of the ceiling and of every policy happen back to back, so that the
      // shared machine's drift affects all of them alike and the ratios compare like with like.
      const ceiling: number[] = [];
      const runs = new Map<string, Awaited<ReturnType<typeof one>>[]>(policies.map((p) => [p.name, []]));
      for (let r = 0; r < appendRepeats(ctx.opts.repeats, batch, entry); r++) {
        ceiling.push(batch * (await levelSyncedBatchRate(tmp, batch, entry, minMs, 3, 'bundled')));
        for (const policy of policies) runs.get(policy.name)!.push(await one(policy, batch, entry));
      }
      const ceil = ctx.add({
        group: 'machine',
        name: LEVEL_NAMES.bundled,
        params: { batch, entry },
        unit: 'entries/s',
        value: summarize(ceiling),
      });
      for (const policy of policies) {
        const rs = runs.get(policy.name)!;
        const rate = summarize(rs.map((x) => x.rate));
        ctx.add({
          group: 'append',
          name: policy.name,
          params: { batch, entry },
          unit: 'entries/s',
          value: rate,
          extra: {
            p50_ms: summarize(rs.map((x) => x.p50)),
            p99_ms: summarize(rs.map((x) => x.p99)),
            cpu_us_per_entry: summarize(rs.map((x) => x.cpuUs)),
            write_p50_ms: summarize(rs.map((x) => x.writes.p50)),
            write_p99_ms: summarize(rs.map((x) => x.writes.p99)),
            stalled_write_share: summarize(rs.map((x) => x.writes.stallShare)),
            main_thread_busy: summarize(rs.map((x) => x.mainBusy)),
          },
          ratios: ratios(rate, [
            ['LevelDB synced batch', ceil.value.median],
            [
              'SHA-256 of the leaf',
              // What the append path uses for the leaf: four lanes up to MAX_LANE_BLOCKS, else node:crypto.
              ctx.median(
                'machine',
                entry + 10 <= MAX_LANE_BLOCKS * 64 ? 'sha256 four lanes (wasm)' : 'sha256 node:crypto',
                { bytes: entry + 1 },
              ),
            ],
            [
              'ed25519 node:crypto',
              policy.signPerEntry ? ctx.median('machine', 'ed25519 sign node:crypto') : undefined,
            ],
          ]),
        });
      }
    }
  }
  // The headline comparison: batched over per-entry signing at the same batch size and entry
  // size. The value is the ratio of the two medians; `paired` summarizes the ratios of the runs
  // made back to back (run r of each policy), which shows how far the ratio itself moves on
  // this machine, not only each rate.
  for (const entry of entrySizes) {
    for (const batch of batchSizes) {
      const perEntry = ctx.result('append', POLICIES[0]!.name, { batch, entry })?.value;
      for (const policy of policies.slice(1)) {
        const v = ctx.result('append', policy.name, { batch, entry })?.value;
        if (perEntry === undefined || v === undefined) continue;
        const n = Math.min(v.runs.length, perEntry.runs.length);
        ctx.report.results.push({
          group: 'append-speedup',
          name: `${policy.name} / per-entry`,
          params: { batch, entry },
          unit: 'x',
          value: summarize([v.median / perEntry.median]),
          extra: { paired: summarize(Array.from({ length: n }, (_, r) => v.runs[r]! / perEntry.runs[r]!)) },
        });
      }
    }
  }
}
