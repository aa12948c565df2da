/**
 * Start-up probe, run as a fresh process so its memory is the log's alone:
 * `node dist/bench/servers/open-log.js DIR` opens the log, serves one inclusion proof, and prints
 * one JSON line: open time, time to the first proof, and memory after opening.
 */
import { Log } from '../../src/sequencer/log.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: open-log.js DIR');
const base = process.memoryUsage();
const t0 = performance.now();
const log = await Log.open({ dir });
const openMs = performance.now() - t0;
const { size } = log.latest();
const t1 = performance.now();
if (size > 0n) await log.inclusionProof(size / 2n, size);
const firstProofMs = performance.now() - t1;
const mem = process.memoryUsage();
await log.close();
process.stdout.write(
  `${JSON.stringify({
    size: size.toString(),
    openMs,
    firstProofMs,
    rssBytes: mem.rss,
    rssDeltaBytes: mem.rss - base.rss,
    heapUsedBytes: mem.heapUsed,
  })}\n`,
);
