/**
 * The result model shared by every benchmark: one row per measured configuration, a main metric
 * summarized over repeated runs, optional secondary metrics (latency percentiles), and an optional
 * ratio to a baseline measured in the same run.
 */
import type { Stat } from './stats.js';

export type Params = Record<string, string | number | boolean>;

export interface Result {
  /** Which part of the harness produced it: machine, append, http, growth, hashchain. */
  readonly group: string;
  /** A short label, unique within the group together with params. */
  readonly name: string;
  readonly params: Params;
  readonly unit: string;
  readonly value: Stat;
  /** Secondary metrics, each summarized over the same runs (for example p50_ms, p99_ms). */
  readonly extra?: Record<string, Stat>;
  /** The main metric's median divided by baselines' medians, all from this run. */
  readonly ratios?: readonly Ratio[];
}

export interface Ratio {
  readonly to: string;
  readonly value: number;
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly kernel: string;
  readonly disk: string;
}

export interface Report {
  readonly mode: 'quick' | 'default';
  readonly startedAt: string;
  finishedAt?: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly repeats: number;
  readonly results: Result[];
  readonly notes: string[];
}

/** Finds the one result of a group and name whose params include `match`. */
export function find(report: Report, group: string, name: string, match: Params = {}): Result | undefined {
  return report.results.find(
    (r) => r.group === group && r.name === name && Object.entries(match).every(([k, v]) => r.params[k] === v),
  );
}
