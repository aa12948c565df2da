/** Small HTTP helpers for the witness tests (real requests with fetch). */
import { encodeBase64 } from '../../src/note/encoding.js';

export async function addCheckpoint(
  witnessUrl: string,
  body: string | Uint8Array,
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${witnessUrl}/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

export function body(old: number | string, proof: Uint8Array[], note: string): string {
  return `old ${old}\n${proof.map((h) => `${encodeBase64(h)}\n`).join('')}\n${note}`;
}

/** Polls `fn` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  ms = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
