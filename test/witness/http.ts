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

/** A GET answered with JSON. */
export const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

/** `GET /v1/witness/status` of a witness (spec/witness.md). */
export interface WitnessStatus {
  logs: {
    origin: string;
    keys: string[];
    size: string | null;
    fork: { alert: string; since: string; detail: string } | null;
    cleared: { alert: string; reason: string; cleared_at: string }[];
  }[];
}

/** Waits until the witness at `url` holds its first log in the forked state; its status then. */
export function untilForked(url: string): Promise<WitnessStatus> {
  return eventually(
    async () => {
      const s = await getJson<WitnessStatus>(`${url}/v1/witness/status`);
      return s.logs[0]?.fork ? s : undefined;
    },
    15_000,
    'the witness in the forked state',
  );
}
