/**
 * The README performance section, generated from a report so that the numbers in the README are
 * exactly those of a run: medians of repeated runs, each with its min–max range.
 */
import { bytes, ms, si, sig } from './format.js';
import type { Params, Report, Result } from './results.js';
import type { Stat } from './stats.js';
import { appendWarmupMs, IN_FLIGHT_BATCHES } from './groups/append.js';
import { STALL_MS } from './write-timing.js';

function get(report: Report, group: string, name: string, match: Params = {}): Result | undefined {
  return report.results.find(
    (r) => r.group === group && r.name === name && Object.entries(match).every(([k, v]) => r.params[k] === v),
  );
}

/** "34.7k (30.9k–37.2k)". */
function rng(s: Stat | undefined, f: (v: number) => string = si): string {
  if (!s) return '–';
  if (s.n === 1 || s.min === s.max) return f(s.median);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function mdTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function clients(c: unknown): string {
  return `${c} concurrent client${c === 1 ? '' : 's'}`;
}

function entryLabel(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

/**
 * " (runs paired back to back: median 16.7x, 13.7–29.9x)" for a speed-up result that carries
 * paired ratios, else "".
 */
function pairedNote(r: Result | undefined): string {
  const p = r?.extra?.paired;
  if (!p || p.n < 2) return '';
  return ` (runs paired back to back: median ${sig(p.median)}x, ${sig(p.min)}–${sig(p.max)}x)`;
}

export interface MarkdownOptions {
  readonly policies: readonly string[];
  readonly ceilingName: string;
  /** Chart path relative to the README. */
  readonly chartPath: string;
  readonly jsonPath: string;
}

/** The speed-up of `policy` over per-entry signing at (batch, entry), if measured. */
function speedup(report: Report, policy: string, batch: number, entry: number): Result | undefined {
  return report.results.find(
    (r) =>
      r.group === 'append-speedup' &&
      r.name === `${policy} / per-entry` &&
      r.params.batch === batch &&
      r.params.entry === entry,
  );
}

/** The issues' performance targets, each with the measured value from this run and whether it is met. */
function targetRows(report: Report, o: MarkdownOptions, entries: number[], batches: number[]): string[][] {
  const rows: string[][] = [];
  const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
  const e0 = entries[0];
  if (e0 === undefined) return rows;
  const batched = get(report, 'append', o.policies[1]!, { batch: 256, entry: e0 });
  if (batched) {
    rows.push([
      `>= 200k durable entries/s in process, 256-entry batches (${e0} B entries)`,
      `${rng(batched.value)} entries/s`,
      yes(batched.value.median >= 200_000),
    ]);
  }
  const speed = speedup(report, o.policies[1]!, 256, e0);
  if (speed) {
    rows.push([
      'batched signing >= 20x per-entry signing at 256-entry batches',
      `${sig(speed.value.median)}x${pairedNote(speed)}`,
      yes(speed.value.median >= 20),
    ]);
  }
  const slow = o.policies.at(-1)!;
  const slowBest = report.results
    .filter((r) => r.group === 'append' && r.name === slow && r.params.entry === e0)
    .sort((a, b) => b.value.median - a.value.median)[0];
  if (slowBest) {
    rows.push([
      'tens of thousands of entries/s with a 10 ms signer',
      `${rng(slowBest.value)} entries/s (batch ${slowBest.params.batch}, largest of ${batches.join('/')})`,
      yes(slowBest.value.median >= 20_000),
    ]);
  }
  const http = report.results
    .filter((r) => r.group === 'http' && r.name === 'auditlog POST /v1/entries')
    .sort((a, b) => (b.ratios?.[0]?.value ?? 0) - (a.ratios?.[0]?.value ?? 0))[0];
  if (http?.ratios?.[0]) {
    rows.push([
      'HTTP submit >= 0.5x a bare hono POST handler',
      `${sig(http.ratios[0].value)}x (best, at ${clients(http.params.concurrency)})`,
      yes(http.ratios[0].value >= 0.5),
    ]);
  }
  const recs = report.results.filter(
    (r) => r.group === 'http' && r.name.startsWith('auditlog POST /v1/records'),
  );
  const pairs = recs
    .map(
      (r) =>
        [
          r,
          get(report, 'http', 'auditlog POST /v1/entries', { concurrency: r.params.concurrency! }),
        ] as const,
    )
    .filter((p): p is readonly [Result, Result] => p[1] !== undefined)
    .map(([r, e]) => ({ c: r.params.concurrency, x: r.value.median / e.value.median }))
    .sort((a, b) => a.x - b.x);
  const worst = pairs[0];
  if (worst) {
    rows.push([
      'record ingestion within 2x of raw /v1/entries (16 records per request)',
      `records/s = ${sig(worst.x)}x (at ${clients(worst.c)}) to ${sig(pairs.at(-1)!.x)}x ` +
        `(at ${clients(pairs.at(-1)!.c)}) entries/s`,
      yes(worst.x >= 0.5),
    ]);
  }
  return rows;
}

/**
 * Where the batched and per-entry appends spend their time, from this run's own numbers: what
 * the speed-up over per-entry signing is made of, and what 20x would require.
 */
function speedupExplained(report: Report, o: MarkdownOptions): string[] {
  const e0 = 128;
  const per = get(report, 'append', o.policies[0]!, { batch: 256, entry: e0 });
  const batched = get(report, 'append', o.policies[1]!, { batch: 256, entry: e0 });
  const signRate = get(report, 'machine', 'ed25519 sign node:crypto')?.value.median;
  const lanes = (bytes: number) =>
    get(report, 'machine', 'sha256 four lanes (wasm)', { bytes })?.value.median;
  const leafRate = lanes(e0 + 1);
  const nodeRate = lanes(65);
  if (!per || !batched || !signRate || !leafRate || !nodeRate) return [];
  const us = (rate: number) => 1e6 / rate;
  const perUs = us(per.value.median);
  const batchedUs = us(batched.value.median);
  const cpu = (r: Result) => r.extra?.cpu_us_per_entry?.median;
  const batchedCpu = cpu(batched);
  const perCpu = cpu(per);
  const ratio = perUs / batchedUs;
  const hashUs = us(leafRate) + us(nodeRate);
  return [
    `What the speed-up is made of, at 256-entry batches of ${e0}-byte entries in this run: an ` +
      `entry whose checkpoint is signed on its own takes ${ms(perUs / 1000)} ms of wall time` +
      (perCpu === undefined ? '' : ` (${ms(perCpu / 1000)} ms of CPU across the process's threads)`) +
      `, an entry in a batch signed once ${sig(batchedUs)} µs` +
      (batchedCpu === undefined ? '' : ` (${sig(batchedCpu)} µs of CPU)`) +
      '. The difference is the per-entry checkpoint: the tree root after every entry, the note, ' +
      `a node:crypto Ed25519 signature (${sig(us(signRate))} µs alone in this run) and a receipt ` +
      `against that checkpoint. ${sig(ratio)}x is that per-entry cost over everything else an ` +
      `append does; 20x needs a batched entry to cost at most ${sig(perUs / 20)} µs of wall time, ` +
      `and it cost ${sig(batchedUs)} µs. Of that, its two SHA-256 hashes take ${sig(hashUs)} µs (four SIMD lanes, ${e0 + 1} + 65 ` +
      'bytes; one at a time with libsodium they take ' +
      `${sig(sodiumUs(report, e0 + 1) + sodiumUs(report, 65))} µs); the rest is the LevelDB write, ` +
      `the leaf-hash index, receipts and garbage collection on ${report.machine.cores} cores. The ` +
      `batched path pays one signature per 256 entries (${sig(us(signRate) / 256)} µs per entry).` +
      stallsExplained(batched, batchedUs),
    '',
  ];
}

/**
 * The batched run's writes as the commit loop saw them (bench/write-timing.ts: p50/p99 from the
 * store's commit call to the loop seeing it settle), and how busy the main thread was (its
 * event-loop utilization over the measured window). The main thread does all of an append's
 * work but the write and LevelDB's own threads, so without its waits a batched entry would cost
 * about `batchedUs` times the busy share. Results measured before the busy share was recorded
 * (2 x the batch in flight) fall back to the share of time a write slower than STALL_MS was on
 * the disk, during which, with two batches in flight, nothing else could proceed. Empty for
 * results measured before either.
 */
function stallsExplained(batched: Result, batchedUs: number): string {
  const p50 = batched.extra?.write_p50_ms?.median;
  const p99 = batched.extra?.write_p99_ms?.median;
  const busy = batched.extra?.main_thread_busy?.median;
  const share = batched.extra?.stalled_write_share?.median;
  if (p50 === undefined || p99 === undefined) return '';
  const writes =
    ' Its durable writes (one LevelDB batch with sync: true each, one on the disk at a time, carrying ' +
    `every batch signed by the time it starts) took ${ms(p50)} ms at p50 and ${ms(p99)} ms at p99 as ` +
    'the commit loop saw them';
  if (busy !== undefined) {
    return (
      `${writes}. The main thread, which does all of an append's work but the write, was busy ` +
      `${(100 * busy).toFixed(0)}% of the measured time; the rest it waited, every batch in flight ` +
      'staged, for a write on the disk (an fsync slower than staging the batches behind it; among ' +
      'them those queued behind the fsync of a level-0 table, which LevelDB writes whenever its ' +
      `memtable fills). Without those waits a batched entry would cost about ${sig(batchedUs * busy)} µs.`
    );
  }
  if (share === undefined) return '';
  return (
    `${writes}; for ${(100 * share).toFixed(0)}% of the measured time a write slower than ${STALL_MS} ms ` +
    'was on the disk (among them those queued behind the fsync of a level-0 table, which LevelDB ' +
    'writes whenever its memtable fills). With twice the batch size in flight the log has nothing ' +
    `else to do meanwhile: without those stalls a batched entry would cost about ${sig(batchedUs * (1 - share))} µs.`
  );
}

/** Microseconds per libsodium SHA-256 of `bytes` bytes in this run (NaN if not measured). */
function sodiumUs(report: Report, bytes: number): number {
  const rate = get(report, 'machine', 'sha256 libsodium', { bytes })?.value.median;
  return rate ? 1e6 / rate : Number.NaN;
}

export function performanceMarkdown(report: Report, o: MarkdownOptions): string {
  const m = report.machine;
  const out: string[] = [];
  const append = report.results.filter((r) => r.group === 'append');
  /** Runs behind the headline comparison (more than the rest since HEADLINE_REPEAT_FACTOR). */
  const headlineRuns = get(report, 'append', o.policies[1]!, { batch: 256, entry: 128 })?.value.n;
  const entries = [...new Set(append.map((r) => Number(r.params.entry)))].sort((a, b) => a - b);
  const batches = [...new Set(append.map((r) => Number(r.params.batch)))].sort((a, b) => a - b);
  out.push(
    '## Performance',
    '',
    `Measured with \`${report.command.replace('node dist/bench/run.js', 'npm run bench --')}\`` +
      `${report.mode === 'quick' ? ' (**quick run**: shorter runs and a reduced matrix)' : ''} ` +
      `on ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ` +
      `Node ${m.node}, ${m.platform} (kernel ${m.kernel}), disk: ${m.disk}. ` +
      'A shared, noisy virtual machine: every number is the median of ' +
      `${report.repeats} runs${headlineRuns !== undefined && headlineRuns !== report.repeats ? ` (${headlineRuns} for the headline comparison, 256-entry batches of 128-byte entries)` : ''} ` +
      'with the range (min–max) in parentheses, and every ratio compares two medians measured in ' +
      'the same run. Raw results: ' +
      `[\`${o.jsonPath}\`](${o.jsonPath}).`,
    '',
  );

  // Headline.
  const head: string[] = [];
  const e0 = entries[0];
  if (e0 !== undefined) {
    const per = get(report, 'append', o.policies[0]!, { batch: 256, entry: e0 });
    const batched = get(report, 'append', o.policies[1]!, { batch: 256, entry: e0 });
    const slow = o.policies.at(-1)!;
    const slow256 = get(report, 'append', slow, { batch: 256, entry: e0 });
    const slowMax = get(report, 'append', slow, { batch: batches.at(-1)!, entry: e0 });
    if (per && batched) {
      head.push(
        `- Durable appends in process, ${e0}-byte entries, 256-entry batches (each batch one LevelDB ` +
          `batch written with \`sync: true\`): **${rng(batched.value)} entries/s** with one checkpoint ` +
          `signature per batch, against ${rng(per.value)} entries/s signing every entry: ` +
          `**${sig(batched.value.median / per.value.median)}x**` +
          `${pairedNote(speedup(report, o.policies[1]!, 256, e0))}.`,
      );
    }
    if (slow256) {
      head.push(
        `- With a signer that takes 10 ms per signature (a remote KMS or HSM): ${rng(slow256.value)} entries/s ` +
          `at 256-entry batches` +
          (slowMax ? `, ${rng(slowMax.value)} entries/s at ${batches.at(-1)}-entry batches.` : '.'),
      );
    }
  }
  const httpRows = report.results.filter((r) => r.group === 'http' && r.name === 'auditlog POST /v1/entries');
  const bestHttp = httpRows.sort((a, b) => b.value.median - a.value.median)[0];
  if (bestHttp) {
    head.push(
      `- Over HTTP, \`POST /v1/entries\` with full receipts: ${rng(bestHttp.value)} entries/s at ` +
        `${clients(bestHttp.params.concurrency)}, ` +
        `${sig(bestHttp.ratios?.[0]?.value ?? Number.NaN)}x a bare hono POST handler in the same run.`,
    );
  }
  const chain = get(report, 'hashchain', 'chain prove one record');
  const proof = chain
    ? get(report, 'growth', 'inclusion proof', { size: chain.params.size as number })
    : undefined;
  if (chain && proof) {
    head.push(
      `- Proving one record in a log of ${si(Number(chain.params.size))} entries: a Merkle inclusion proof of ` +
        `${bytes(proof.extra?.proof_bytes?.median ?? 0)} served in ${ms(proof.value.median)} ms, against a ` +
        `hash-chain walk over ${bytes(chain.extra?.bytes?.median ?? 0)} taking ${ms(chain.value.median)} ms.`,
    );
  }
  if (head.length > 0) out.push(...head, '');
  const targets = targetRows(report, o, entries, batches);
  if (targets.length > 0) {
    out.push(
      'Targets set in the issues, against this run:',
      '',
      mdTable(['target', 'measured', 'met'], targets),
      '',
    );
  }
  out.push(...speedupExplained(report, o));
  if (append.length > 0) {
    out.push(`![Durable append throughput vs batch size by signing policy](${o.chartPath})`, '');
  }

  // Append matrix.
  if (append.length > 0) {
    out.push(
      '### Durable append throughput (in process)',
      '',
      'Entries/s, median (min–max), then commit latency p50 / p99 in ms (from `append()` to its ' +
        `durable receipt). ${IN_FLIGHT_BATCHES} times the batch size is kept in flight, for every policy, so that ` +
        'batches fill and the log can stage batches while a slow fsync is on the disk. Each run ' +
        `opens a fresh log and appends for a warm-up first (${appendWarmupMs(false)} ms; ${appendWarmupMs(true)} ms with --quick) that is ` +
        'not counted. The per-entry policy signs a checkpoint after every entry and answers each ' +
        'entry with a receipt against its own checkpoint. The last ' +
        `line of each cell is the fraction of the LevelDB ceiling: synced batches of the same ` +
        'entry bytes written by LevelDB alone (no hashing, tiles or signing), measured in the same run.',
      '',
    );
    for (const entry of entries) {
      out.push(`**${entryLabel(entry)} entries**`, '');
      const rows = o.policies.map((p) => [
        p,
        ...batches.map((batch) => {
          const r = get(report, 'append', p, { batch, entry });
          if (!r) return '–';
          const lvl = r.ratios?.find((x) => x.to === 'LevelDB synced batch');
          return (
            `${rng(r.value)}<br>${ms(r.extra?.p50_ms?.median ?? Number.NaN)} / ` +
            `${ms(r.extra?.p99_ms?.median ?? Number.NaN)} ms` +
            (lvl ? `<br>${(lvl.value * 100).toFixed(0)}% of LevelDB` : '')
          );
        }),
      ]);
      const ceil = [
        `${o.ceilingName} (ceiling)`,
        ...batches.map((batch) => rng(get(report, 'machine', o.ceilingName, { batch, entry })?.value)),
      ];
      out.push(mdTable(['policy', ...batches.map((b) => `batch ${b}`)], [...rows, ceil]), '');
    }
    const speed = report.results.filter((r) => r.group === 'append-speedup' && r.params.batch === 256);
    if (speed.length > 0) {
      out.push(
        'Speed-up over signing every entry, at 256-entry batches: the ratio of the two medians, ' +
          'then the median and range of the ratios of runs made back to back (run r of each policy):',
        '',
        mdTable(
          ['policy', ...entries.map(entryLabel)],
          o.policies.slice(1).map((p) => [
            p,
            ...entries.map((entry) => {
              const r = speed.find((s) => s.name === `${p} / per-entry` && s.params.entry === entry);
              const paired = r?.extra?.paired;
              if (!r) return '–';
              return paired && paired.n >= 2
                ? `${sig(r.value.median)}x<br>paired ${sig(paired.median)}x (${sig(paired.min)}–${sig(paired.max)}x)`
                : `${sig(r.value.median)}x`;
            }),
          ]),
        ),
        '',
      );
    }
  }

  // HTTP.
  const http = report.results.filter((r) => r.group === 'http' && r.name.startsWith('auditlog '));
  if (http.length > 0) {
    out.push(
      '### HTTP, end to end',
      '',
      'undici clients on keep-alive connections, each keeping one request in flight, against ' +
        '`auditlog serve` and against a bare hono server with the same routes doing no work ' +
        '(`bench/servers/bare-hono.ts`), alternating between the two in the same run. Server and ' +
        `load generator share the machine's ${m.cores} cores.`,
      '',
      mdTable(
        ['request', 'clients', 'auditlog', 'bare hono', 'ratio', 'auditlog p50 / p99 ms'],
        http.map((r) => {
          const bare = get(report, 'http', r.name.replace('auditlog ', 'bare hono '), r.params);
          return [
            `\`${r.name.replace('auditlog ', '')}\``,
            String(r.params.concurrency),
            `${rng(r.value)} ${r.unit}`,
            rng(bare?.value),
            r.ratios?.[0] ? `${sig(r.ratios[0].value)}x` : '–',
            `${ms(r.extra?.p50_ms?.median ?? Number.NaN)} / ${ms(r.extra?.p99_ms?.median ?? Number.NaN)}`,
          ];
        }),
      ),
      '',
    );
  }

  // Growth.
  const growth = report.results.filter((r) => r.group === 'growth');
  const sizes = [...new Set(growth.map((r) => Number(r.params.size)))].sort((a, b) => a - b);
  if (sizes.length > 0) {
    out.push(
      '### Growth',
      '',
      'One log grown in 4096-entry batches of 128-byte entries. Append rate over five stretches ' +
        'before each size; inclusion proofs for random indexes at that size (from stored tiles); ' +
        'disk = all files of the data directory; start-up = `Log.open` in a fresh process, with ' +
        'its resident memory after opening and serving one proof.',
      '',
      mdTable(
        [
          'entries',
          'append entries/s',
          'proof p50 / p99 ms',
          'proof bytes',
          'disk bytes/entry',
          'open ms',
          'RSS',
        ],
        sizes.map((size) => {
          const a = get(report, 'growth', 'append rate', { size });
          const p = get(report, 'growth', 'inclusion proof', { size });
          const d = get(report, 'growth', 'disk', { size });
          const s = get(report, 'growth', 'start-up (Log.open)', { size });
          return [
            si(size),
            rng(a?.value),
            p ? `${ms(p.value.median)} / ${ms(p.extra?.p99_ms?.median ?? Number.NaN)}` : '–',
            p ? String(p.extra?.proof_bytes?.median) : '–',
            d ? d.value.median.toFixed(0) : '–',
            rng(s?.value, ms),
            rng(s?.extra?.rss_bytes, bytes),
          ];
        }),
      ),
      '',
    );
  }

  // Hash chain.
  const chainAppend = report.results.filter((r) => r.group === 'hashchain' && r.name === 'chain append');
  if (chainAppend.length > 0) {
    const rows: string[][] = chainAppend.map((r) => {
      const entry = Number(r.params.entry);
      const log = get(report, 'append', o.policies[1]!, { batch: 256, entry });
      return [
        `append, ${entryLabel(entry)} records`,
        `${rng(r.value)} records/s (one synced write each)`,
        log ? `${rng(log.value)} entries/s (256-entry batches)` : '–',
      ];
    });
    if (chain) {
      rows.push([
        `prove one record at ${si(Number(chain.params.size))} entries: time`,
        `${rng(chain.value, ms)} ms (walk the whole chain)`,
        proof ? `${rng(proof.value, ms)} ms (inclusion proof from tiles)` : '–',
      ]);
      rows.push([
        'prove one record: bytes a verifier needs',
        bytes(chain.extra?.bytes?.median ?? 0),
        proof
          ? `${proof.extra?.proof_bytes?.median} B proof + ${proof.extra?.checkpoint_bytes?.median} B signed checkpoint`
          : '–',
      ]);
    }
    out.push(
      '### Against a hash-chain "compliance logger"',
      '',
      'The design most teams write first: each record is its own synced LevelDB write, chained with ' +
        'SHA-256, and integrity is checked by walking the chain (`bench/hashchain.ts`). The chain for the ' +
        'proof comparison is bulk-loaded without sync to save time; only its append rate is measured synced.',
      '',
      mdTable(['', 'hash chain', 'auditlog'], rows),
      '',
    );
  }

  // Machine.
  const mach = report.results.filter((r) => r.group === 'machine' && !r.name.startsWith('leveldb'));
  if (mach.length > 0) {
    out.push(
      '### The machine, same run',
      '',
      mdTable(
        ['primitive', 'input', 'rate'],
        mach.map((r) => [
          r.name,
          r.params.bytes ? `${r.params.bytes} B` : 'checkpoint',
          `${rng(r.value)} ${r.unit}`,
        ]),
      ),
      '',
    );
  }
  if (report.notes.length > 0) out.push('Notes from the run:', '', ...report.notes.map((n) => `- ${n}`), '');
  const minutes =
    report.finishedAt === undefined
      ? undefined
      : (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 60_000;
  out.push(
    `Reproduce with \`npm run bench\`${minutes === undefined ? '' : ` (this run took ${minutes.toFixed(0)} minutes)`}; ` +
      '`npm run bench -- --quick` for a shorter pass; `bench/README.md` lists the options. ' +
      'Nothing of the benchmark runs in `npm test`.',
    '',
  );
  return out.join('\n');
}
