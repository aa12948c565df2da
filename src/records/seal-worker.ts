/**
 * A thread that seals records (see seal-pool.ts): splitting, commitments, body encryption and
 * the canonical leaf are pure computations, so they run off the server's main thread.
 * Message in: `{ id, jobs: SealJob[] }`; out: `{ id, results: SealOutcome[] }`, in order.
 */
import { parentPort } from 'node:worker_threads';
import type { SealJob, SealOutcome } from './seal-pool.js';
import { sealRecord } from './seal.js';

const port = parentPort!;
port.on('message', (msg: { id: number; jobs: SealJob[] }) => {
  const results: SealOutcome[] = msg.jobs.map((job) => {
    try {
      const s = sealRecord(job.record, job);
      return { leafBytes: s.leafBytes, body: s.body };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { error: { code: e.code ?? 'INTERNAL', message: e.message ?? String(err) } };
    }
  });
  port.postMessage({ id: msg.id, results });
});
