/**
 * The bare hono baseline: the same framework, adapter and routes as the log's HTTP API, doing no
 * work. Every HTTP result of the log is quoted as a ratio to this server measured in the same run.
 *
 * Run as a child process: `node dist/bench/servers/bare-hono.js`; prints
 * `listening on http://127.0.0.1:<port>` once it accepts connections.
 */
import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const tile = new Uint8Array(randomBytes(8192));
const proof = JSON.stringify({
  leaf_index: 123456,
  audit_path: Array.from({ length: 20 }, () => randomBytes(32).toString('base64')),
});

const app = new Hono();
app.post('/v1/entries', async (c) => {
  const body = await c.req.arrayBuffer();
  return c.json({ size: body.byteLength });
});
app.post('/v1/records', async (c) => {
  const body = (await c.req.json()) as { records?: unknown[] };
  return c.json({ count: Array.isArray(body.records) ? body.records.length : 1 });
});
app.get('/tile/*', (c) => c.body(tile, 200, { 'content-type': 'application/octet-stream' }));
app.get('/ct/v1/get-proof-by-hash', (c) => c.body(proof, 200, { 'content-type': 'application/json' }));

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`listening on http://127.0.0.1:${info.port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
