/** Process helpers for the witness and monitor tests: `auditlog init`, witnesses, webhooks. */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { BIN, cli, startServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

/** `auditlog init`: creates a log in `dir`; returns its vkey and admin token. */
export async function initLog(dir: string, origin: string): Promise<{ vkey: string; adminToken: string }> {
  const { stdout } = await run(process.execPath, [BIN, 'init', '--data', dir, '--origin', origin]);
  return {
    vkey: /auditlog: vkey (\S+)/.exec(stdout)![1]!,
    adminToken: /auditlog: admin token (\S+)/.exec(stdout)![1]!,
  };
}

/** Runs the auditlog CLI to completion (see helpers/server.ts `cli`). */
export const runCli = (args: string[]) => cli(...args);

/** Starts `auditlog witness` with a short poll interval. */
export function startWitness(dir: string, name: string, args: string[]): Promise<TestServer> {
  return startServer({ command: 'witness', dir, args: ['--name', name, '--poll-ms', '200', ...args] });
}

/** A real HTTP server collecting the JSON bodies POSTed to it; `fail` answers 500 to the first n. */
export async function startWebhook(
  fail = 0,
  port = 0,
): Promise<{ url: string; port: number; received: unknown[]; close(): Promise<void> }> {
  const received: unknown[] = [];
  let failures = fail;
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => {
      data += d;
    });
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(500).end();
        return;
      }
      received.push(JSON.parse(data));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/hook`,
    port: bound,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
