/**
 * `npm run bench [-- options]`: measures the log against the machine it runs on and writes
 * bench/results/{bench.json, append-throughput.svg, README-perf.md}. Every number is the median
 * of repeated runs with its range (min–max); every ratio compares medians from the same run.
 *
 *   --quick              about a minute or two: shorter runs, 128-byte entries only, growth to 10^6
 *   --json FILE          also write the raw results to FILE
 *   --repeats N          runs per configuration (default 3)
 *   --only G1,G2         only these groups: machine, append, hashchain, http, growth (then the
 *                        committed results are not overwritten unless --out is given)
 *   --out DIR            where to write the results (default bench/results)
 *   --tmp DIR            parent of the temporary LevelDB directories (default the OS temp dir)
 *   --growth-max N       largest tree for the growth group (default 10^7; 10^6 with --quick)
 *   --growth-budget-s S  skip a growth step estimated to take longer (default 300; 90 with --quick)
 *   --note TEXT          add a note about the run to the report (repeatable)
 *   --from-json FILE     measure nothing: regenerate the chart and README section from FILE
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context, type Options } from './context.js';
import { resultRow, table } from './format.js';
import { appendBench, POLICIES } from './groups/append.js';
import { growthBench } from './groups/growth.js';
import { hashChainBench } from './groups/hashchain.js';
import { httpBench } from './groups/http.js';
import { LEVEL_NAMES, machineBench } from './groups/machine.js';
import { machineInfo } from './machine.js';
import { performanceMarkdown } from './markdown.js';
import { chartSvg } from './svg.js';
import type { Report } from './results.js';

const GROUPS = ['machine', 'hashchain', 'append', 'http', 'growth'] as const;

interface Args extends Options {
  readonly json: string | undefined;
  readonly out: string;
  readonly growthBudgetS: number;
  readonly outGiven: boolean;
  readonly fromJson: string | undefined;
  /** Free text added to the report's notes (--note, repeatable): how and where the run was made. */
  readonly notes: string[];
}

function parseArgs(argv: string[]): Args {
  let quick = false;
  let json: string | undefined;
  let repeats: number | undefined;
  let only: string[] | undefined;
  let tmp = os.tmpdir();
  let growthMax: number | undefined;
  let growthBudgetS: number | undefined;
  let outGiven = false;
  let fromJson: string | undefined;
  const notes: string[] = [];
  const here = path.dirname(fileURLToPath(import.meta.url));
  let out = path.resolve(here, '..', '..', 'bench', 'results');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') quick = true;
    else if (a === '--json') json = value();
    else if (a === '--repeats') repeats = Number.parseInt(value(), 10);
    else if (a === '--only') only = value().split(',');
    else if (a === '--tmp') tmp = value();
    else if (a === '--note') notes.push(value());
    else if (a === '--out') {
      out = value();
      outGiven = true;
    } else if (a === '--from-json') fromJson = value();
    else if (a === '--growth-max') growthMax = Number(value());
    else if (a === '--growth-budget-s') growthBudgetS = Number(value());
    else throw new Error(`unknown argument ${a}`);
  }
  for (const g of only ?? []) {
    if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`unknown group ${g}; groups: ${GROUPS}`);
  }
  return {
    quick,
    json,
    out,
    repeats: repeats ?? 3,
    only,
    tmp,
    growthMax: growthMax ?? (quick ? 1e6 : 1e7),
    growthBudgetS: growthBudgetS ?? (quick ? 90 : 300),
    outGiven,
    fromJson,
    notes,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.fromJson) {
    // Regenerate the chart and the README section from an earlier run, measuring nothing.
    const report = JSON.parse(await readFile(args.fromJson, 'utf8')) as Report;
    await writeOutputs(report, { ...args, only: undefined });
    return;
  }
  await mkdir(args.tmp, { recursive: true });
  const tmp = await mkdtemp(path.join(args.tmp, 'auditlog-bench-'));
  const report: Report = {
    mode: args.quick ? 'quick' : 'default',
    startedAt: new Date().toISOString(),
    command: `node dist/bench/run.js ${process.argv
      .slice(2)
      .map((a) => (/\s/.test(a) ? JSON.stringify(a) : a))
      .join(' ')}`.trim(),
    machine: machineInfo(tmp),
    repeats: args.repeats,
    results: [],
    notes: [...args.notes],
  };
  const ctx = new Context({ ...args, tmp }, report);
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
  ctx.note(`load average (1, 5, 15 min) at the start: ${load()}`);
  const m = report.machine;
  process.stdout.write(
    `auditlog bench (${report.mode}, ${args.repeats} runs each; median (min–max))\n` +
      `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; disk: ${m.disk}\n`,
  );
  const want = (g: string) => !args.only || args.only.includes(g);
  const batchSizes = [1, 16, 256, 4096];
  const entrySizes = [128, 1024, 16384];
  try {
    const appendEntrySizes = args.quick ? [128] : entrySizes;
    const groups: [string, () => Promise<void>][] = [
      ['machine', () => machineBench(ctx, batchSizes, appendEntrySizes)],
      ['append', () => appendBench(ctx, batchSizes, appendEntrySizes, POLICIES)],
      ['hashchain', () => hashChainBench(ctx, [128, 1024], args.quick ? 1e5 : 1e6)],
      ['http', () => httpBench(ctx, args.quick ? [1, 64] : [1, 16, 64, 256])],
      [
        'growth',
        () =>
          growthBench(
            ctx,
            [1e4, 1e5, 1e6, 1e7].filter((n) => n <= args.growthMax),
            args.growthBudgetS,
          ),
      ],
    ];
    for (const [name, run] of groups) {
      if (!want(name)) continue;
      // One group failing (a server that does not start, say) must not lose the others' results.
      const t0 = Date.now();
      try {
        await run();
        ctx.log(`(${name} took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      } catch (err) {
        ctx.note(`the ${name} benchmarks failed: ${(err as Error).message.split('\n')[0]}`);
        process.stderr.write(`${(err as Error).stack}\n`);
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  ctx.note(`load average at the end: ${load()}`);
  report.finishedAt = new Date().toISOString();

  process.stdout.write('\n== summary\n');
  process.stdout.write(
    `${table(['benchmark', 'params', 'median (min–max)', 'latency', 'ratio'], report.results.map(resultRow))}\n`,
  );
  await writeOutputs(report, args);
}

/** Writes the JSON, the chart and the README section. */
async function writeOutputs(report: Report, args: Args): Promise<void> {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (args.json && !args.fromJson) {
    await mkdir(path.dirname(path.resolve(args.json)), { recursive: true });
    await writeFile(args.json, json);
    process.stdout.write(`wrote ${args.json}\n`);
  }
  // A partial run (--only) does not overwrite the committed results unless --out says where to write.
  if (!args.only || args.outGiven) {
    await mkdir(args.out, { recursive: true });
    const policies = POLICIES.map((p) => p.name);
    // Links in the README section are relative to the repository root, where npm runs the bench.
    const rel = path.relative(process.cwd(), path.resolve(args.out)).split(path.sep).join('/');
    const files: [string, string][] = [
      ['bench.json', json],
      ['append-throughput.svg', chartSvg(report, policies, LEVEL_NAMES.bundled)],
      [
        'README-perf.md',
        performanceMarkdown(report, {
          policies,
          ceilingName: LEVEL_NAMES.bundled,
          chartPath: `${rel}/append-throughput.svg`,
          jsonPath: `${rel}/bench.json`,
        }),
      ],
    ];
    for (const [name, text] of files) {
      if (text === '') continue;
      await writeFile(path.join(args.out, name), text);
      process.stdout.write(`wrote ${path.join(args.out, name)}\n`);
    }
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
