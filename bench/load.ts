/**
 * A closed-loop HTTP load generator on undici: `concurrency` workers, each with its own request in
 * flight at all times, over a pool of as many keep-alive connections, for a fixed duration.
 */
import { type Dispatcher, Pool } from 'undici';
import { nowMs, percentiles, Samples } from './stats.js';

export interface LoadRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
}

export interface LoadResult {
  /** Successful (2xx) requests per second over the whole run, drain included. */
  readonly rps: number;
  readonly ok: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  /** The first non-2xx status and body seen, to report what went wrong. */
  readonly firstError?: string;
}

/**
 * Runs `concurrency` workers against `origin` for `durationMs` (after `warmupMs` not counted);
 * `next(i)` builds the i-th request. `check`, if given, inspects each 2xx body (and may throw).
 */
export async function runLoad(
  origin: string,
  concurrency: number,
  durationMs: number,
  next: (i: number) => LoadRequest,
  opts: { warmupMs?: number; check?: (body: string) => void } = {},
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  let counter = 0;
  let measuring = false;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const lat = new Samples();
  const one = async () => {
    const req = next(counter++);
    const t0 = nowMs();
    const opts2: Dispatcher.RequestOptions = { method: req.method, path: req.path };
    if (req.headers) opts2.headers = req.headers;
    if (req.body !== undefined) opts2.body = req.body;
    const res = await pool.request(opts2);
    const text = await res.body.text();
    const dt = nowMs() - t0;
    if (res.statusCode >= 200 && res.statusCode < 300) {
      opts.check?.(text);
      if (measuring) {
        ok++;
        lat.push(dt);
      }
    } else {
      if (measuring) errors++;
      firstError ??= `${res.statusCode} ${text.slice(0, 300)}`;
    }
  };
  let stopAt = nowMs() + (opts.warmupMs ?? 0);
  const worker = async () => {
    while (nowMs() < stopAt) {
      try {
        await one();
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
    }
  };
  let start = 0;
  if (opts.warmupMs) await Promise.all(Array.from({ length: concurrency }, worker));
  measuring = true;
  start = nowMs();
  stopAt = start + durationMs;
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = nowMs() - start;
  await pool.close();
  const p = percentiles(lat.values());
  const result: LoadResult = { rps: ok / (elapsed / 1000), ok, errors, p50: p.p50, p99: p.p99 };
  return firstError === undefined ? result : { ...result, firstError };
}
