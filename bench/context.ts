/** What every benchmark group receives: the options, the report it adds rows to, and helpers. */
import { resultRow } from './format.js';
import type { Params, Ratio, Report, Result } from './results.js';
import { type Stat, summarize } from './stats.js';

export interface Options {
  /** A one-minute pass over a reduced matrix; results are labelled quick. */
  readonly quick: boolean;
  /** Independent runs per configuration; every number is their median. */
  readonly repeats: number;
  /** Parent directory for temporary LevelDB directories (removed afterwards). */
  readonly tmp: string;
  /** Only these groups, when given (--only machine,append,...). */
  readonly only: readonly string[] | undefined;
  /** Largest tree for the growth benchmark (10^6 with --quick, 10^7 by default). */
  readonly growthMax: number;
}

export class Context {
  constructor(
    readonly opts: Options,
    readonly report: Report,
  ) {}

  /** Starts a section on the terminal. */
  section(title: string): void {
    process.stdout.write(`\n== ${title}\n`);
  }

  /** Records a result and prints it as one table row. */
  add(r: Result): Result {
    this.report.results.push(r);
    const [name, params, value, extra, ratio] = resultRow(r);
    const line = `${name!.padEnd(36)} ${params!.padEnd(40)} ${value!.padStart(36)}  ${extra}  ${ratio}`;
    process.stdout.write(`${line.trimEnd()}\n`);
    return r;
  }

  /** A note printed now and kept in the report (caveats, estimates). */
  note(text: string): void {
    this.report.notes.push(text);
    process.stdout.write(`   note: ${text}\n`);
  }

  /** Progress output that is not a result. */
  log(text: string): void {
    process.stdout.write(`   ${text}\n`);
  }

  /** Runs `fn` `opts.repeats` times (or `n`) and summarizes each returned metric over the runs. */
  async repeat<K extends string>(
    fn: (run: number) => Promise<Record<K, number>>,
    n = this.opts.repeats,
  ): Promise<Record<K, Stat>> {
    const runs: Record<string, number[]> = {};
    for (let i = 0; i < n; i++) {
      const m = await fn(i);
      for (const [k, v] of Object.entries(m) as [string, number][]) {
        runs[k] = [...(runs[k] ?? []), v];
      }
    }
    return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, summarize(v)])) as Record<K, Stat>;
  }

  /** Synchronous variant of `repeat` for CPU-bound loops. */
  repeatSync(fn: () => number, n = this.opts.repeats): Stat {
    const runs: number[] = [];
    for (let i = 0; i < n; i++) runs.push(fn());
    return summarize(runs);
  }

  /** A recorded result: the first of `group` and `name` whose params include `match`. */
  result(group: string, name: string, match: Params = {}): Result | undefined {
    return this.report.results.find(
      (x) =>
        x.group === group && x.name === name && Object.entries(match).every(([k, v]) => x.params[k] === v),
    );
  }

  /** The median of a recorded result, for ratios. */
  median(group: string, name: string, match: Params = {}): number | undefined {
    return this.result(group, name, match)?.value.median;
  }
}

/** Ratios of `value`'s median to each baseline found (missing baselines are left out). */
export function ratios(value: Stat, baselines: [string, number | undefined][]): Ratio[] {
  return baselines
    .filter((b): b is [string, number] => b[1] !== undefined && b[1] !== 0)
    .map(([to, base]) => ({ to, value: value.median / base }));
}
