/**
 * Receipts that wait for witnesses (`POST /v1/entries?witnessed=1`): the entry's receipt is
 * re-issued against the first checkpoint at or beyond its tree size that met the policy quorum,
 * so it verifies offline against the same policy file.
 */
import type { Receipt } from '../sequencer/receipt.js';
import type { WitnessPusher } from './pusher.js';

/** How long a request waits for a witnessed checkpoint by default. */
export const DEFAULT_WITNESS_WAIT_MS = 30_000;

/**
 * Returns `receipt` rebuilt at the first witnessed checkpoint of at least its tree size.
 * @throws AuditlogError 'QUORUM_NOT_MET' after `timeoutMs` (503), 'CLOSED' on shutdown.
 */
export async function witnessedReceipt(
  log: { inclusionProof(index: bigint, size: bigint): Promise<Uint8Array[]> },
  pusher: WitnessPusher,
  receipt: Receipt,
  timeoutMs = DEFAULT_WITNESS_WAIT_MS,
): Promise<Receipt> {
  const w = await pusher.waitWitnessed(receipt.tree_size, timeoutMs);
  if (w.size === receipt.tree_size) return { ...receipt, checkpoint: w.note };
  return {
    ...receipt,
    tree_size: w.size,
    inclusion_proof: await log.inclusionProof(receipt.index, w.size),
    checkpoint: w.note,
  };
}
