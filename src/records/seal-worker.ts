/**
 * A thread that seals records (see seal-pool.ts): splitting, commitments, body encryption and
 * the canonical leaf are pure computations, so they run off the server's main thread.
 * Message in: `{ id, jobs: SealJob[] }`; out: `{ id, results: SealOutcome[] }`, in order.
 */
import { parentPort } from 'node:worker_threads';
import { type SealJob, type SealOutcome, sealOutcome } from './seal-pool.js';

const port = parentPort!;
port.on('message', (msg: { id: number; jobs: SealJob[] }) => {
  const results: SealOutcome[] = msg.jobs.map(sealOutcome);
  port.postMessage({ id: msg.id, results });
});
