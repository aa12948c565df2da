/**
 * Real server processes for end-to-end tests: `node bin/auditlog.js serve` on 127.0.0.1
 * port 0, in a temporary data directory. Requires a build (`npm test` builds first).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';

export const BIN = resolve(import.meta.dirname, '../../bin/auditlog.js');

const execFileAsync = promisify(execFile);

/** Runs the auditlog CLI to completion: its exit code (-1 if it did not exit normally) and output. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}

export interface TestServer {
  url: string;
  vkey: string;
  origin: string;
  /** Present when the data directory was created by this start. */
  adminToken: string | undefined;
  dir: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill9(): Promise<void>;
}

export function tempDir(prefix = 'auditlog-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * For a test file: a function that returns a fresh `<temporary dir>/log` path per call; the
 * temporary directories are removed after the file's tests.
 */
export function tempLogDirs(): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempDir();
    dirs.push(d);
    return join(d, 'log');
  };
}

/** Starts `auditlog <command>` (default `serve`) and waits for its `listening on` line. */
export async function startServer(
  opts: { dir?: string; args?: string[]; command?: string } = {},
): Promise<TestServer> {
  const dir = opts.dir ?? join(tempDir(), 'data');
  const command = opts.command ?? 'serve';
  const proc = spawn(process.execPath, [BIN, command, '--data', dir, '--port', '0', ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const check = () => {
      if (/listening on http:\/\/[^\s]+/.test(out)) {
        clearTimeout(timer);
        resolveStart();
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const field = (re: RegExp) => re.exec(out)?.[1];
  return {
    url: field(/listening on (http:\/\/[^\s]+)/)!,
    vkey: field(/auditlog: vkey (\S+)/) ?? '',
    origin: field(/auditlog: origin (\S+)/) ?? '',
    adminToken: field(/auditlog: admin token (\S+)/),
    dir,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Creates a token on a running server with its admin token. */
export async function makeToken(
  server: { url: string; adminToken?: string | undefined },
  role: 'submitter' | 'auditor' | 'admin',
  opts: { name?: string; tenant?: string; adminToken?: string } = {},
): Promise<string> {
  const admin = opts.adminToken ?? server.adminToken;
  if (!admin) throw new Error('no admin token');
  const res = await fetch(`${server.url}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      role,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.tenant ? { tenant: opts.tenant } : {}),
    }),
  });
  if (res.status !== 201) throw new Error(`token create: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Submits a raw entry; returns the HTTP status and parsed body. */
export async function submit(
  url: string,
  token: string,
  entry: Uint8Array,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/v1/entries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: entry,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

/** A JSON request to `url` + `route` with a bearer token; the answer's status and JSON body. */
export async function callJson(
  url: string,
  method: string,
  route: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
