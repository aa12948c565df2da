/**
 * `auditlog prove --log URL (--index N | --hash H) [--size N] [--vkey VKEY] [--tlog-proof]`:
 * prints an inclusion proof as receipt JSON (or a .tlog-proof with --tlog-proof). Proofs are
 * computed from the log's tiles (--index) or asked of /ct/v1/get-proof-by-hash (--hash), and always
 * checked before printing: against the signed checkpoint (verified with --vkey when given), or,
 * with --size other than the checkpoint's, against the root of that size recomputed from tiles.
 */
import { parseArgs } from 'node:util';
import { describeFailure, loadVerifierKey, parseHashArg } from '../client/inputs.js';
import { LogClient } from '../client/log-client.js';
import { type Receipt, receiptToJSON } from '../client/receipt.js';
import { formatTlogProof, receiptToTlogProof } from '../client/tlog-proof.js';
import { AuditlogError } from '../errors.js';
import { verifyInclusion } from '../merkle/verify.js';
import { parseCanonicalUint64, parseCheckpoint } from '../note/checkpoint.js';
import { encodeBase64 } from '../note/encoding.js';
import { parseNote } from '../note/note.js';

const USAGE =
  'usage: auditlog prove --log URL (--index N | --hash H) [--size N] [--vkey VKEY] [--tlog-proof]';

function uint(name: string, v: string): bigint {
  const n = parseCanonicalUint64(v);
  if (n === null) throw new AuditlogError('BAD_REQUEST', `--${name} must be a canonical decimal uint64`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        log: { type: 'string' },
        index: { type: 'string' },
        hash: { type: 'string' },
        size: { type: 'string' },
        vkey: { type: 'string' },
        'tlog-proof': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`auditlog prove: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (
    typeof values.log !== 'string' ||
    (typeof values.index === 'string') === (typeof values.hash === 'string')
  ) {
    process.stderr.write(`auditlog prove: --log and exactly one of --index, --hash are required\n${USAGE}\n`);
    return 2;
  }
  let client: LogClient | undefined;
  try {
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
    client = new LogClient(values.log, vkey ? { vkey } : {});
    let note: string;
    if (vkey) note = (await client.checkpoint()).noteText;
    else {
      note = await client.checkpointNote();
      process.stderr.write('auditlog prove: warning: checkpoint signature not verified (no --vkey)\n');
    }
    const cp = parseCheckpoint(parseNote(note).text);
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
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`auditlog prove: ${describeFailure(err)}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}
