/**
 * Sealing records on worker threads. Parsing, validation, keys and the log stay on the main
 * thread; what a worker does is `sealRecord`, which is a pure function of the record, its id,
 * its time and its subject key, so the bytes are the same whichever thread computes them.
 * On the benchmark machine sealing was about a quarter of the main thread's time per record.
 *
 * Workers start on first use and are unreferenced (they never keep a process alive). If a
 * worker fails, the pool stops using threads and seals in the calling thread from then on.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AuditlogError, type ErrorCode } from '../errors.js';
import type { AuditRecord } from './schema.js';
import { sealRecord } from './seal.js';

/** What sealing one record needs. */
export interface SealJob {
  record: AuditRecord;
  recordId: string;
  loggedAtMs: number;
  subjectKey: Uint8Array | null;
  /** The key and tag of a person the record names besides its subject (see sealRecord). */
  named?: { tag: Uint8Array; key: Uint8Array } | null;
}

/** The leaf and body of a sealed record, or why it could not be sealed. */
export type SealOutcome =
  | { leafBytes: Uint8Array; body: Uint8Array | null }
  | { error: { code: string; message: string } };

/** Threads used: one less than the cores, at least one, at most four. */
export const SEAL_THREADS = Math.max(1, Math.min(4, availableParallelism() - 1));

export class SealPool {
  private workers: Worker[] = [];
  private next = 0;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (r: SealOutcome[]) => void; reject: (e: unknown) => void }
  >();
  private broken = false;

  constructor(private readonly size = SEAL_THREADS) {}

  /** Worker threads running now (0 before first use, after close, or once a worker failed). */
  get threads(): number {
    return this.workers.length;
  }

  /**
   * Seals `jobs` (on a worker when the pool works, else here); resolves in order.
   * @throws AuditlogError from the first job that failed (e.g. TOO_LARGE), after all were tried.
   */
  async seal(jobs: SealJob[]): Promise<{ leafBytes: Uint8Array; body: Uint8Array | null }[]> {
    const outcomes = this.broken
      ? jobs.map(sealOutcome)
      : await this.onWorker(jobs).catch(() => jobs.map(sealOutcome));
    return outcomes.map((o) => {
      if ('error' in o) throw new AuditlogError(o.error.code as ErrorCode, o.error.message);
      return o;
    });
  }

  private onWorker(jobs: SealJob[]): Promise<SealOutcome[]> {
    if (this.workers.length === 0) this.start();
    const worker = this.workers[this.next++ % this.workers.length]!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, jobs });
    });
  }

  private start(): void {
    // The worker runs compiled JavaScript; loaded from TypeScript sources (vitest), dist/ provides it.
    const url = import.meta.url.endsWith('.ts')
      ? new URL('../../dist/src/records/seal-worker.js', import.meta.url)
      : new URL('./seal-worker.js', import.meta.url);
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(url);
      w.unref();
      w.on('message', (m: { id: number; results: SealOutcome[] }) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        p?.resolve(m.results);
      });
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`seal worker exited with ${code}`));
      });
      this.workers.push(w);
    }
  }

  /** A worker failed: every waiting call falls back to sealing here, and so do later ones. */
  private fail(err: unknown): void {
    if (this.broken) return;
    this.broken = true;
    process.stderr.write(
      `auditlog: seal worker failed, sealing on the main thread: ${(err as Error).message}\n`,
    );
    for (const p of this.waiting.values()) p.reject(err);
    this.waiting.clear();
    const ws = this.workers;
    this.workers = [];
    for (const w of ws) void w.terminate();
  }

  /** Stops the workers (waiting calls fall back to sealing here). */
  async close(): Promise<void> {
    this.broken = true;
    for (const p of this.waiting.values()) p.reject(new Error('closed'));
    this.waiting.clear();
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** Seals one job where it is called, turning a failure into its outcome (the worker uses this too). */
export function sealOutcome(job: SealJob): SealOutcome {
  try {
    const s = sealRecord(job.record, job);
    return { leafBytes: s.leafBytes, body: s.body };
  } catch (err) {
    const code = err instanceof AuditlogError ? err.code : 'INTERNAL';
    return { error: { code, message: (err as Error).message ?? String(err) } };
  }
}
