/**
 * Raw HTTP/1.1 over a socket to a real server on 127.0.0.1, for the tests of connection and body
 * limits that no HTTP client library lets one drive (half-sent requests, held connections).
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'vitest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RawConnection {
  socket: Socket;
  /** Everything the server has sent so far (latin1). */
  answer: () => string;
  closed: Promise<void>;
}

/** A raw connection to `url`, collecting what the server sends and when it closes. */
export async function open(url: string): Promise<RawConnection> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise((r) => socket.once('connect', r));
  return { socket, answer: () => answer, closed };
}

/** `GET path` on a connection of its own: everything the server sent before closing it. */
export async function rawGet(url: string, path: string): Promise<string> {
  const c = await open(url);
  c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await c.closed;
  return c.answer();
}

/** Waits until `cond` holds, checking every 20 ms; fails after `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Checks a server started with a connection cap of 2: with two connections held busy, a third
 * is closed unanswered; once one of them closes, a new one is answered. `path` is a GET route
 * that answers 200.
 */
export async function expectConnectionCapOfTwo(url: string, path: string): Promise<void> {
  const held: RawConnection[] = [];
  for (let i = 0; i < 2; i++) {
    const c = await open(url);
    // One whole request proves the server took the connection; the start of a second keeps it
    // busy (not an idle keep-alive connection).
    c.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => c.answer().includes('\r\n\r\n'), 'an answer');
    expect(c.answer()).toMatch(/^HTTP\/1\.1 200/);
    c.socket.write(`GET ${path} HTTP/1.1\r\n`);
    held.push(c);
  }
  // The third is closed as soon as it is accepted, whatever it sends.
  expect(await rawGet(url, path)).toBe('');
  expect(await rawGet(url, path)).toBe('');
  held[0]!.socket.destroy();
  await held[0]!.closed;
  let answer = '';
  await until(async () => {
    answer = await rawGet(url, path);
    return answer !== '';
  }, 'an answer');
  expect(answer).toMatch(/^HTTP\/1\.1 200/);
  held[1]!.socket.destroy();
}
