/**
 * Alerts are never lost: persisted before anything else, delivered to the webhook with retries,
 * and still delivered after the witness is killed (-9) while the webhook was down.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlertLog, alertId, type Alert } from '../../src/witness/alerts.js';
import { openStateDB } from '../../src/witness/db.js';
import { tempDir, type TestServer } from '../helpers/server.js';
import { FakeLog } from './fake-log.js';
import { addCheckpoint, body, eventually } from './http.js';
import { startWebhook, startWitness } from './procs.js';

describe('alert delivery', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('an alert raised while the webhook is down reaches it after kill -9 and restart', async () => {
    // Reserve a port for the webhook, then take it down.
    const first = await startWebhook();
    const port = first.port;
    await first.close();

    const log = FakeLog.create('example.com/durable').grow(4);
    const dir = join(tempDir('alerts-'), 'w');
    const args = ['--log', log.vkey, '--alert-webhook', `http://127.0.0.1:${port}/hook`];
    let w: TestServer = await startWitness(dir, 'witness.example/d', args);
    expect((await addCheckpoint(w.url, body(0, [], await log.checkpoint(4)))).status).toBe(200);
    const forked = await log.fork(3).grow(1, 'fork').checkpoint(4);
    expect((await addCheckpoint(w.url, body(4, [], forked))).status).toBe(409);
    const stored = (await (await fetch(`${w.url}/v1/witness/alerts`)).json()) as { alerts: Alert[] };
    expect(stored.alerts).toHaveLength(1);
    await w.kill9();

    const hook = await startWebhook(0, port);
    cleanup.push(hook.close);
    w = await startWitness(dir, 'witness.example/d', args);
    cleanup.push(() => w.stop());
    const got = await eventually(
      async () => (hook.received.length > 0 ? hook.received : undefined),
      10_000,
      'delivery',
    );
    expect(got).toHaveLength(1);
    expect((got[0] as Alert).id).toBe(stored.alerts[0]!.id);
    expect((got[0] as Alert).checkpoints[1]).toBe(forked);
  });

  it('AlertLog: writes given with an alert land with it, and only for new evidence', async () => {
    const db = await openStateDB(join(tempDir('alertlog-also-'), 'db'));
    cleanup.push(() => db.close());
    const log = await AlertLog.open(db, { seenBy: 'w', stderr: { write: () => undefined } });
    const a = {
      kind: 'inconsistent' as const,
      origin: 'o',
      checkpoints: ['x\n\n— o AAAA\n', 'y\n\n— o AAAA\n'],
      sources: ['u', 'v'],
      proof: null,
      detail: 'd',
    };
    const calls: string[] = [];
    const also = (alert: Alert) => {
      calls.push(alert.id);
      return [{ type: 'put' as const, key: `fork/${alert.origin}`, value: alert.id }];
    };
    const raised = await log.raise(a, also);
    expect(await db.get('fork/o')).toBe(raised!.id);
    expect(await log.raise(a, also)).toBeUndefined();
    expect(calls).toEqual([raised!.id]);
    await log.close();
  });

  it('AlertLog: dedupes by evidence, keeps the outbox across reopen, drains it on 2xx', async () => {
    const location = join(tempDir('alertlog-'), 'db');
    const hook = await startWebhook(3);
    cleanup.push(hook.close);
    const sink = {
      lines: [] as string[],
      write(s: string) {
        this.lines.push(s);
      },
    };
    let db = await openStateDB(location);
    let log = await AlertLog.open(db, { seenBy: 'monitor', stderr: sink });
    const a = {
      kind: 'stale' as const,
      origin: 'o',
      checkpoints: ['x\n\n— o AAAA\n'],
      sources: ['u'],
      proof: null,
      detail: 'd',
    };
    expect(await log.raise(a)).toBeDefined();
    expect(await log.raise({ ...a, detail: 'other words, same evidence' })).toBeUndefined();
    await log.close();
    await db.close();
    // Reopened with a webhook that fails three times: the alert raised before is not in the outbox
    // (there was no webhook then), a new one is, and is delivered after retries.
    db = await openStateDB(location);
    log = await AlertLog.open(db, { seenBy: 'monitor', stderr: sink, webhook: hook.url, retryMs: 20 });
    cleanup.push(async () => {
      await log.close();
      await db.close();
    });
    const b = await log.raise({ ...a, checkpoints: ['y\n\n— o AAAA\n'] });
    expect(b?.id).toBe(alertId({ kind: 'stale', origin: 'o', checkpoints: ['y\n\n— o BBBB\n'] }));
    await eventually(async () => (hook.received.length === 1 ? true : undefined), 10_000, 'delivery');
    await eventually(async () => ((await log.pending()) === 0 ? true : undefined), 5_000, 'outbox drained');
    expect((await log.list()).map((x) => x.detail)).toEqual(['d', 'd']);
    expect(sink.lines.filter((l) => l.startsWith('ALERT '))).toHaveLength(2);
  });
});
