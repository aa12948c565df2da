/**
 * Gossip between witnesses: each serves its latest cosigned checkpoint per origin at
 * `GET /v1/witness/checkpoints` as `{"witness": <vkey>, "checkpoints": [{"origin", "checkpoint"}]}`
 * and pulls its peers' lists. What a pulled checkpoint is compared with is in witness.ts
 * (`checkView`); this module only fetches and validates the list.
 */
import { z } from 'zod';
import { AuditlogError } from '../errors.js';
import { getBytes, joinUrl, MAX_CHECKPOINT_BYTES, utf8Text } from './fetch.js';

/** Largest peer list read. */
export const MAX_PEER_VIEWS_BYTES = 1024 * 1024;

const peerViews = z.object({
  checkpoints: z
    .array(
      z.strictObject({
        origin: z.string().min(1).max(1024),
        checkpoint: z.string().min(1).max(MAX_CHECKPOINT_BYTES),
      }),
    )
    .max(1000),
});

export interface PeerView {
  origin: string;
  checkpoint: string;
}

/**
 * Parses a peer's checkpoint list (the JSON text).
 * @throws AuditlogError('BAD_REQUEST') when it is not the documented shape.
 */
export function parsePeerViews(text: string): PeerView[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'peer views: not JSON');
  }
  const r = peerViews.safeParse(raw);
  if (!r.success)
    throw new AuditlogError('BAD_REQUEST', `peer views: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data.checkpoints;
}

/**
 * Pulls a peer's views.
 * @throws AuditlogError 'INTERNAL' (network, non-200), 'TOO_LARGE', 'BAD_REQUEST' (malformed).
 */
export async function fetchPeerViews(peer: string): Promise<PeerView[]> {
  const res = await getBytes(joinUrl(peer, 'v1/witness/checkpoints'), MAX_PEER_VIEWS_BYTES);
  if (res.status !== 200) throw new AuditlogError('INTERNAL', `peer answered ${res.status}`);
  return parsePeerViews(utf8Text(res.body));
}
