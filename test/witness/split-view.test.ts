/**
 * The split view, with real processes: two log processes started from copies of one data
 * directory (same key, same origin) take different entries; each is watched by its own witness;
 * the witnesses are peered; an alert carrying both conflicting signed checkpoints reaches a real
 * webhook (which fails its first deliveries, so retries are exercised) within seconds.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyCheckpoint } from '../../src/client/verify.js';
import type { Alert } from '../../src/witness/alerts.js';
import { makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { eventually } from './http.js';
import { startWebhook, startWitness } from './procs.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('split view', () => {
  const procs: TestServer[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(closers.map((c) => c()));
  });

  it('peered witnesses raise an alert with both checkpoints to the webhook', async () => {
    const root = tempDir('split-');
    // One log with a common history of two entries, then copied.
    const first = await startServer({ dir: join(root, 'a'), args: ['--origin', 'example.com/split'] });
    const token = await makeToken(first, 'submitter');
    for (const e of ['common 0', 'common 1'])
      expect((await submit(first.url, token, enc(e))).status).toBe(200);
    expect(await first.stop()).toBe(0);
    cpSync(join(root, 'a'), join(root, 'b'), { recursive: true });
    const logA = await startServer({ dir: join(root, 'a') });
    const logB = await startServer({ dir: join(root, 'b') });
    procs.push(logA, logB);
    expect(logA.vkey).toBe(logB.vkey);
    const vkey = logA.vkey;

    const hook = await startWebhook(2);
    closers.push(hook.close);
    const wB = await startWitness(join(root, 'wb'), 'witness.example/b', [
      '--log',
      `${vkey}=${logB.url}`,
      '--alert-webhook',
      hook.url,
    ]);
    procs.push(wB);
    const wA = await startWitness(join(root, 'wa'), 'witness.example/a', [
      '--log',
      `${vkey}=${logA.url}`,
      '--peer',
      wB.url,
      '--alert-webhook',
      hook.url,
    ]);
    procs.push(wA);
    // Both witnesses cosign the common history first: no alert yet.
    for (const w of [wA, wB]) {
      await eventually(
        async () => {
          const v = (await (await fetch(`${w.url}/v1/witness/checkpoints`)).json()) as {
            checkpoints: { checkpoint: string }[];
          };
          return v.checkpoints[0]?.checkpoint.includes('\n2\n') ? true : undefined;
        },
        10_000,
        'the common checkpoint cosigned',
      );
    }
    expect(
      ((await (await fetch(`${wA.url}/v1/witness/alerts`)).json()) as { alerts: unknown[] }).alerts,
    ).toEqual([]);

    // The split: each log takes a different entry.
    expect((await submit(logA.url, token, enc('only on A'))).status).toBe(200);
    expect((await submit(logB.url, token, enc('only on B'))).status).toBe(200);
    const cpA = await (await fetch(`${logA.url}/checkpoint`)).text();
    const cpB = await (await fetch(`${logB.url}/checkpoint`)).text();
    const vA = verifyCheckpoint(cpA, vkey);
    const vB = verifyCheckpoint(cpB, vkey);
    expect(vA.checkpoint.size).toBe(vB.checkpoint.size);
    expect(vA.checkpoint.root).not.toEqual(vB.checkpoint.root);

    const alert = await eventually(
      async () => (hook.received as Alert[]).find((a) => a.kind === 'inconsistent'),
      10_000,
      'an inconsistent alert at the webhook',
    );
    expect(alert.origin).toBe('example.com/split');
    expect(alert.seen_by).toBe('witness.example/a');
    expect(alert.checkpoints).toHaveLength(2);
    // [0] is witness A's own view (log A's checkpoint verbatim), [1] what witness B gossiped.
    expect(alert.checkpoints[0]).toBe(cpA);
    const other = verifyCheckpoint(alert.checkpoints[1]!, vkey);
    expect(other.checkpoint.root).toEqual(vB.checkpoint.root);
    expect(alert.checkpoints[1]).toContain('\u2014 witness.example/b ');
    expect(alert.sources).toEqual([logA.url, wB.url]);
    expect(Number.isNaN(Date.parse(alert.seen_at))).toBe(false);
    // The same alert is stored, served, and was written to stderr.
    const served = (await (await fetch(`${wA.url}/v1/witness/alerts`)).json()) as { alerts: Alert[] };
    expect(served.alerts.map((a) => a.id)).toContain(alert.id);
    expect(wA.output()).toContain(`ALERT {"id":"${alert.id}"`);
  });
});
