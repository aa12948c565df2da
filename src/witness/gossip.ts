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

/** The list's envelope; its items are checked one by one (peerView). */
const peerViewList = z.object({ checkpoints: z.array(z.unknown()).max(1000) });

const peerView = z.strictObject({
  origin: z.string().min(1).max(1024),
  checkpoint: z.string().min(1).max(MAX_CHECKPOINT_BYTES),
});

export interface PeerView {
  origin: string;
  checkpoint: string;
}

/**
 * Parses a peer's checkpoint list (the JSON text). An item that is not the documented shape
 * (e.g. a checkpoint over MAX_CHECKPOINT_BYTES) is skipped and counted, not fatal: one log's
 * bad checkpoint must not hide every other log's from the comparison (spec/witness.md).
 * @throws AuditlogError('BAD_REQUEST') when the list itself is not the documented shape.
 */
export function parsePeerViews(text: string): { views: PeerView[]; skipped: number; problem?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'peer views: not JSON');
  }
  const r = peerViewList.safeParse(raw);
  if (!r.success)
    throw new AuditlogError('BAD_REQUEST', `peer views: ${r.error.issues[0]?.message ?? 'invalid'}`);
  const views: PeerView[] = [];
  let skipped = 0;
  let problem: string | undefined;
  for (const [i, item] of r.data.checkpoints.entries()) {
    const v = peerView.safeParse(item);
    if (v.success) views.push(v.data);
    else {
      skipped++;
      problem ??= `item ${i}: ${v.error.issues[0]?.message ?? 'invalid'}`;
    }
  }
  return problem === undefined ? { views, skipped } : { views, skipped, problem };
}

/**
 * Pulls a peer's views.
 * @throws AuditlogError 'INTERNAL' (network, non-200), 'TOO_LARGE', 'BAD_REQUEST' (malformed).
 */
export async function fetchPeerViews(
  peer: string,
): Promise<{ views: PeerView[]; skipped: number; problem?: string }> {
  const res = await getBytes(joinUrl(peer, 'v1/witness/checkpoints'), MAX_PEER_VIEWS_BYTES);
  if (res.status !== 200) throw new AuditlogError('INTERNAL', `peer answered ${res.status}`);
  return parsePeerViews(utf8Text(res.body));
}
