/**
 * Whether a signed checkpoint is a prefix of the tree a log serves, decided from the log's C2SP
 * tlog-tiles (spec/witness.md section 4) as any outside party can. A tlog-tiles log serves no
 * consistency-proof endpoint ("instead of serving consistency and inclusion proofs ... logs serve
 * the Merkle Tree as a set of tiles"), so the witness builds the proof itself, from the hash
 * tiles of the larger tree.
 *
 * Tiles are unauthenticated, so a failed proof is evidence of a fork only when the same tiles
 * rebuild the root the log signed for the larger size: the proof is then bound to that signed
 * root, and anyone can check that it does not lead to the smaller checkpoint's root. Tiles that
 * cannot be fetched, or that do not rebuild the larger signed root (a lagging mirror, a broken
 * cache, a log that serves garbage), decide nothing: the question is asked again later, and
 * nothing is cosigned meanwhile.
 */
import { AuditlogError } from '../errors.js';
import { type TileFetcher, rootFromTiles, tileOracle } from '../client/tile-proofs.js';
import { equalHashes } from '../merkle/hasher.js';
import { consistencyProof } from '../merkle/proof.js';
import { formatTilePath, TILE_WIDTH } from '../merkle/tiles.js';
import { verifyConsistency } from '../merkle/verify.js';
import { encodeBase64 } from '../note/encoding.js';
import type { AlertProof } from './alerts.js';
import { getBytes, joinUrl } from './fetch.js';

/** The size and root of a checkpoint (or of a pin). */
export interface TreeHead {
  size: bigint;
  root: Uint8Array;
}

export type PrefixVerdict =
  | { kind: 'consistent' }
  /** Nothing decided (tiles unavailable or not matching the larger signed root); ask again later. */
  | { kind: 'undecided'; why: string }
  /** The tiles rebuild the larger signed root, and the proof built from them fails for the smaller. */
  | { kind: 'fork'; proof: AlertProof };

/**
 * A TileFetcher over HTTP for one comparison: each tile is fetched once (a proof reads several
 * nodes of one tile); a partial tile that is gone (404: the log may delete it once the tile is
 * full, tlog-tiles) is cut from the full tile. Any other answer than 200 throws UNAVAILABLE.
 */
export function httpTileFetcher(logUrl: string, token?: string): TileFetcher {
  const seen = new Map<string, Promise<Uint8Array>>();
  const get = async (level: number, index: bigint, width: number): Promise<Uint8Array> => {
    const path = formatTilePath(level, index, width);
    const res = await getBytes(joinUrl(logUrl, path), TILE_WIDTH * 32, token);
    if (res.status === 200) return res.body;
    if (res.status === 404 && width < TILE_WIDTH) {
      return (await fetchTile(level, index, TILE_WIDTH)).subarray(0, width * 32);
    }
    throw new AuditlogError('UNAVAILABLE', `GET ${path}: status ${res.status}`);
  };
  const fetchTile: TileFetcher = (level, index, width) => {
    const key = `${level}/${index}/${width}`;
    let p = seen.get(key);
    if (p === undefined) {
      p = get(level, index, width);
      seen.set(key, p);
    }
    return p;
  };
  return fetchTile;
}

/**
 * Whether `old` is a prefix of the tree of `tip`, from the tiles of the tree of tip.size.
 * Requires 0 < old.size < tip.size, and `tip` signed by the log (its size is one the log has
 * produced a checkpoint for, so its tiles must be served). Never throws.
 */
export async function checkPrefix(
  fetchTile: TileFetcher,
  old: TreeHead,
  tip: TreeHead,
): Promise<PrefixVerdict> {
  let proof: Uint8Array[];
  try {
    proof = await consistencyProof(old.size, tip.size, tileOracle(fetchTile, tip.size));
  } catch (e) {
    return { kind: 'undecided', why: `tiles of the tree of size ${tip.size}: ${(e as Error).message}` };
  }
  try {
    verifyConsistency(old.size, tip.size, proof, old.root, tip.root);
    return { kind: 'consistent' };
  } catch (failed) {
    let rebuilt: Uint8Array;
    try {
      rebuilt = await rootFromTiles(fetchTile, tip.size, tip.size);
    } catch (e) {
      return { kind: 'undecided', why: `tiles of the tree of size ${tip.size}: ${(e as Error).message}` };
    }
    if (!equalHashes(rebuilt, tip.root)) {
      return {
        kind: 'undecided',
        why: `the log's tiles of the tree of size ${tip.size} do not rebuild the root it signed for that size`,
      };
    }
    return {
      kind: 'fork',
      proof: {
        old_size: old.size.toString(),
        new_size: tip.size.toString(),
        hashes: proof.map(encodeBase64),
        error: (failed as Error).message,
      },
    };
  }
}
