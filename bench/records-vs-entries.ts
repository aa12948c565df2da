/**
 * Record ingestion vs raw entries, over HTTP against a real `auditlog serve` process:
 *   raw      POST /v1/entries with an entry the size of a record leaf
 *   record   POST /v1/records with the example record (seal, commit, encrypt, body)
 *   batch    POST /v1/records with {"records": [100 records]}
 * Same concurrency for all. Run: npm run build && node dist/bench/records-vs-entries.js [N] [CONCURRENCY]
 * Issue 3 asks record ingestion to stay within 2x of raw throughput.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { record } from './groups/http.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/auditlog.js');

/** The example record (one copy, shared with the harness). */
const RECORD = record(0);

async function start(dir: string): Promise<{ url: string; admin: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--data', dir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/listening on/.test(out)) resolve();
    });
    proc.once('exit', (c) => reject(new Error(`server exited ${c}: ${out}`)));
  });
  return {
    url: /listening on (\S+)/.exec(out)![1]!,
    admin: /admin token (\S+)/.exec(out)![1]!,
    proc,
  };
}

async function run(
  label: string,
  n: number,
  concurrency: number,
  send: () => Promise<number>,
  perRequest: number,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const status = await send();
        if (status !== 200) throw new Error(`${label}: HTTP ${status}`);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const rate = (n * perRequest) / secs;
  console.log(
    `${label.padEnd(28)} ${String(n * perRequest).padStart(7)} items in ${secs.toFixed(2)} s = ${rate.toFixed(0)}/s`,
  );
  return rate;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 4000);
  const concurrency = Number(process.argv[3] ?? 64);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditlog-bench-'));
  const server = await start(path.join(dir, 'data'));
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  try {
    const tokRes = await request(`${server.url}/v1/tokens`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${server.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'submitter', name: 'bench' }),
    });
    const token = ((await tokRes.body.json()) as { token: string }).token;
    const auth = { authorization: `Bearer ${token}` };
    const recordBody = JSON.stringify(RECORD);
    const batchBody = JSON.stringify({ records: Array(100).fill(RECORD) });
    const probe = await request(`${server.url}/v1/records`, {
      method: 'POST',
      dispatcher,
      headers: { ...auth, 'content-type': 'application/json' },
      body: recordBody,
    });
    const leafSize = Buffer.from(((await probe.body.json()) as { entry: string }).entry, 'base64').length;
    const raw = new Uint8Array(leafSize).fill(0x61);
    console.log(
      `concurrency ${concurrency}; record leaf ${leafSize} bytes; raw entries of the same size; ${os.cpus()[0]?.model}`,
    );

    const post = async (route: string, ct: string, body: string | Uint8Array) => {
      const r = await request(`${server.url}${route}`, {
        method: 'POST',
        dispatcher,
        headers: { ...auth, 'content-type': ct },
        body,
      });
      await r.body.dump();
      return r.statusCode;
    };
    // Warm up both paths.
    await run('warm-up raw', 500, concurrency, () => post('/v1/entries', 'application/octet-stream', raw), 1);
    await run(
      'warm-up record',
      500,
      concurrency,
      () => post('/v1/records', 'application/json', recordBody),
      1,
    );
    // Alternate the three, three rounds, and compare medians: the machine's load drifts.
    const raws: number[] = [];
    const recs: number[] = [];
    const batches: number[] = [];
    for (let round = 1; round <= 3; round++) {
      raws.push(
        await run(
          `raw POST /v1/entries #${round}`,
          n,
          concurrency,
          () => post('/v1/entries', 'application/octet-stream', raw),
          1,
        ),
      );
      recs.push(
        await run(
          `POST /v1/records #${round}`,
          n,
          concurrency,
          () => post('/v1/records', 'application/json', recordBody),
          1,
        ),
      );
      batches.push(
        await run(
          `POST /v1/records x100 #${round}`,
          Math.max(1, Math.floor(n / 100)),
          Math.min(concurrency, 8),
          () => post('/v1/records', 'application/json', batchBody),
          100,
        ),
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    const [rawRate, recRate, batchRate] = [median(raws), median(recs), median(batches)];
    console.log(
      `medians: raw ${rawRate.toFixed(0)}/s, records ${recRate.toFixed(0)}/s, batched records ${batchRate.toFixed(0)}/s`,
    );
    console.log(
      `record / raw = ${(recRate / rawRate).toFixed(2)} (issue 3: >= 0.5); batched records / raw = ${(batchRate / rawRate).toFixed(2)}`,
    );
  } finally {
    await dispatcher.close();
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
