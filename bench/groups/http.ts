/**
 * End to end over HTTP with undici: each log endpoint beside the bare hono server (same framework,
 * same routes, no work) measured in the same run, at several concurrencies.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { formatTilePath } from '../../src/merkle/tiles.js';
import { type Context, ratios } from '../context.js';
import { type LoadRequest, type LoadResult, runLoad } from '../load.js';
import { type Child, startServer } from '../spawn.js';
import { type Stat, summarize } from '../stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BARE = path.join(here, '..', 'servers', 'bare-hono.js');
const AUDITLOG = path.join(here, '..', '..', '..', 'bin', 'auditlog.js');

/** Records per batched `POST /v1/records` request. */
export const RECORDS_PER_REQUEST = 16;

/** The example record (issue 3), with a distinct request id per copy. */
export function record(i: number): Record<string, unknown> {
  return {
    tenant_id: 'tnt_acme',
    request_id: `req_${i}`,
    conversation_id: 'conv_42',
    action: 'agent_response_generated',
    actor_id: 'billing-assistant',
    actor_type: 'agent',
    agent_name: 'billing-assistant',
    user_id: 'patient-7731',
    data_classification: ['confidential'],
    model: { name: 'claude-3-7-sonnet', provider: 'anthropic', version_hash: 'sha256:ab12cd34ef56' },
    system_prompt_version: 'v17',
    policy_version: 'guardrails:2026-04-29',
    input: {
      user_message: 'How much will my next bill be?',
      retrieved_docs: [{ id: 'doc_kb_142', hash: 'sha256:9f8e7d6c' }],
    },
    guardrails: [{ id: 'prompt_guard_v2', verdict: 'BENIGN', score: 0.99 }],
    output: {
      final_text: 'Your next bill, due 2026-06-12, is $124.50.',
      tool_calls: [{ tool: 'lookup_billing', args_hash: 'sha256:1a2b', ok: true }],
    },
    metrics: { latency_ms: 1287, input_tokens: 1842, output_tokens: 47, cost_usd: 0.0061 },
    client_timestamp: '2026-05-16T14:23:18.421Z',
  };
}

interface LogServer extends Child {
  readonly token: string;
}

/** Starts `auditlog serve` on a fresh data directory and creates a submitter token with the admin token. */
async function startLog(dir: string): Promise<LogServer> {
  const child = await startServer([AUDITLOG, 'serve', '--data', dir, '--port', '0']);
  const admin = child.banner.map((l) => /admin token (\S+)/.exec(l)?.[1]).find((t) => t !== undefined);
  if (!admin) {
    await child.stop();
    throw new Error(`no admin token in the server banner: ${child.banner.join(' | ')}`);
  }
  const res = await request(`${child.url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'submitter', name: 'bench' }),
  });
  const body = (await res.body.json()) as { token?: string };
  if (res.statusCode !== 200 && res.statusCode !== 201) {
    await child.stop();
    throw new Error(`POST /v1/tokens answered ${res.statusCode}: ${JSON.stringify(body)}`);
  }
  return { ...child, token: body.token! };
}

/** The log's current tree size from `GET /v1/log`. */
async function treeSize(url: string): Promise<number> {
  const res = await request(`${url}/v1/log`);
  return ((await res.body.json()) as { tree_size: number }).tree_size;
}

export async function httpBench(ctx: Context, concurrencies: number[]): Promise<void> {
  const { quick, tmp } = ctx.opts;
  const durationMs = quick ? 200 : 1000;
  const warmupMs = quick ? 50 : 200;
  ctx.section(`HTTP end to end (undici, keep-alive, ${durationMs} ms per run) vs bare hono in the same run`);
  const dir = await mkdtemp(path.join(tmp, 'http-'));
  const bare = await startServer([BARE]);
  let log: LogServer | undefined;
  try {
    log = await startLog(dir);
    const auth = { authorization: `Bearer ${log.token}` };
    const entry = new Uint8Array(randomBytes(128 + 4096));
    const entryReq = (i: number): LoadRequest => ({
      method: 'POST',
      path: '/v1/entries',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: entry.subarray(i % 4096, (i % 4096) + 128),
    });
    const recordsReq = (i: number): LoadRequest => ({
      method: 'POST',
      path: '/v1/records',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        records: Array.from({ length: RECORDS_PER_REQUEST }, (_, j) => record(i * RECORDS_PER_REQUEST + j)),
      }),
    });
    const leafHashes: string[] = [];
    const keepLeaf = (body: string) => {
      if (leafHashes.length < 100_000) {
        const r = JSON.parse(body) as { leaf_hash?: string; inclusion_proof?: unknown };
        if (typeof r.leaf_hash !== 'string' || !Array.isArray(r.inclusion_proof)) {
          throw new Error(`not a receipt: ${body.slice(0, 200)}`);
        }
        leafHashes.push(r.leaf_hash);
      }
    };

    const pair = async (
      name: string,
      unit: string,
      perRequest: number,
      concurrency: number,
      make: (i: number) => LoadRequest,
      check?: (body: string) => void,
    ) => {
      const b: LoadResult[] = [];
      const l: LoadResult[] = [];
      for (let run = 0; run < ctx.opts.repeats; run++) {
        // Alternate which server goes first so drift on the shared machine hits both alike.
        const order = run % 2 === 0 ? ['bare', 'log'] : ['log', 'bare'];
        for (const which of order) {
          if (which === 'bare') b.push(await runLoad(bare.url, concurrency, durationMs, make, { warmupMs }));
          else
            l.push(
              await runLoad(
                log!.url,
                concurrency,
                durationMs,
                make,
                check ? { warmupMs, check } : { warmupMs },
              ),
            );
        }
      }
      const failed = l.find((r) => r.errors > 0);
      if (failed) ctx.note(`${name} c=${concurrency}: ${failed.errors} errors, first: ${failed.firstError}`);
      const stat = (rs: LoadResult[], f: (r: LoadResult) => number): Stat => summarize(rs.map(f));
      const bareRate = stat(b, (r) => r.rps * perRequest);
      ctx.add({
        group: 'http',
        name: `bare hono ${name}`,
        params: { concurrency },
        unit,
        value: bareRate,
        extra: { p50_ms: stat(b, (r) => r.p50), p99_ms: stat(b, (r) => r.p99) },
      });
      const logRate = stat(l, (r) => r.rps * perRequest);
      ctx.add({
        group: 'http',
        name: `auditlog ${name}`,
        params: { concurrency },
        unit,
        value: logRate,
        extra: { p50_ms: stat(l, (r) => r.p50), p99_ms: stat(l, (r) => r.p99) },
        ratios: ratios(logRate, [['bare hono', bareRate.median]]),
      });
    };

    for (const c of concurrencies) {
      await pair('POST /v1/entries', 'entries/s', 1, c, entryReq, keepLeaf);
    }
    const probe = await request(`${log.url}/v1/records`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [record(-1)] }),
    });
    const probeBody = await probe.body.text();
    const recordsOk = probe.statusCode >= 200 && probe.statusCode < 300;
    if (!recordsOk) {
      ctx.note(
        `POST /v1/records not measured: the server answered ${probe.statusCode} ${probeBody.slice(0, 200)}`,
      );
    }
    for (const c of recordsOk ? concurrencies : []) {
      await pair(`POST /v1/records x${RECORDS_PER_REQUEST}`, 'records/s', RECORDS_PER_REQUEST, c, recordsReq);
      const rec = ctx.report.results.at(-1)!;
      const entries = ctx.median('http', 'auditlog POST /v1/entries', { concurrency: c });
      if (entries !== undefined) {
        ctx.log(`records/s over entries/s at c=${c}: ${(rec.value.median / entries).toFixed(2)}`);
      }
    }
    const size = await treeSize(log.url);
    const fullTiles = Math.floor(size / 256);
    if (leafHashes.length === 0 || fullTiles === 0) {
      ctx.note(`skipping read benchmarks: ${leafHashes.length} receipts, tree size ${size}`);
      return;
    }
    const proofReq = (i: number): LoadRequest => ({
      method: 'GET',
      path: `/ct/v1/get-proof-by-hash?hash=${encodeURIComponent(leafHashes[(i * 7919) % leafHashes.length]!)}&tree_size=${size}`,
    });
    const tileReq = (i: number): LoadRequest => ({
      method: 'GET',
      path: `/${formatTilePath(0, BigInt((i * 7919) % fullTiles))}`,
    });
    for (const c of concurrencies) await pair('GET proof-by-hash', 'proofs/s', 1, c, proofReq);
    for (const c of concurrencies) await pair('GET /tile/0/N', 'tiles/s', 1, c, tileReq);
  } finally {
    await bare.stop();
    await log?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
