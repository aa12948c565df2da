/**
 * The SDK against a real server process: submit, keep receipts in a receipt file, restart the
 * server, verify offline, upgrade to a later checkpoint; tile-computed proofs agree with /ct/v1.
 * Requires a build (`npm test` builds first).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AgentRun, auditedRun } from '../../src/client/agent.js';
import { LogClient } from '../../src/client/log-client.js';
import { ReceiptFile, readReceiptFile } from '../../src/client/receipt-file.js';
import {
  formatTlogProof,
  parseTlogProof,
  receiptFromTlogProof,
  receiptToTlogProof,
} from '../../src/client/tlog-proof.js';
import { verifyReceipt } from '../../src/client/verify.js';
import { makeToken, startServer, type TestServer, tempDir } from '../helpers/server.js';
import { codeOf, te } from './fixtures.js';

let server: TestServer;
let token: string;
const work = tempDir('auditlog-client-');

beforeAll(async () => {
  server = await startServer();
  token = await makeToken(server, 'submitter', { name: 'agent-1' });
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('SDK against a real log', () => {
  test('submit, keep receipts, restart, verify offline, upgrade', async () => {
    const receiptPath = join(work, 'receipts.jsonl');
    const file = await ReceiptFile.open(receiptPath);
    const client = new LogClient(server.url, { token, vkey: server.vkey });
    const entries = Array.from({ length: 40 }, (_, i) => te.encode(`audit event ${i}`));
    const receipts = await Promise.all(
      entries.map(async (e) => {
        const r = await client.submitEntry(e);
        await file.append(r);
        return r;
      }),
    );
    await file.close();
    await client.close();
    expect(new Set(receipts.map((r) => r.index)).size).toBe(40);

    // Restart the server on the same data directory.
    expect(await server.stop()).toBe(0);
    server = await startServer({ dir: server.dir });

    // Offline: nothing but the receipt file and the vkey.
    const stored = await readReceiptFile(receiptPath);
    expect(stored).toHaveLength(40);
    for (const r of stored) verifyReceipt(r, server.vkey);

    // The log grows; one fresh checkpoint vouches for every old receipt.
    const client2 = new LogClient(server.url, { token, vkey: server.vkey });
    for (let i = 0; i < 300; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => client2.submitEntry(te.encode(`later ${i + j}`))),
      );
    }
    const latest = await client2.checkpoint();
    expect(latest.checkpoint.size).toBe(340n);
    for (const r of stored.slice(0, 10)) {
      const up = await client2.upgrade(r);
      const v = verifyReceipt(up, server.vkey);
      expect(v.latest.checkpoint.size).toBe(340n);
      expect(v.checkpoint.size).toBe(r.treeSize);
    }
    // Tampering with an upgraded receipt's consistency proof is caught.
    const up = await client2.upgrade(stored[0]!);
    const proof = up.upgrade!.consistencyProof.map((h) => h.slice());
    proof[0]![0]! ^= 1;
    expect(
      codeOf(() =>
        verifyReceipt({ ...up, upgrade: { ...up.upgrade!, consistencyProof: proof } }, server.vkey),
      ),
    ).toBe('ROOT_MISMATCH');
    await client2.close();
  });

  test('proofs computed from tiles agree with /ct/v1, and with fresh receipts', async () => {
    const client = new LogClient(server.url, { vkey: server.vkey });
    const { checkpoint } = await client.checkpoint();
    const size = checkpoint.size;
    expect(size).toBeGreaterThan(256n); // crosses a full tile and a partial one
    for (const index of [0n, 1n, 255n, 256n, size - 1n]) {
      const fromTiles = await client.inclusionProof(index, size);
      const leaf = await client.leafHash(index, size);
      const ct = await client.proofByHash(leaf, size);
      expect(ct.index).toBe(index);
      expect(ct.proof).toEqual(fromTiles);
      const r = await client.prove(index);
      verifyReceipt(r, server.vkey);
    }
    for (const [m, n] of [
      [1n, size],
      [7n, 300n],
      [256n, size],
      [size - 1n, size],
    ] as [bigint, bigint][]) {
      expect(await client.consistencyProof(m, n)).toEqual(await client.ctConsistency(m, n));
    }
    await client.close();
  });

  test('entries stream from bundles and match what was submitted', async () => {
    const client = new LogClient(server.url, { vkey: server.vkey });
    const got: string[] = [];
    for await (const { index, entry } of client.entries(250n, 262n))
      got.push(`${index}:${new TextDecoder().decode(entry)}`);
    expect(got).toHaveLength(12);
    expect(got[0]).toMatch(/^250:later \d+$/);
    await expect(async () => {
      for await (const _ of client.entries(0n, 10_000n)) {
      }
    }).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await client.close();
  });

  test('tlog-proof exported from a live receipt verifies', async () => {
    const client = new LogClient(server.url, { token, vkey: server.vkey });
    const r = await client.submitEntry(te.encode('exported'));
    const back = receiptFromTlogProof(parseTlogProof(formatTlogProof(receiptToTlogProof(r))));
    verifyReceipt(back, server.vkey);
    expect(back.index).toBe(r.index);
    await client.close();
  });

  test('errors from the server carry its code', async () => {
    const noToken = new LogClient(server.url, { vkey: server.vkey });
    await expect(noToken.submitEntry(te.encode('x'))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const badToken = new LogClient(server.url, { token: 'alt_wrong', vkey: server.vkey });
    await expect(badToken.submitEntry(te.encode('x'))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const wrongKey = new LogClient(server.url, {
      token,
      vkey: 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
    });
    await expect(wrongKey.checkpoint()).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    await expect(noToken.tile(0, 10_000n)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await Promise.all([noToken.close(), badToken.close(), wrongKey.close()]);
    const down = new LogClient('http://127.0.0.1:1', { maxRetries: 1, maxRetryDelayMs: 10 });
    await expect(down.checkpointNote()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await down.close();
  });
});

describe('agent instrumentation', () => {
  test('a run without a userId names its user by a fresh id, never a shared placeholder', async () => {
    // The records as the run hands them to its client (what goes over the wire).
    const sent: Record<string, unknown>[] = [];
    const capture = {
      submitRecord: async (r: Record<string, unknown>) => {
        sent.push(r);
        return {} as never;
      },
    } as unknown as LogClient;
    const runA = new AgentRun({ client: capture, tenantId: 't1', agentName: 'bot' });
    const runB = new AgentRun({ client: capture, tenantId: 't1', agentName: 'bot' });
    await runA.userMessage('hello');
    await runB.userMessage('hello');
    expect(sent.map((r) => [r.actor_type, r.actor_id])).toEqual([
      ['user', runA.anonymousId],
      ['user', runB.anonymousId],
    ]);
    expect(runA.anonymousId).toMatch(/^anon_[0-9a-f]{32}$/);
    expect(runA.anonymousId).not.toBe(runB.anonymousId);
    const named = new AgentRun({ client: capture, tenantId: 't1', agentName: 'bot', userId: 'p-1' });
    await named.userMessage('hi');
    expect(sent[2]).toMatchObject({ actor_id: 'p-1', user_id: 'p-1' });
  });

  test('an audited run emits records with one request id and keeps durable receipts', async () => {
    const client = new LogClient(server.url, { token, vkey: server.vkey });
    const receiptPath = join(work, 'agent.jsonl');
    const receipts = await ReceiptFile.open(receiptPath);
    const answer = await auditedRun(
      {
        client,
        receipts,
        tenantId: 'tnt_acme',
        agentName: 'billing-assistant',
        userId: 'patient-7731',
        model: { name: 'claude-3-7-sonnet', provider: 'anthropic' },
        systemPromptVersion: 'v17',
        dataClassification: ['confidential'],
      },
      async (run) => {
        await run.userMessage('How much will my next bill be?');
        await run.toolCall({ tool: 'lookup_billing', args: { account: 'A-1' }, ok: true, latencyMs: 12 });
        const lookup = run.wrapTool('lookup_plan', async (account: string) => `plan of ${account}`);
        expect(await lookup('A-1')).toBe('plan of A-1');
        const broken = run.wrapTool('broken_tool', async () => {
          throw new RangeError('no');
        });
        await expect(broken()).rejects.toThrow('no');
        await run.guardrail({ id: 'prompt_guard_v2', verdict: 'BENIGN', score: 0.99 });
        await run.modelResponse({
          text: 'Your next bill is $124.50.',
          metrics: { latency_ms: 1287, output_tokens: 47 },
        });
        return 'done';
      },
    );
    expect(answer).toBe('done');
    await receipts.close();
    const stored = await readReceiptFile(receiptPath);
    expect(stored).toHaveLength(8); // start, user message, 3 tools, guardrail, response, end
    const requestIds = new Set<string>();
    for (const r of stored) {
      verifyReceipt(r, server.vkey);
      expect(r.recordId).toBeTypeOf('string');
      const leaf = JSON.parse(new TextDecoder().decode(r.entry!)) as { record: { request_id?: string } };
      requestIds.add(leaf.record.request_id!);
    }
    expect(requestIds.size).toBe(1);
    expect([...requestIds][0]).toMatch(/^req_/);
    const tools = stored
      .map((r) => new TextDecoder().decode(r.entry!))
      .filter((t) => t.includes('tool_invoked'));
    expect(tools).toHaveLength(3);
    expect(tools[2]).toContain('broken_tool');
    expect(tools[2]).toContain('"ok":false');
    // Personal text is not in the leaf.
    for (const r of stored) expect(new TextDecoder().decode(r.entry!)).not.toContain('next bill');

    // A failing run still ends, with outcome error, and rethrows.
    const failPath = join(work, 'fail.jsonl');
    const failFile = await ReceiptFile.open(failPath);
    await expect(
      auditedRun(
        { client, receipts: failFile, tenantId: 'tnt_acme', agentName: 'billing-assistant' },
        async () => {
          throw new TypeError('tool exploded');
        },
      ),
    ).rejects.toThrow('tool exploded');
    await failFile.close();
    const failed = await readReceiptFile(failPath);
    expect(failed).toHaveLength(2);
    const last = new TextDecoder().decode(failed[1]!.entry!);
    expect(last).toContain('conversation_ended');
    expect(last).toContain('TypeError');
    await client.close();
  });
});
