/**
 * `auditlog prove --log URL (--index N | --hash H) [--size N] [--vkey VKEY] [--tlog-proof]`:
 * prints an inclusion proof as receipt JSON (or a .tlog-proof with --tlog-proof). Proofs are
 * computed from the log's tiles (--index) or asked of /ct/v1/get-proof-by-hash (--hash), and always
 * checked before printing: against the signed checkpoint (verified with --vkey when given), or,
 * with --size N below the checkpoint's, against the root of tree N recomputed from tiles, which
 * is in turn checked against the checkpoint with a consistency proof from the same tiles. Tiles
 * are not signed; the consistency proof is what makes a tile that lies about any node used
 * fail the check (the signed root cannot be reached from a wrong one). Both proofs and the
 * checkpoint are printed, so the output can be checked again offline.
 */
import { loadVerifierKey, parseHashArg } from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { type Receipt, receiptToJSON } from '../client/receipt.js';
import { formatTlogProof, receiptToTlogProof } from '../client/tlog-proof.js';
import { AuditlogError } from '../errors.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import { encodeBase64 } from '../note/encoding.js';
import { ClientCommand, TOKEN_FLAGS, TOKEN_USAGE, uint } from './client-command.js';

const USAGE = `usage: auditlog prove --log URL (--index N | --hash H) [--size N] [--vkey VKEY] [--tlog-proof] ${TOKEN_USAGE}`;

const cmd = new ClientCommand('prove', USAGE);

export async function run(argv: string[]): Promise<number> {
  const args = cmd.parse(argv, {
    log: { type: 'string' },
    index: { type: 'string' },
    hash: { type: 'string' },
    size: { type: 'string' },
    vkey: { type: 'string' },
    'tlog-proof': { type: 'boolean' },
    ...TOKEN_FLAGS,
  });
  if (typeof args === 'number') return args;
  const { values } = args;
  const log = values.log;
  if (typeof log !== 'string' || (typeof values.index === 'string') === (typeof values.hash === 'string'))
    return cmd.usageError('--log and exactly one of --index, --hash are required');
  return cmd.run(async (use) => {
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
    const token = await cmd.token(values);
    const client = use(new LogClient(log, { ...(vkey ? { vkey } : {}), ...(token ? { token } : {}) }));
    const { note, cp } = await cmd.checkpoint(client, vkey !== undefined);
    const size = typeof values.size === 'string' ? uint('size', values.size) : cp.size;
    if (size > cp.size)
      throw new AuditlogError('OUT_OF_RANGE', `--size ${size} is beyond the checkpoint size ${cp.size}`);
    let index: bigint;
    let leafHash: Uint8Array;
    let proof: Uint8Array[];
    if (typeof values.index === 'string') {
      index = uint('index', values.index);
      if (index >= size)
        throw new AuditlogError('OUT_OF_RANGE', `index ${index} is not below tree size ${size}`);
      [leafHash, proof] = await Promise.all([
        client.leafHash(index, size),
        client.inclusionProof(index, size),
      ]);
    } else {
      leafHash = parseHashArg(values.hash as string);
      ({ index, proof } = await client.proofByHash(leafHash, size));
    }
    const root = size === cp.size ? cp.root : await client.rootAt(size, cp.size);
    verifyInclusion(index, size, leafHash, proof, root);
    let consistency: Uint8Array[] = [];
    if (size !== cp.size) {
      consistency = await client.consistencyProof(size, cp.size);
      verifyConsistency(size, cp.size, consistency, root, cp.root);
    }
    if (size === cp.size) {
      const r: Receipt = {
        origin: cp.origin,
        index,
        treeSize: size,
        leafHash,
        inclusionProof: proof,
        checkpoint: note,
      };
      process.stdout.write(
        values['tlog-proof']
          ? formatTlogProof(receiptToTlogProof(r))
          : `${JSON.stringify(receiptToJSON(r), null, 2)}\n`,
      );
    } else {
      if (values['tlog-proof'])
        throw new AuditlogError('BAD_REQUEST', '--tlog-proof needs the checkpoint size');
      const out = {
        origin: cp.origin,
        index: Number(index),
        tree_size: Number(size),
        leaf_hash: encodeBase64(leafHash),
        inclusion_proof: proof.map(encodeBase64),
        root: encodeBase64(root),
        checkpoint: note,
        consistency_proof: consistency.map(encodeBase64),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    }
    return 0;
  });
}
