/**
 * Summaries of repeated measurements. Every number the harness reports is the median of
 * `n` independent runs, printed with the smallest and largest run so the spread is visible.
 */

/** The median and range of a set of runs. */
export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  readonly runs: readonly number[];
}

/** Summarizes runs; requires at least one run. */
export function summarize(runs: readonly number[]): Stat {
  if (runs.length === 0) throw new Error('summarize: no runs');
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    median: quantileSorted(sorted, 0.5),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    n: sorted.length,
    runs: [...runs],
  };
}

/** The q-quantile (0 <= q <= 1) of sorted samples, interpolating linearly between ranks. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** p50 and p99 of latency samples in milliseconds. */
export function percentiles(samples: Float64Array | number[]): { p50: number; p99: number } {
  const sorted = Float64Array.from(samples).sort();
  return { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99) };
}

/** Milliseconds since an arbitrary origin, with sub-microsecond resolution. */
export function nowMs(): number {
  // performance.now() is monotonic with sub-microsecond resolution in Node and, unlike
  // process.hrtime.bigint(), allocates nothing: the append driver calls it once per append.
  return performance.now();
}

/** A growable buffer of latency samples, cheaper than number[] for millions of pushes. */
export class Samples {
  private buf = new Float64Array(1024);
  private len = 0;

  push(v: number): void {
    if (this.len === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = v;
  }

  get length(): number {
    return this.len;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Runs `body` until it has taken at least `minMs` (after an untimed warm-up of a fifth of that) and returns ops/s. */
export function rateLoop(body: () => void, opsPerCall: number, minMs: number): number {
  const warm = nowMs();
  do body();
  while (nowMs() - warm < minMs / 5);
  let calls = 0;
  const start = nowMs();
  let elapsed = 0;
  do {
    body();
    calls++;
    elapsed = nowMs() - start;
  } while (elapsed < minMs);
  return (calls * opsPerCall) / (elapsed / 1000);
}
